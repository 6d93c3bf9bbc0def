"""Exports from the console: the CLI's writers (services/sheets.py) to a private temporary file, then sent."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from asteriskbill.errors import UserError
from asteriskbill.services import sheets
from asteriskbill.services.sheet_cells import Types

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}: use csv or xlsx")
    return fmt


def sheet_file(
    name: str, fmt: str, columns: Sequence[str], rows: Iterable[Sequence[object]], types: Types, sheet: str
) -> Response:
    """``rows`` as ``name``.csv or .xlsx (call in a worker thread: it writes the whole file first)."""
    return written(name, fmt, lambda path: sheets.write_file(path, columns, rows, types, sheet))


def written(name: str, fmt: str, write: Callable[[str], object]) -> Response:
    """The file ``write(path)`` makes, sent as an attachment and removed once sent."""
    suffix = check_format(fmt)  # before the folder: a refused format leaves nothing behind
    folder = tempfile.mkdtemp(prefix="asteriskbill-export-")
    path = os.path.join(folder, f"{name}.{suffix}")
    try:
        write(path)
    except BaseException:
        _remove(folder, path)
        raise
    return FileResponse(
        path,
        media_type=FORMATS[fmt],
        filename=os.path.basename(path),
        background=BackgroundTask(_remove, folder, path),
    )


def _remove(folder: str, path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)
    os.rmdir(folder)
