"""Mistakes of the environment, made with the real `asteriskbill` command in a subprocess, as a user would.

Each must end with one line (two at most) on stderr that says what is wrong and what to do, a non-zero exit
status, and nothing created or changed: no new file, the database's bytes (or rows) as they were.

Root ignores file modes, so the read-only cases run the command in a user namespace (`unshare --user`: the
same uid, but without the capability to override modes) or, failing that, as nobody. The full disk is a small
tmpfs mounted in a mount namespace of its own (`unshare --mount`, with --user --map-root-user when that is
what the kernel allows); tests/unit/test_explain.py checks the same sentences in-process in any case.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from asteriskbill.cli import main
from asteriskbill.settings import Settings
from asteriskbill.store import migrate, ready
from asteriskbill.store.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
ASTERISKBILL = str(Path(sys.executable).with_name("asteriskbill"))
TIMEOUT = 60  # seconds: a guard on every subprocess, never a wait


# -- running the command ----------------------------------------------------------------------------------


def environment(home: Path, **settings: str) -> dict[str, str]:
    """This process's environment without ASTERISKBILL_* (the developer's own), at home in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTERISKBILL_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    env["ASTERISKBILL_SECRET_FILE"] = str(home / "secret")
    env.update({f"ASTERISKBILL_{name.upper()}": value for name, value in settings.items()})
    return env


@dataclass(frozen=True)
class Runner:
    """How a command is started: as is, or (for the cases file modes decide) without root's power over them."""

    prefix: tuple[str, ...] = ()  # e.g. `unshare --user`
    user: dict[str, Any] = field(default_factory=dict)  # subprocess's user=, group=, extra_groups=

    def __call__(self, home: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, ASTERISKBILL, *args],
            env=environment(home, **settings),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd=home,
            **self.user,
        )


run = Runner()


def refused(result, *hints: str) -> str:
    """The one line a refused command printed; it names every hint."""
    lines = result.stderr.splitlines()
    assert result.returncode != 0, f"exit 0: {result.stdout}{result.stderr}"
    assert 1 <= len(lines) <= 2, f"{len(lines)} lines on stderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    for hint in hints:
        assert hint in result.stderr, f"{hint!r} not in {result.stderr!r}"
    return lines[0]


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with a digest of its bytes: compared before and after a command."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        for path in sorted(folder.rglob("*"))
    }


def rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of a SQLite file."""
    with sqlite3.connect(path) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        found = {}
        for table in tables:
            found[table] = sorted(conn.execute(f'SELECT * FROM "{table}"'), key=repr)
    conn.close()
    return found


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def database(home: Path, sqlite_template: Path) -> Path:
    """A database `asteriskbill init` made, with a tariff, in ``home``."""
    path = home / "billing.db"
    shutil.copy(sqlite_template, path)
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{path}", "tariff", "create", "retail", "--currency", "USD"])
    assert result.exit_code == 0, result.output
    return path


def url(path: Path) -> str:
    return f"sqlite:///{path}"


# -- before init: no command but init creates a database ----------------------------------------------


@pytest.mark.parametrize("command", [["tariff", "list"], ["accounts", "list"], ["serve", "--port", "0"], ["check"]])
def test_a_command_before_init_asks_for_init_and_creates_nothing(home, command):
    before = tree(home)
    db = home / "data" / "nowhere" / "billing.db"
    line = refused(run(home, "--db", url(db), *command), "does not exist", "run 'asteriskbill init'")
    assert line.startswith("Error: database sqlite:///")
    assert tree(home) == before  # neither the file nor its folder


def test_an_empty_file_is_refused_and_left_empty(home):
    empty = home / "billing.db"
    empty.touch()
    refused(run(home, "--db", url(empty), "rates", "export", "retail"), "has no tables", "run 'asteriskbill init'")
    assert empty.stat().st_size == 0 and tree(home) == {"billing.db": hashlib.sha256(b"").hexdigest()}


def test_a_database_of_something_else_is_refused(home):
    other = home / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE people (name TEXT)")
    conn.close()
    before = tree(home)
    refused(run(home, "--db", url(other), "tariff", "list"), "not an asteriskbill database")
    assert tree(home) == before


def test_an_older_schema_asks_for_init_to_upgrade(home):
    old = home / "old.db"
    engine = make_engine(Settings(db=url(old)))
    previous = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(ready.HEAD).down_revision
    migrate.upgrade(engine, previous)
    engine.dispose()
    before = tree(home)
    refused(run(home, "--db", url(old), "tariff", "list"), f"at revision {previous}", "'asteriskbill init' to upgrade")
    assert tree(home) == before
    assert run(home, "--db", url(old), "init").returncode == 0
    assert run(home, "--db", url(old), "tariff", "list").returncode == 0


def test_a_newer_schema_asks_for_a_newer_asteriskbill(home, database):
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    before = tree(home)
    refused(run(home, "--db", url(database), "tariff", "list"), "9999", "upgrade asteriskbill")
    refused(run(home, "--db", url(database), "init"), "9999", "upgrade asteriskbill")
    assert tree(home) == before


def test_status_reports_a_missing_database_without_creating_it(home):
    result = run(home, "--db", url(home / "billing.db"), "status", "--timeout", "0.1")
    assert result.returncode == 0 and "PROBLEM: the database" in result.stdout
    assert tree(home) == {}


def test_init_creates_the_database_and_its_folder(home):
    db = home / "a" / "b" / "billing.db"
    result = run(home, "--db", url(db), "init")
    assert result.returncode == 0, result.stderr
    assert f"is at revision {ready.HEAD}" in result.stdout and db.exists()


def test_the_head_revision_is_alembics():
    assert migrate.head_revision() == ready.HEAD


# -- where the database is -------------------------------------------------------------------------------


def test_a_url_that_is_no_url(home):
    line = refused(run(home, "--db", "foo", "tariff", "list"), "setting db='foo' (from --db)", "not a database URL")
    assert line.startswith("Error: ")
    assert tree(home) == {}


def test_a_postgresql_database_that_does_not_exist_hides_the_password(home):
    base = os.environ.get("ASTERISKBILL_TEST_PG")
    if not base:
        pytest.skip("set ASTERISKBILL_TEST_PG to a PostgreSQL URL")
    missing = make_url(base).set(database="asteriskbill_no_such_db", password="hunter2")
    shown = missing.render_as_string(hide_password=False)
    for command in (["tariff", "list"], ["init"]):
        result = run(home, "--db", shown, *command)
        refused(result, "does not exist on its server", "***")
        assert "hunter2" not in result.stderr


def test_a_folder_under_a_regular_file_cannot_be_created(home):
    (home / "afile").write_text("x")
    before = tree(home)
    refused(run(home, "--db", url(home / "afile" / "sub" / "billing.db"), "init"), "cannot create the folder")
    assert tree(home) == before


def test_a_folder_under_proc_cannot_be_created(home):
    refused(run(home, "--db", "sqlite:////proc/asteriskbill-test/billing.db", "init"), "/proc/asteriskbill-test")
    assert not Path("/proc/asteriskbill-test").exists()


# -- modes that root would ignore ------------------------------------------------------------------------------

NOBODY = Runner(user={"user": 65534, "group": 65534, "extra_groups": []})


@functools.cache
def _unprivileged() -> Runner | None:
    """A runner that file modes stop: as is when not root, else in a user namespace, else as nobody."""
    if os.geteuid() != 0:
        return run
    folder = Path(tempfile.mkdtemp(prefix="asteriskbill-probe-"))
    try:
        folder.chmod(0o755)
        probe = folder / "probe"
        probe.write_text("")
        probe.chmod(0o444)
        write = [sys.executable, "-c", f"open({str(probe)!r}, 'a')"]
        if shutil.which("unshare") and _refused_a_write(["unshare", "--user", *write], {}):
            return Runner(prefix=("unshare", "--user"))
        if _refused_a_write(write, NOBODY.user):
            return NOBODY
        return None
    finally:
        shutil.rmtree(folder)


def _refused_a_write(argv: list[str], user: dict[str, Any]) -> bool:
    """True when ``argv`` runs (Python may be out of its reach) and is refused its write."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, **user)
    except (OSError, subprocess.SubprocessError):
        return False
    return "PermissionError" in result.stderr


