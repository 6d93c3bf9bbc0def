"""A real Asterisk for tests/asterisk: found, given its own configuration in a temporary folder, started as
this user, driven over AMI and the CLI, and stopped.

It is found by ASTERISK_PREFIX (its sbin/asterisk), else on PATH, else under a common prefix; the dialplan it
runs is the project's packaged file, #included unchanged, plus the test contexts below.
"""

from __future__ import annotations

import csv
import functools
import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from asteriskbill import dialplan
from tests.helpers.asterisk_ami import Ami, Message
from tests.helpers.serve import free_port
from tests.helpers.waiting import wait_for

COMMON_PREFIXES = ("/opt/asterisk", "/usr/local")
SOUND_FOLDERS = ("/usr/share/asterisk/sounds",)  # Debian's asterisk-core-sounds-en-gsm
PROMPT = "en/agent-user.gsm"  # the card IVR's first prompt: the sounds are there if it is
DOCUMENTATION = "documentation/core-en_US.xml"
NOT_FOUND = (
    "no Asterisk found (PATH, /opt/asterisk, /usr/local): set ASTERISK_PREFIX to the prefix it was installed "
    "with (its binary is $ASTERISK_PREFIX/sbin/asterisk), or put `asterisk` on PATH"
)
USER = "tester"  # the ARI and AMI user of the test Asterisk (loopback only)
SECRET = "tester"
# Modules autoload would start that no test needs (and that want configuration of their own).
NOLOAD = ("cdr_custom", "res_cdrel_custom", "res_mwi_external", "res_stasis_mailbox")
# What the project's dialplan, `serve` and the test contexts use (README: Testing on a real Asterisk).
REQUIRED_MODULES = (
    "res_agi", "res_ari", "res_ari_events", "res_ari_channels", "res_ari_asterisk", "res_stasis",
    "res_http_websocket", "app_dial", "app_playback", "app_senddtmf", "app_userevent", "app_stack", "app_exec",
    "pbx_config", "func_callerid", "func_channel", "func_cdr", "func_global", "func_strings", "func_logic",
    "func_timeout", "cdr_csv", "bridge_simple", "bridge_builtin_interval_features", "format_gsm", "codec_gsm",
)  # fmt: skip
# Our calls' uniqueids look like Asterisk's own (epoch.counter), with a counter far above the ones it gives.
UNIQUEID_BASE = 900_000
ORIGINATE_TIMEOUT_MS = 120_000  # longer than Dial's 60 s: the no-answer case ends by Dial's timeout
Row = dict[str, str]  # one Master.csv record by column name
# cdr_csv's columns with loguniqueid, loguserfield and newcdrcolumns
MASTER_COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata", "start",
    "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield", "peeraccount",
    "linkedid", "sequence",
)  # fmt: skip

# The test contexts: the called party, the caller's handset and its keypad. The called party's number says
# what it does: 4420001TTT answers after 1 s of ringing and talks TTT s, 4420002000 is busy, 4420003000 rings
# until the caller gives up, 4420004000 is congested.
TEST_CONTEXTS = """
[asteriskbill-test-callee]
exten => _4420001XXX,1,Ringing()
 same => n,Wait(1)
 same => n,Answer()
 same => n,Wait(${EXTEN:-3})
 same => n,Hangup()
exten => 4420002000,1,Busy(10)
exten => 4420003000,1,Ringing()
 same => n,Wait(3600)
exten => 4420004000,1,Congestion(10)

[asteriskbill-test-phone]
; the caller's handset (the other half of the originated Local channel): off hook until the call ends
exten => s,1,Wait(3600)

[asteriskbill-test-keys]
; the handset's keypad: the harness sends the handset here to type EXTEN while the IVR reads digits
exten => _[0-9*#].,1,SendDTMF(${EXTEN},100,100)
 same => n,Goto(asteriskbill-test-phone,s,1)
"""


def find_binary() -> Path | str:
    """ASTERISK_PREFIX's sbin/asterisk if set, else `asterisk` on PATH, else one under a common prefix; or why
    there is none."""
    prefix = os.environ.get("ASTERISK_PREFIX")
    if prefix:
        binary = Path(prefix) / "sbin" / "asterisk"
        return binary if os.access(binary, os.X_OK) else f"ASTERISK_PREFIX={prefix}, but there is no {binary}"
    found = shutil.which("asterisk")
    if found:
        return Path(found)
    for common in COMMON_PREFIXES:
        binary = Path(common) / "sbin" / "asterisk"
        if os.access(binary, os.X_OK):
            return binary
    return NOT_FOUND


