"""Files the commands write for people (exports, PINs, receipts): whole or not at all, and private."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from asteriskbill.errors import UserError


def create_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty and readable by its owner only, before anything (SQLite) writes into it; an
    existing file is an error (FileExistsError)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


@contextmanager
def private_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A file to write ``path`` through: made under a temporary name beside it, readable by its owner only
    (0600), and renamed to ``path`` once the block ends well. A failure leaves no file, and the file that
    was there as it was; an OSError is a UserError naming ``path``."""
    target = Path(path)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with open(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())  # complete on disk before its name says so
        os.replace(temporary, target)
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        Path(temporary).unlink(missing_ok=True)
