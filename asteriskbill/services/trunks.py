"""Trunk use cases: add a vendor's trunk, list, edit (its dial string, the number's change, channels, on/off).

A trunk's dial string is checked as a route's is (billing/routes.py: check_dial); the number it dials is the
normalised number with its first ``strip_digits`` digits taken off and ``add_prefix`` put before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from asteriskbill.billing.numbers import is_digits
from asteriskbill.billing.routes import check_dial
from asteriskbill.errors import UserError
from asteriskbill.services import audit, vendors
from asteriskbill.store.models import Trunk, Vendor

MAX_STRIP = 20  # digits: no normalised number is longer
MAX_ADD_PREFIX = 16  # trunks.add_prefix is String(16)
MAX_NAME = 100


@dataclass(frozen=True)
class TrunkView:
    id: int
    name: str
    vendor: str
    dial: str
    strip_digits: int
    add_prefix: str
    channel_limit: int | None  # None: no limit
    enabled: bool
    demoted_note: str | None


@dataclass(frozen=True)
class TrunkChanges:
    """What `trunks edit` changes; None keeps the trunk's own. ``no_limit`` removes its channel limit."""

    dial: str | None = None
    strip_digits: int | None = None
    add_prefix: str | None = None
    channel_limit: int | None = None
    no_limit: bool = False
    enabled: bool | None = None

    def values(self) -> dict:
        """The columns to write, each checked."""
        if self.no_limit and self.channel_limit is not None:
            raise UserError("give either --channels or --no-limit, not both")
        found: dict[str, object] = {
            "dial": None if self.dial is None else check_dial(self.dial),
            "strip_digits": None if self.strip_digits is None else _strip(self.strip_digits),
            "add_prefix": None if self.add_prefix is None else _add_prefix(self.add_prefix),
            "channel_limit": None if self.channel_limit is None else _channels(self.channel_limit),
            "enabled": self.enabled,
        }
        values: dict[str, object] = {key: value for key, value in found.items() if value is not None}
        if self.no_limit:
            values["channel_limit"] = None
        return values


def _strip(digits: int) -> int:
    if not 0 <= digits <= MAX_STRIP:
        raise UserError(f"strip {digits} must be from 0 to {MAX_STRIP} digits")
    return digits


def _add_prefix(prefix: str) -> str:
    if (prefix and not is_digits(prefix)) or len(prefix) > MAX_ADD_PREFIX:
        raise UserError(f"add-prefix {prefix!r} must be up to {MAX_ADD_PREFIX} digits")
    return prefix


def _channels(limit: int) -> int:
    if limit < 1:
        raise UserError(f"channels {limit} must be at least 1 (--no-limit for no limit)")
    return limit


_VIEW = (
    select(
        Trunk.id,
        Trunk.name,
        Vendor.name.label("vendor"),
        Trunk.dial,
        Trunk.strip_digits,
        Trunk.add_prefix,
        Trunk.channel_limit,
        Trunk.enabled,
        Trunk.demoted_note,
    )
    .join(Vendor, Vendor.id == Trunk.vendor_id)
    .order_by(Trunk.name)
)


def find(conn: Connection, name: str) -> TrunkView:
    row = conn.execute(_VIEW.where(Trunk.name == name)).one_or_none()
    if row is None:
        raise UserError(f"no trunk named {name!r} (see `asteriskbill trunks list`)")
    return TrunkView(*row)


def add_trunk(
    engine: Engine,
    operator: str,
    vendor: str,
    name: str,
    dial: str,
    strip_digits: int = 0,
    add_prefix: str = "",
    channel_limit: int | None = None,
) -> TrunkView:
    if not name.strip() or name != name.strip() or len(name) > MAX_NAME:
        raise UserError(f"trunk name {name!r} must be 1 to {MAX_NAME} characters, without spaces around")
    values = TrunkChanges(dial, strip_digits, add_prefix, channel_limit).values()
    try:
        with engine.begin() as conn:
            vid = vendors.vendor_id(conn, vendor)
            conn.execute(insert(Trunk).values(vendor_id=vid, name=name, **values))
            audit.record(conn, operator, "trunk.add", name, {"vendor": vendor, **values})
            return find(conn, name)
    except IntegrityError:
        raise UserError(f"a trunk named {name!r} exists already (trunk names are unique across vendors)") from None


def list_trunks(engine: Engine, vendor: str | None = None) -> list[TrunkView]:
    with engine.begin() as conn:
        query = _VIEW
        if vendor is not None:
            query = query.where(Trunk.vendor_id == vendors.vendor_id(conn, vendor))
        return [TrunkView(*row) for row in conn.execute(query)]


def edit_trunk(engine: Engine, operator: str, name: str, changes: TrunkChanges) -> TrunkView:
    values = changes.values()
    if not values:
        raise UserError(
            f"nothing to change for trunk {name}: give --dial, --strip, --add-prefix, --channels/--no-limit "
            "or --enable/--disable"
        )
    with engine.begin() as conn:
        trunk = find(conn, name)
        conn.execute(update(Trunk).where(Trunk.id == trunk.id).values(**values))
        audit.record(conn, operator, "trunk.edit", name, values)
        return find(conn, name)
