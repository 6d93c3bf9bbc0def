"""A callshop receipt for people: 42 columns of plain text (an 80 mm receipt printer's line), and the same
lines as a one-page PDF in Courier, written by hand so printing a receipt needs no PDF library. Printed by
`asteriskbill callshop stop|receipt` and downloaded from the console's receipt page."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from asteriskbill.billing.callshop import POSTPAID
from asteriskbill.billing.settle import ANSWER
from asteriskbill.money import format_amount
from asteriskbill.services.callshop import Receipt, ReceiptCall

WIDTH = 42
RULE = "-" * WIDTH


def _money(amount: int, currency: str) -> str:
    return f"{format_amount(amount)} {currency}"


def _pair(label: str, value: str) -> str:
    return f"{label:<{WIDTH - len(value)}}{value}"


def _duration(call: ReceiptCall) -> str:
    if call.outcome != ANSWER:
        return call.outcome.lower()  # busy, noanswer...: tried, not charged
    minutes, seconds = divmod(call.seconds, 60)
    return f"{minutes}:{seconds:02d}"


def _columns(left: str, right: str) -> str:
    """Indented under the time, ``left`` cut where it would run into ``right``."""
    room = WIDTH - 10 - len(right) - 1
    return f"{'':10}{left[:room]:<{room}} {right}"


def _call_lines(call: ReceiptCall, zone: ZoneInfo) -> list[str]:
    return [
        f"{call.started_at.astimezone(zone):%H:%M:%S}" + _columns(call.number, _duration(call))[8:],
        _columns(call.destination, format_amount(call.cost)),
    ]


def receipt_lines(receipt: Receipt, zone: ZoneInfo) -> list[str]:
    """The receipt: the booth and its session, every call (time, number, destination, duration, cost),
    the total, what was paid and the change or the amount due."""

    def moment(at: datetime) -> str:
        return f"{at.astimezone(zone):%Y-%m-%d %H:%M:%S}"

    booth = receipt.booth + (f" (ext {receipt.extension})" if receipt.extension else "")
    lines = [
        "RECEIPT".center(WIDTH).rstrip(),
        _pair("Booth", booth),
        _pair("Started", moment(receipt.started_at)),
        _pair("Stopped", moment(receipt.stopped_at)),
        _pair("Time zone", zone.key),
        RULE,
        "Time" + _columns("Number", "Min:s")[4:],
        _columns("Destination", "Cost"),
        RULE,
    ]
    for call in receipt.calls:
        lines += _call_lines(call, zone)
    bill, currency = receipt.bill, receipt.currency
    lines += [RULE, _pair("Calls", str(len(receipt.calls))), _pair("Total", _money(bill.total, currency))]
    if receipt.mode != POSTPAID or bill.paid:
        lines.append(_pair("Paid", _money(bill.paid, currency)))
    label, amount = settlement(receipt)
    lines.append(_pair(label, _money(amount, currency)))
    return lines


def settlement(receipt: Receipt) -> tuple[str, int]:
    """The receipt's last line: ("Change", what the customer gets back) or ("Amount due", what they still owe);
    a postpaid session always owes, if only 0."""
    if receipt.bill.due or receipt.mode == POSTPAID:
        return "Amount due", receipt.bill.due
    return "Change", receipt.bill.change


# --- PDF ------------------------------------------------------------------------------------------
FONT_SIZE, LEADING, MARGIN = 8, 10, 12  # points; Courier is 0.6 em wide: 42 columns fit 80 mm paper


def _pdf_text(line: str) -> bytes:
    """A PDF string literal in WinAnsiEncoding; a character it cannot show prints as '?'."""
    raw = line.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def one_page_pdf(lines: list[str]) -> bytes:
    """``lines`` in Courier on one page as wide as the longest line and as tall as all of them."""
    width = 2 * MARGIN + FONT_SIZE * 0.6 * max(map(len, lines), default=1)
    height = 2 * MARGIN + LEADING * len(lines)
    text = b" T*\n".join(_pdf_text(line) + b" Tj" for line in lines)
    content = (
        b"BT /F1 %d Tf %d TL %d %d Td\n" % (FONT_SIZE, LEADING, MARGIN, height - MARGIN - FONT_SIZE) + text + b"\nET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.1f %d] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>" % (width, height),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