def modules_folder(binary: Path) -> Path | None:
    """The modules the binary was installed with: PREFIX/lib[64][/<triplet>]/asterisk/modules."""
    prefix = binary.resolve().parent.parent
    for candidate in [
        prefix / "lib" / "asterisk" / "modules",
        prefix / "lib64" / "asterisk" / "modules",
        *sorted(prefix.glob("lib/*/asterisk/modules")),
    ]:
        if (candidate / "app_dial.so").exists():
            return candidate
    return None


def data_folder(binary: Path, wanted: str) -> Path | None:
    """The first of Asterisk's usual data folders (astdatadir) that holds ``wanted``."""
    prefix = binary.resolve().parent.parent
    for folder in (prefix / "var" / "lib" / "asterisk", prefix / "share" / "asterisk", Path("/var/lib/asterisk")):
        if (folder / wanted).exists():
            return folder
    return None


def sounds_folder(binary: Path) -> Path | None:
    for folder in SOUND_FOLDERS:
        if (Path(folder) / PROMPT).exists():
            return Path(folder)
    found = data_folder(binary, f"sounds/{PROMPT}")
    return found / "sounds" if found else None


def dialplan_file() -> Path:
    """The project's packaged dialplan file, as installed with the package."""
    return Path(str(resources.files("asteriskbill").joinpath("dialplan", dialplan.FILE_NAME)))


def agi_bin() -> str:
    """The folder of this installation's agi-bin scripts (asteriskbill-card, asteriskbill-ext)."""
    return os.path.dirname(sys.executable)


@dataclass(frozen=True)
class Found:
    binary: Path
    modules: Path
    sounds: Path
    documentation: Path  # Asterisk refuses to start without the XML documentation it was built with


def find() -> Found | str:
    """The Asterisk to test against, or the one line that says why there is none."""
    binary = find_binary()
    if isinstance(binary, str):
        return binary
    modules = modules_folder(binary)
    if modules is None:
        return f"Asterisk {binary}: no modules folder (PREFIX/lib/asterisk/modules with app_dial.so) found"
    sounds = sounds_folder(binary)
    if sounds is None:
        return f"Asterisk {binary}: no English prompts ({PROMPT}): install asterisk-core-sounds-en-gsm"
    data = data_folder(binary, DOCUMENTATION)
    if data is None:
        return f"Asterisk {binary}: its {DOCUMENTATION} was not found (PREFIX/var/lib/asterisk)"
    return Found(binary, modules, sounds, data / "documentation")


@dataclass(frozen=True)
class Call:
    """One call placed on a Local channel: the handset (;1, where the originate's answer lands) and the caller's
    channel (;2, which runs the billing dialplan: its uniqueid is the AGI's, the CDR's and Master.csv's)."""

    handset: str
    caller: str


