"""Files sent through a form for an import: saved to a private temporary folder under their own name (the one
the import's error lines show), given to the service as a path, and removed once it is done."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from starlette.datastructures import FormData, UploadFile

from asteriskbill.errors import UserError
from asteriskbill.files import create_private

T = TypeVar("T")
SHEETS = (".csv", ".xlsx")


def chosen(form: FormData, name: str, suffixes: Sequence[str] = SHEETS) -> UploadFile:
    """The file of field ``name``: one was chosen, and its suffix is one of ``suffixes``."""
    upload = form.get(name)
    kinds = " or ".join(suffixes)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UserError(f"choose a {kinds} file to upload")
    if Path(upload.filename).suffix.lower() not in suffixes:
        raise UserError(f"{upload.filename}: upload a {kinds} file")
    return upload


def using(upload: UploadFile, use: Callable[[Path], T]) -> T:
    """``use(path)`` of the uploaded file, saved readable by its owner only and removed after (call it in a
    worker thread: it copies the file)."""
    original = Path(upload.filename or "upload")
    stem = re.sub(r"[^\w-]", "_", original.stem)[:64] or "upload"  # never a path, never a hidden file
    folder = Path(tempfile.mkdtemp(prefix="asteriskbill-upload-"))
    path = folder / f"{stem}{original.suffix.lower()}"
    try:
        create_private(path)
        with path.open("wb") as saved:
            upload.file.seek(0)
            shutil.copyfileobj(upload.file, saved)
        return use(path)
    finally:
        path.unlink(missing_ok=True)
        folder.rmdir()
