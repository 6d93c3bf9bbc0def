"""Card batches: the list with how many cards were used, and generating one as `asteriskbill cards generate` does.

The PINs are in no database and no log: the PIN file is written (before the cards commit) to a private temporary
file that waits, under a random one-time token kept in memory on the application, for ONE download within
PIN_FILE_MINUTES; sent, or out of time, it is deleted.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from asteriskbill.billing.cards import ACTIVATIONS, NOW
from asteriskbill.errors import UserError
from asteriskbill.money import format_amount
from asteriskbill.services import card_batches, ledger, tariffs
from asteriskbill.services.secret import installation_secret
from asteriskbill.web import forms
from asteriskbill.web.auth import Ctx, page

PIN_FILE_MINUTES = 15
# The generate form's fields as first shown (what `cards generate` defaults to).
NEW_BATCH = {
    "count": "",
    "value": "",
    "tariff": "",
    "activation": NOW,
    "valid_days": "",
    "expires": "",
    "number_digits": "12",
    "pin_digits": "6",
    "max_calls": "1",
    "name": "",
}


@dataclass(frozen=True)
class PinFile:
    path: Path  # alone in a private temporary folder
    batch: str
    deadline: float  # time.monotonic()


class PinFiles:
    """The PIN files waiting for their one download, by token (a restart forgets them: generate again)."""

    def __init__(self) -> None:
        self.waiting: dict[str, PinFile] = {}

    @staticmethod
    def of(app: Starlette) -> PinFiles:
        if not hasattr(app.state, "pin_files"):
            app.state.pin_files = PinFiles()
        found: PinFiles = app.state.pin_files
        return found

    def add(self, path: Path, batch: str) -> str:
        token = secrets.token_urlsafe(32)
        self.waiting[token] = PinFile(path, batch, time.monotonic() + PIN_FILE_MINUTES * 60)
        return token

    def peek(self, token: str) -> PinFile | None:
        self._expire()
        return self.waiting.get(token)

    def take(self, token: str) -> PinFile | None:
        """The file of ``token``, which no one can ask for again."""
        self._expire()
        return self.waiting.pop(token, None)

    def _expire(self) -> None:
        now = time.monotonic()
        for token, waiting in list(self.waiting.items()):
            if waiting.deadline <= now:
                del self.waiting[token]
                _discard(waiting.path)


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.parent.rmdir()


@page("admin")
async def batches_list(ctx: Ctx) -> Response:
    return await _listing(ctx, NEW_BATCH)


async def _listing(ctx: Ctx, typed: dict[str, str], error: str | None = None) -> Response:
    found = await ctx.run(card_batches.list_batches, ctx.engine)
    names = [summary.tariff.name for summary in await ctx.run(tariffs.list_tariffs, ctx.engine)]
    ready = PinFiles.of(ctx.request.app).peek(ctx.request.query_params.get("pins", ""))
    return ctx.render(
        "batches/list.html",
        status=400 if error else 200,
        found=[(batch, card_batches.validity_text(batch.valid_days, batch.expires_at, ctx.zone)) for batch in found],
        tariffs=names,
        activations=ACTIVATIONS,
        typed=typed,
        pins=ctx.request.query_params.get("pins") if ready else None,
        ready=ready,
        minutes=PIN_FILE_MINUTES,
        error=error,
    )


@page("admin")
async def batch_generate(ctx: Ctx) -> Response:
    assert ctx.form is not None
    typed = {key: forms.text(ctx.form, key) for key in NEW_BATCH}
    path = Path(tempfile.mkdtemp(prefix="asteriskbill-pins-")) / "pins.csv"
    try:
        batch = await ctx.run(_generate, ctx, _spec(ctx.form), path)
    except UserError as exc:
        _discard(path)
        return await _listing(ctx, typed, str(exc))
    except BaseException:
        _discard(path)
        raise
    token = PinFiles.of(ctx.request.app).add(path, batch.name)
    return ctx.redirect(
        f"/batches?pins={token}",
        flash=f"batch {batch.name}: {batch.count} cards of {format_amount(batch.face_value)} {batch.currency} generated"
        " — download their PINs now: they are not stored",
    )


def _spec(form: forms.Fields) -> card_batches.BatchSpec:
    def number(name: str, default: int) -> int:
        found = forms.whole(form, name, name.replace("_", " "))
        return default if found is None else found

    return card_batches.BatchSpec(
        count=number("count", 0),
        value=forms.amount(form, "value", "value"),
        tariff=forms.text(form, "tariff"),
        activation=forms.text(form, "activation") or NOW,
        valid_days=forms.whole(form, "valid_days", "valid days"),
        expires=forms.day(form, "expires", "expires"),
        number_digits=number("number_digits", 12),
        pin_digits=number("pin_digits", 6),
        max_calls=number("max_calls", 1),
        name=forms.text(form, "name") or None,
    )


def _generate(ctx: Ctx, spec: card_batches.BatchSpec, path: Path) -> card_batches.BatchView:
    """The batch, its PIN file written to ``path`` before the cards commit (as `cards generate -o`)."""
    secret = installation_secret(ctx.settings.secret_file, create=True)
    batch, _cards = card_batches.generate(
        ctx.engine,
        secret,
        ctx.operator,
        spec,
        limits=ledger.limits(ctx.settings),
        deliver=card_batches.pin_writer(path),
    )
    return batch


@page("admin")
async def pins_download(ctx: Ctx) -> Response:
    """The PIN file of a batch just generated, once; then, or after PIN_FILE_MINUTES, a 404."""
    waiting = PinFiles.of(ctx.request.app).take(ctx.request.path_params["token"])
    if waiting is None:
        return ctx.render(
            "error.html",
            status=404,
            error="these PINs were already downloaded or expired: a PIN file can be downloaded once, "
            f"within {PIN_FILE_MINUTES} minutes of generating its batch",
        )
    return FileResponse(
        waiting.path,
        media_type="text/csv; charset=utf-8",
        filename=f"{waiting.batch}-pins.csv",
        background=BackgroundTask(_discard, waiting.path),
    )


ROUTES = [
    Route("/batches", batches_list, methods=["GET"]),
    Route("/batches", batch_generate, methods=["POST"]),
    Route("/batches/pins/{token}", pins_download, methods=["GET"]),
]
