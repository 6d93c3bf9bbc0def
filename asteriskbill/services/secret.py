"""The installation secret that keys PIN hashes: a file outside the database, readable by its owner only."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from asteriskbill.errors import UserError

MIN_LENGTH = 32


def installation_secret(path: str | os.PathLike[str], *, create: bool = False) -> bytes:
    """The secret in ``path``; with ``create``, made on first need (mode 0600, never overwritten)."""
    file = Path(path)
    try:
        stat = file.stat()
    except FileNotFoundError:
        if not create:
            raise UserError(
                f"installation secret {file} does not exist: without it no PIN can be checked "
                "(restore it from backup, or set secret_file)"
            ) from None
        _create(file)
        stat = file.stat()
    except OSError as exc:
        raise UserError(f"cannot read installation secret {file}: {exc.strerror}") from None
    if stat.st_mode & 0o077:
        raise UserError(f"installation secret {file} is readable by others: chmod 600 {file}")
    return _read(file, stat)


def _read(file: Path, stat: os.stat_result) -> bytes:
    """The secret's bytes, read again only when the file is another or has changed (every card login asks)."""
    key = (str(file), stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)
    cached = _READ.get(key)
    if cached is not None:
        return cached
    try:
        secret = file.read_bytes().strip()
    except OSError as exc:
        raise UserError(f"cannot read installation secret {file}: {exc.strerror}") from None
    if len(secret) < MIN_LENGTH:
        raise UserError(f"installation secret {file} is shorter than {MIN_LENGTH} bytes")
    _READ.clear()  # one installation's secret per process, in practice
    _READ[key] = secret
    return secret


_READ: dict[tuple, bytes] = {}


def _create(file: Path) -> None:
    """Write a new secret to a private temporary file, then link it in place: if another process
    created the secret meanwhile, the link fails and its secret is kept."""
    temporary = file.with_name(f".{file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, file)
    except OSError as exc:
        raise UserError(f"cannot create installation secret {file}: {exc.strerror} (set secret_file)") from None
    finally:
        temporary.unlink(missing_ok=True)