class Asterisk:
    """One Asterisk process with its whole configuration, logs, spool and CDRs under ``root``."""

    def __init__(self, found: Found, root: Path, fastagi_port: int):
        self.found = found
        self.root = root
        self.fastagi_port = fastagi_port
        self.http_port = free_port()
        self.ami_port = free_port()
        self.conf = root / "etc" / "asterisk.conf"
        self.billing_config = root / "asteriskbill.toml"  # what the agi-bin scripts Asterisk runs read
        self.process: subprocess.Popen[bytes] | None = None
        self._ami: Ami | None = None
        self._calls = itertools.count(1)
        self._epoch = int(time.time())

    @property
    def ami(self) -> Ami:
        assert self._ami is not None, "Asterisk is not started"
        return self._ami

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ami_url(self) -> str:
        return f"tcp://127.0.0.1:{self.ami_port}"

    @property
    def master_csv(self) -> Path:
        return self.root / "log" / "cdr-csv" / "Master.csv"

    # -- configuration and process ------------------------------------------------------------------------
    def configure(self) -> None:
        for folder in ("etc", "lib", "data", "agi-bin", "spool", "run", "log/cdr-csv"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "data" / "sounds").symlink_to(self.found.sounds)
        (self.root / "data" / "documentation").symlink_to(self.found.documentation)
        for name, text in self._files().items():
            (self.root / "etc" / name).write_text(text)

    def _files(self) -> dict[str, str]:
        folders = {
            "astetcdir": "etc",
            "astvarlibdir": "lib",
            "astdbdir": "lib",
            "astkeydir": "lib",
            "astdatadir": "data",
            "astagidir": "agi-bin",
            "astspooldir": "spool",
            "astrundir": "run",
            "astlogdir": "log",
        }
        directories = "".join(f"{key} => {self.root / value}\n" for key, value in folders.items())
        return {
            "asterisk.conf": f"[directories]\n{directories}astmoddir => {self.found.modules}\n"
            f"astsbindir => {self.found.binary.parent}\n[options]\nverbose = 3\n",
            "modules.conf": "[modules]\nautoload = yes\n" + "".join(f"noload => {m}.so\n" for m in NOLOAD),
            "logger.conf": "[general]\ndateformat = %F %T.%3q\n[logfiles]\n"
            "full => notice,warning,error,verbose,dtmf\nconsole => notice,warning,error\n",
            "http.conf": f"[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = {self.http_port}\n",
            "ari.conf": f"[general]\nenabled = yes\npretty = no\n[{USER}]\ntype = user\nread_only = no\n"
            f"password = {SECRET}\n",
            "manager.conf": f"[general]\nenabled = yes\nbindaddr = 127.0.0.1\nport = {self.ami_port}\n"
            f"displayconnects = no\n[{USER}]\nsecret = {SECRET}\nread = all\nwrite = all\n",
            "cdr.conf": "[general]\nenable = yes\nunanswered = yes\ncongestion = yes\n"
            "[csv]\nusegmtime = yes\nloguniqueid = yes\nloguserfield = yes\naccountlogs = no\nnewcdrcolumns = yes\n",
            "extensions.conf": "[general]\nstatic = yes\nwriteprotect = yes\n"
            + dialplan.globals_section(f"127.0.0.1:{self.fastagi_port}", agi_bin())
            + f"#include {dialplan_file()}\n{TEST_CONTEXTS}",
        }

    def start(self) -> None:
        """Start Asterisk in the foreground (its output in log/console) and wait until it is fully booted."""
        # the agi-bin scripts it runs take their settings from billing_config alone, whatever this process has
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASTERISKBILL_")}
        env.update(TZ="UTC", ASTERISKBILL_CONFIG=str(self.billing_config))
        self.billing_config.write_text("")
        with (self.root / "log" / "console").open("wb") as console:
            self.process = subprocess.Popen(
                [str(self.found.binary), "-C", str(self.conf), "-f", "-n"],
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # a Ctrl-C of the test run is for pytest, which stops Asterisk itself
            )
        wait_for(self._booted, "Asterisk to boot fully", seconds=60, interval=0.1)
        loaded = self.rx("module show").stdout
        missing = [name for name in REQUIRED_MODULES if f"{name}.so " not in loaded]
        assert not missing, f"{self.found.binary} runs without {', '.join(missing)}: see {self.root}/log/full"
        self._ami = Ami("127.0.0.1", self.ami_port, USER, SECRET)

    def _booted(self) -> bool:
        assert self.process is not None and self.process.poll() is None, f"Asterisk exited: {self.console()}"
        return self.rx("core waitfullybooted", check=False).returncode == 0 and self.process.poll() is None

    def rx(self, command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one CLI command on the running Asterisk (`asterisk -rx`)."""
        done = subprocess.run(
            [str(self.found.binary), "-C", str(self.conf), "-rx", command],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check:
            assert done.returncode == 0, f"asterisk -rx {command!r}: {done.stdout}{done.stderr}"
        return done

    def console(self) -> str:
        return (self.root / "log" / "console").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self._ami is not None:
            self._ami.close()
        if self.process is None or self.process.poll() is not None:
            return
        self.rx("core stop now", check=False)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    # -- calls --------------------------------------------------------------------------------------------
    def call(self, context: str, exten: str, callerid: str, keys: Mapping[str, str] | None = None) -> Call:
        """Originate a call from a handset with caller ID ``callerid`` into ``exten@context`` of the dialplan;
        ``keys``: what the handset types when the AGI reads digits with each prompt (GET DATA <prompt>)."""
        n = next(self._calls)
        call = Call(
            handset=f"{self._epoch}.{UNIQUEID_BASE + 2 * n}", caller=f"{self._epoch}.{UNIQUEID_BASE + 2 * n + 1}"
        )
        if keys:
            self.ami.hooks.append(functools.partial(self._type, call, dict(keys)))
        reply = self.ami.action(
            "Originate",
            Channel=f"Local/{exten}@{context}",
            Context="asteriskbill-test-phone",
            Exten="s",
            Priority="1",
            CallerID=callerid,
            Timeout=str(ORIGINATE_TIMEOUT_MS),
            Async="true",
            ChannelId=call.handset,
            OtherChannelId=call.caller,
        )
        assert reply.get("Response") == "Success", reply
        return call

    def _type(self, call: Call, keys: dict[str, str], event: Message) -> None:
        """The handset types the digits the prompt asks for, once the AGI reads them (DTMF sent while no AGI
        command reads is lost): AGIExecStart of GET DATA on the caller's channel sends it to the keypad."""
        if event.get("Event") != "AGIExecStart" or event.get("Uniqueid") != call.caller:
            return
        command = event.get("Command", "").split()
        if command[:2] == ["GET", "DATA"] and len(command) > 2 and command[2] in keys:
            self.ami.send(
                "Redirect", Channel=call.handset, Context="asteriskbill-test-keys", Exten=keys[command[2]], Priority="1"
            )

    def variables(self, call: Call) -> dict[str, str]:
        """The channel variables set on the caller's channel so far (the last value of each)."""
        found = self.ami.seen(lambda e: e.get("Event") == "VarSet" and e.get("Uniqueid") == call.caller)
        return {event["Variable"]: event.get("Value", "") for event in found}

    def user_event(self, call: Call) -> Message:
        """The fields of the project's UserEvent from the caller's hangup handler (AMI sees it as ARI does)."""
        return self.ami.wait_event(
            lambda e: (
                e.get("Event") == "UserEvent"
                and e.get("UserEvent") == dialplan.USER_EVENT
                and e.get("Uniqueid") == call.caller
            ),
            f"the UserEvent of {call.caller}",
        )

    def answered(self, call: Call, seconds: float = 60) -> None:
        """Wait until the called party answers (Dial's DialEnd ANSWER on the caller's channel)."""
        self.ami.wait_event(
            lambda e: (
                e.get("Event") == "DialEnd" and e.get("Uniqueid") == call.caller and e.get("DialStatus") == "ANSWER"
            ),
            f"the callee of {call.caller} to answer",
            seconds,
        )

    def ended(self, call: Call, seconds: float = 90) -> None:
        """Wait until the caller's channel is gone."""
        self.ami.wait_event(
            lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == call.caller, f"{call.caller} to end", seconds
        )

    def master_rows(self, call: Call, until: Callable[[Row], bool] | None = None, seconds: float = 30) -> list[Row]:
        """The call's records in Master.csv (they share the handset's linkedid), once one satisfies ``until`` (by
        default: the caller's record is written; Asterisk writes each channel's as that channel goes)."""
        wanted = until or (lambda row: row["uniqueid"] == call.caller)

        def rows() -> list[Row]:
            if not self.master_csv.exists():
                return []
            with self.master_csv.open(newline="") as handle:
                found = [dict(zip(MASTER_COLUMNS, row, strict=True)) for row in csv.reader(handle)]
            return [row for row in found if row["linkedid"] == call.handset]

        wait_for(lambda: any(map(wanted, rows())), f"the Master.csv record of {call.caller}", seconds)
        return rows()

    def hang_up_everything(self) -> None:
        """End every channel left (a failed test's), so the next test starts on an idle Asterisk."""
        self.rx("channel request hangup all", check=False)
        wait_for(lambda: self.rx("core show channels count").stdout.startswith("0 active channels"), "no channel left")


if __name__ == "__main__":  # .ci/run: which Asterisk `make test-asterisk` would use (exit 0), or why none (1)
    found = find()
    print(found if isinstance(found, str) else found.binary)
    sys.exit(isinstance(found, str))