@pytest.fixture
def unprivileged() -> Runner:
    runner = _unprivileged()
    if runner is None:
        pytest.skip("root cannot give up its power over file modes here (no user namespace; nobody cannot run Python)")
    return runner


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder under /tmp that nobody can reach too (pytest's tmp_path may sit under a private one)."""
    folder = Path(tempfile.mkdtemp(prefix="asteriskbill-env-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)  # the tests lock some: unlocked to be removed
    shutil.rmtree(folder)


@pytest.mark.parametrize("command", [["tariff", "create", "x", "--currency", "USD"], ["tariff", "list"]])
def test_a_read_only_database(unprivileged, shared, sqlite_template, command):
    folder = shared / "ro"
    folder.mkdir()
    db = folder / "billing.db"
    shutil.copy(sqlite_template, db)
    db.chmod(0o444)
    folder.chmod(0o555)
    before = tree(shared)
    refused(unprivileged(shared, "--db", url(db), *command), "is read-only for", f"{db} (owner", "writable")
    assert tree(shared) == before


def test_a_database_in_a_read_only_folder(unprivileged, shared, sqlite_template):
    folder = shared / "ro"
    folder.mkdir()
    db = folder / "billing.db"
    shutil.copy(sqlite_template, db)
    db.chmod(0o666)
    folder.chmod(0o555)  # SQLite cannot create billing.db-wal beside it
    before = tree(shared)
    refused(unprivileged(shared, "--db", url(db), "tariff", "list"), "is read-only for", f"{folder} (owner")
    assert tree(shared) == before


def test_a_folder_that_cannot_be_created(unprivileged, shared):
    locked = shared / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    result = unprivileged(shared, "--db", url(locked / "sub" / "billing.db"), "init")
    refused(result, f"cannot create the folder {locked / 'sub'}", "permission denied")
    assert list(locked.iterdir()) == []


def test_a_user_other_than_root_keeps_its_data_in_its_own_folder(unprivileged, shared):
    home = shared / "home"
    home.mkdir()
    home.chmod(0o777)  # nobody's, when nobody runs the command
    db = home / "data" / "asteriskbill" / "asteriskbill.db"  # XDG_DATA_HOME/asteriskbill
    refused(unprivileged(home, "tariff", "list"), f"database sqlite:///{db} does not exist", "asteriskbill init")
    assert not (home / "data").exists()
    assert unprivileged(home, "init").returncode == 0
    listed = unprivileged(home, "tariff", "list")
    assert listed.returncode == 0 and db.exists(), listed.stderr


# -- a full disk -----------------------------------------------------------------------------------------------

FILL = """
set -e
mount -t tmpfs -o size=512k tmpfs "$DISK"
cp "$TEMPLATE" "$DISK/billing.db"
head -c 1M /dev/zero > "$DISK/filler" 2>/dev/null || true
[ "$LEAVE" = 0 ] || truncate -s "-$LEAVE" "$DISK/filler"
set +e
"$ASTERISKBILL" --db "sqlite:///$DISK/billing.db" tariff create other --currency USD 2> "$OUT/stderr"
echo $? > "$OUT/status"
for f in "$DISK"/*; do echo "$(basename "$f") $(stat -c %s "$f")"; done > "$OUT/files"
cp "$DISK/billing.db" "$OUT/after.db"
"""


@functools.cache
def _mount_namespace() -> tuple[str, ...] | None:
    """An `unshare` prefix under which a tmpfs can be mounted (and vanishes with the process)."""
    if not shutil.which("unshare"):
        return None
    with tempfile.TemporaryDirectory() as folder:
        for prefix in (("unshare", "--mount"), ("unshare", "--user", "--map-root-user", "--mount")):
            probe = subprocess.run(
                [*prefix, "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {folder}"],
                capture_output=True,
                timeout=TIMEOUT,
            )
            if probe.returncode == 0:
                return prefix
    return None


@pytest.mark.parametrize("leave", ["0", "36K"])  # nothing left (-shm fails: an I/O error) / a few pages (SQLITE_FULL)
def test_a_full_disk(tmp_path, database, leave):
    prefix = _mount_namespace()
    if prefix is None:
        pytest.skip("no tmpfs can be mounted here: tests/unit/test_explain.py checks the sentence in-process")
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    env = {**environment(tmp_path), "DISK": str(disk), "OUT": str(out), "LEAVE": leave}
    env.update(TEMPLATE=str(database), ASTERISKBILL=ASTERISKBILL)
    subprocess.run([*prefix, "sh", "-c", FILL], env=env, check=True, timeout=TIMEOUT)
    stderr = (out / "stderr").read_text()
    assert (out / "status").read_text().strip() != "0"
    assert 1 <= len(stderr.splitlines()) <= 2 and "Traceback" not in stderr, stderr
    assert "is full — free some space" in stderr
    sizes = dict(line.split() for line in (out / "files").read_text().splitlines())
    assert set(sizes) - {"billing.db-wal", "billing.db-shm"} == {"billing.db", "filler"}
    assert sizes.get("billing.db-wal", "0") == "0"  # SQLite's own files, when not even they could be written
    assert (out / "after.db").read_bytes() == database.read_bytes()


# -- serve on a port already taken ----------------------------------------------------------------------


def test_serve_on_a_port_in_use(home, database):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(home, "--db", url(database), "serve", fastagi_port=str(port))
    line = refused(result, f"port 127.0.0.1:{port} is in use", "set fastagi_port")
    assert line.startswith("Error: ")


# -- CSV files -------------------------------------------------------------------------------------------------

HUGE = "x" * 140_000  # past csv.field_size_limit() (131,072)


@pytest.mark.parametrize(
    "command, content",
    [
        (["rates", "import", "retail"], f'prefix,price\n44,0.10\n45,"{HUGE}\n46,0.2\n'),
        (["accounts", "import"], f'kind,name\ncompany,acme\ncompany,"{HUGE}\n'),
        (["cdr", "reconcile"], f'"{HUGE}\n'),
    ],
    ids=["rates", "accounts", "reconcile"],  # not the 140k-character contents: they would end up in argv
)
def test_a_csv_field_over_the_limit(home, database, command, content):
    source = home / "in.csv"
    source.write_text(content)
    before = rows(database)
    refused(run(home, "--db", url(database), *command, str(source)), "longer than 131,072 characters", 'quote (")')
    assert rows(database) == before


# -- the agi-bin scripts -------------------------------------------------------------------------------------


def agi(home: Path, stdin, **settings: str):
    return subprocess.run(
        [str(ROOT / "agi-bin" / "asteriskbill-ext")],
        env=environment(home, **settings),
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_an_agi_script_given_a_file_on_stdin(home, database):
    somefile = home / "somefile"
    somefile.write_text("hello\n")
    with somefile.open("rb") as stdin:
        result = agi(home, stdin, db=url(database))
    refused(result, "stdin is a file, not a pipe from Asterisk", "AGI(")


def test_an_agi_script_given_no_agi_environment(home, database):
    result = subprocess.run(
        [str(ROOT / "agi-bin" / "asteriskbill-ext")],
        env=environment(home, db=url(database)),
        input="hello\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    refused(result, "not an AGI environment line")


def test_an_agi_script_before_init(home):
    result = agi(home, subprocess.DEVNULL, db=url(home / "billing.db"))
    refused(result, "asteriskbill-ext: error: database", "run 'asteriskbill init'")
    assert tree(home) == {}


# -- settings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "setting, value, hint",
    [
        ("country_code", "abc", "setting country_code='abc' (from ASTERISKBILL_COUNTRY_CODE): digits only"),
        ("max_call_seconds", "-5", "setting max_call_seconds=-5 (from ASTERISKBILL_MAX_CALL_SECONDS): at least 1"),
        ("timezone", "Mars/Olympus", "not an IANA time zone"),
    ],
)
def test_a_bad_setting_stops_every_command(home, database, setting, value, hint):
    before = tree(home)
    refused(run(home, "--db", url(database), "tariff", "list", **{setting: value}), hint)
    assert tree(home) == before


# -- --debug -------------------------------------------------------------------------------------------------


def test_debug_shows_the_traceback(home):
    missing = url(home / "billing.db")
    for result in (
        run(home, "--debug", "--db", missing, "tariff", "list"),
        run(home, "--db", missing, "tariff", "list", debug="1"),
    ):
        assert result.returncode != 0
        assert "Traceback" in result.stderr and "NotReady: database" in result.stderr
    assert tree(home) == {}


# -- a reader that goes away -----------------------------------------------------------------------------------


def test_output_cut_short_by_its_reader_ends_quietly(home, database):
    rates = home / "rates.csv"
    rates.write_text("prefix,price\n" + "".join(f"{prefix},0.10\n" for prefix in range(100_000, 120_000)))
    assert run(home, "--db", url(database), "rates", "import", "retail", str(rates)).returncode == 0
    export = subprocess.Popen(
        [ASTERISKBILL, "--db", url(database), "rates", "export", "retail"],
        env=environment(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert export.stdout is not None
    assert export.stdout.readline().startswith("prefix")
    export.stdout.close()  # as `| head -1` does: the rest (~400 kB) meets a closed pipe
    _, stderr = export.communicate(timeout=TIMEOUT)
    assert export.returncode == 1
    assert stderr == ""
