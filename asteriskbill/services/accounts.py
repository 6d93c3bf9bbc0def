"""Account use cases: create, list, show, freeze/unfreeze/close, recharge, adjust, history.

Authorization reuses ``standing`` (effective status and tariff, the company's included).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, Engine, Select, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from asteriskbill.billing import accounts as rules
from asteriskbill.billing.accounts import AccountError, AccountState, Standing
from asteriskbill.billing.ledger import RECHARGE
from asteriskbill.money import CEILING, Limits, format_amount, parse_currency
from asteriskbill.services import audit, ledger, plans
from asteriskbill.services.tariffs import incoming_tariff_id, sold_tariff
from asteriskbill.store.models import Account, Did, Plan, RoutingGroup, Tariff
from asteriskbill.store.types import utcnow

HISTORY_LIMIT = 1000


@dataclass(frozen=True)
class AccountView:
    """An account as the operator sees it, with its effective status and tariff."""

    id: int
    kind: str
    name: str
    parent: str | None
    tariff: str | None  # its own
    effective_tariff: str | None  # its own, else its plan's, else its company's
    currency: str
    balance: int
    credit_limit: int
    status: str  # its own
    effective_status: str  # its own or its company's, the worse
    reason: str
    max_calls: int | None
    extension: str | None
    accountcode: str | None
    booth: bool
    created_at: datetime
    pool: str = rules.OWN  # whose balance its calls spend (billing.accounts.POOLS)
    daily_limit: int | None = None
    monthly_limit: int | None = None
    routing_group: str | None = None  # its own (`routing bind`), not its company's nor its tariff's
    plan: str | None = None  # its service plan (services/plans.py)
    incoming_tariff: str | None = None  # what calls to it cost it (billing/incoming.py); None: not billed

    @property
    def state(self) -> AccountState:
        """Its own settings, as the account rules read them."""
        return AccountState(self.name, self.kind, self.status, None, self.currency)


_parent = aliased(Account)
_own_tariff = aliased(Tariff)
_parent_tariff = aliased(Tariff)
_plan_tariff = aliased(Tariff)
_incoming_tariff = aliased(Tariff)


def _view_query() -> Select:
    return (
        select(
            Account.__table__,
            _parent.name.label("parent_name"),
            _parent.kind.label("parent_kind"),
            _parent.status.label("parent_status"),
            _parent.tariff_id.label("parent_tariff_id"),
            _own_tariff.name.label("tariff_name"),
            _parent_tariff.name.label("parent_tariff_name"),
            Plan.name.label("plan_name"),
            Plan.tariff_id.label("plan_tariff_id"),
            _plan_tariff.name.label("plan_tariff_name"),
            RoutingGroup.name.label("routing_group_name"),
            _incoming_tariff.name.label("incoming_tariff_name"),
        )
        .join(_parent, _parent.id == Account.parent_id, isouter=True)
        .join(_own_tariff, _own_tariff.id == Account.tariff_id, isouter=True)
        .join(_parent_tariff, _parent_tariff.id == _parent.tariff_id, isouter=True)
        .join(Plan, Plan.id == Account.plan_id, isouter=True)
        .join(_plan_tariff, _plan_tariff.id == Plan.tariff_id, isouter=True)
        .join(RoutingGroup, RoutingGroup.id == Account.routing_group_id, isouter=True)
        .join(_incoming_tariff, _incoming_tariff.id == Account.incoming_tariff_id, isouter=True)
    )


def _states(row) -> tuple[AccountState, AccountState | None]:
    own = AccountState(row.name, row.kind, row.status, row.tariff_id, row.currency, row.plan_tariff_id)
    if row.parent_id is None:
        return own, None
    return own, AccountState(row.parent_name, row.parent_kind, row.parent_status, row.parent_tariff_id, row.currency)


def _view(row) -> AccountView:
    effective = rules.standing(*_states(row))
    return AccountView(
        id=row.id,
        kind=row.kind,
        name=row.name,
        parent=row.parent_name,
        tariff=row.tariff_name,
        effective_tariff=row.tariff_name or row.plan_tariff_name or row.parent_tariff_name,
        currency=row.currency,
        balance=row.balance,
        credit_limit=row.credit_limit,
        status=row.status,
        effective_status=effective.status,
        reason=effective.reason,
        max_calls=row.max_calls,
        extension=row.extension,
        accountcode=row.accountcode,
        booth=row.booth,
        created_at=row.created_at,
        pool=row.pool,
        daily_limit=row.daily_limit,
        monthly_limit=row.monthly_limit,
        routing_group=row.routing_group_name,
        plan=row.plan_name,
        incoming_tariff=row.incoming_tariff_name,
    )


def find(conn: Connection, name: str, *, lock: bool = False) -> AccountView:
    """The account named ``name``; ``lock`` holds its row until the transaction ends."""
    query = _view_query().where(Account.name == name)
    row = conn.execute(query.with_for_update(of=Account) if lock else query).one_or_none()
    if row is None:
        raise AccountError(f"no account named {name!r} (see `asteriskbill accounts list`)")
    return _view(row)


def standing(conn: Connection, account_id: int) -> Standing:
    """The effective status and tariff id of an account: what authorization checks before a call."""
    return rules.standing(*_states(conn.execute(_view_query().where(Account.id == account_id)).one()))


@dataclass(frozen=True)
class NewAccount:
    kind: str
    name: str
    parent: str | None = None
    tariff: str | None = None
    currency: str | None = None
    credit_limit: int = 0
    max_calls: int | None = None
    extension: str | None = None
    accountcode: str | None = None
    booth: bool = False  # a callshop booth: calls only between `callshop start` and `callshop stop`
    pool: str = rules.OWN  # its own balance, or its company's (billing.accounts.POOLS)
    daily_limit: int | None = None  # what it may spend a day of its company's pool; None: no limit
    monthly_limit: int | None = None
    plan: str | None = None  # its service plan's name (services/plans.py)
    incoming_tariff: str | None = None  # what calls to it cost it (billing/incoming.py); None: not billed


def check_new(new: NewAccount) -> None:
    """The rules a new account meets on its own, before its company, tariff and names are looked up."""
    rules.check_kind(new.kind)
    if new.kind == rules.CARD:
        raise AccountError("cards are created by `asteriskbill cards generate`")
    if not new.name.strip():
        raise AccountError("an account needs a name")
    if new.extension is not None and new.kind != rules.EXTENSION:
        raise AccountError("an extension number is for extension accounts only")
    if new.booth and new.kind != rules.EXTENSION:
        raise AccountError("--booth is for extension accounts")
    if new.incoming_tariff is not None and new.kind != rules.EXTENSION:
        raise AccountError("an incoming tariff is for extension accounts: the ones calls are made to")
    if new.booth and new.credit_limit:
        raise AccountError("a booth's credit limit is set by `asteriskbill callshop start`, not at its creation")
    if new.credit_limit < 0:
        raise AccountError("a credit limit must not be negative")
    if new.max_calls is not None and new.max_calls < 1:
        raise AccountError("max calls must be at least 1")


def check_free(conn: Connection, new: NewAccount, account_id: int | None = None) -> None:
    """Name, extension and accountcode belong to one account each: say which one has it already
    (``account_id``: the account being edited, which may keep its own)."""
    for column, value, what in (
        (Account.name, new.name, "an account named"),
        (Account.extension, new.extension, "extension"),
        (Account.accountcode, new.accountcode, "accountcode"),
    ):
        query = select(Account.name).where(column == value, Account.id != account_id)
        holder = None if value is None else conn.execute(query).scalar()
        if holder is not None:
            raise AccountError(f"{what} {value} exists already (account {holder})")
    if new.extension is not None and conn.execute(select(Did.id).where(Did.number == new.extension)).first():
        raise AccountError(f"{new.extension} is a DID (`asteriskbill dids list`): calls to it ring its own account")


def check_placement(new: NewAccount, parent: AccountState | None, parent_tariff: str | None, tariff) -> str:
    """The new account's currency: its own, else its tariff's or its company's, and the same as both
    (an account uses a tariff in its own currency); a child account needs a tariff, its own or its company's."""
    rules.check_parent(new.kind, parent)
    rules.check_pool(new.name, new.pool, parent, (new.daily_limit, new.monthly_limit))
    currency = _currency(new, parent, tariff)
    rules.check_currencies(new.name, currency, parent, tariff and (tariff.name, tariff.currency))
    if tariff is None and new.kind != rules.COMPANY and parent_tariff is None:
        article = "an" if new.kind == rules.EXTENSION else "a"
        raise AccountError(f"{article} {new.kind} account needs a tariff: its own, or its company's")
    return currency


def insert_account(
    conn: Connection,
    operator: str,
    new: NewAccount,
    parent_id: int | None,
    tariff_id: int | None,
    currency: str,
    status: str = rules.ACTIVE,
    source: str | None = None,
    *,
    plan_id: int | None = None,
    incoming_tariff_id: int | None = None,
) -> int:
    """Write a checked new account at balance 0, with its audit entry (``source``: the file it came from)."""
    account_id = conn.execute(
        insert(Account)
        .values(
            kind=new.kind,
            name=new.name,
            parent_id=parent_id,
            tariff_id=tariff_id,
            currency=currency,
            balance=0,
            credit_limit=new.credit_limit,
            status=status,
            max_calls=new.max_calls,
            extension=new.extension,
            accountcode=new.accountcode,
            booth=new.booth,
            pool=new.pool,
            daily_limit=new.daily_limit,
            monthly_limit=new.monthly_limit,
            plan_id=plan_id,
            plan_since=None if plan_id is None else utcnow(),
            incoming_tariff_id=incoming_tariff_id,
        )
        .returning(Account.id)
    ).scalar_one()
    detail = {
        "kind": new.kind,
        "parent": new.parent,
        "tariff": new.tariff,
        "currency": currency,
        "credit_limit": format_amount(new.credit_limit),
        "max_calls": new.max_calls,
        "extension": new.extension,
        "accountcode": new.accountcode,
        "booth": new.booth,
    }
    if new.pool != rules.OWN:
        detail |= {"pool": new.pool, "daily_limit": _limit(new.daily_limit), "monthly_limit": _limit(new.monthly_limit)}
    if status != rules.ACTIVE:
        detail["status"] = status
    if source is not None:
        detail["import"] = source
    if new.plan is not None:
        detail["plan"] = new.plan
    if new.incoming_tariff is not None:
        detail["incoming_tariff"] = new.incoming_tariff
    audit.record(conn, operator, "account.create", new.name, detail)
    return account_id


def _limit(amount: int | None) -> str | None:
    return None if amount is None else format_amount(amount)


def create(engine: Engine, operator: str, new: NewAccount) -> AccountView:
    check_new(new)
    try:
        with engine.begin() as conn:
            parent = find(conn, new.parent, lock=True) if new.parent else None
            tariff_id, tariff = sold_tariff(conn, new.tariff) if new.tariff else (None, None)
            currency, plan_id = check_plan_placement(conn, new, parent, tariff)
            incoming_id = incoming_tariff_id(conn, new.name, new.incoming_tariff, currency)
            check_free(conn, new)
            parent_id = parent.id if parent else None
            insert_account(
                conn, operator, new, parent_id, tariff_id, currency, plan_id=plan_id, incoming_tariff_id=incoming_id
            )
            return find(conn, new.name)
    except IntegrityError:  # a concurrent create took the name, extension or accountcode
        raise AccountError(f"account {new.name}: name, extension or accountcode is taken already") from None


def check_plan_placement(
    conn: Connection, new: NewAccount, parent: AccountView | None, tariff
) -> tuple[str, int | None]:
    """``check_placement`` with the account's plan, whose tariff serves when it has none of its own and whose
    currency it takes when nothing else names one: (its currency, its plan's id)."""
    plan = plans.find(conn, new.plan) if new.plan else None
    if plan is not None and new.booth:
        raise AccountError(f"booth {new.name} cannot go on a plan: its balance is its customer's money")
    if plan is not None and not (new.currency or tariff or parent):
        new = replace(new, currency=plan.currency)
    inherited = parent.tariff if parent else None  # a company's own: its plan's rates the company alone
    if inherited is None and plan is not None:
        inherited = plan.tariff
    currency = check_placement(new, parent.state if parent else None, inherited, tariff)
    if plan is None:
        return currency, None
    plans.check_account_currency(new.name, currency, plan)
    return currency, plan.id


def _currency(new: NewAccount, parent: AccountState | None, tariff) -> str:
    if new.currency:
        return parse_currency(new.currency)
    for source in (tariff, parent):
        if source is not None:
            return source.currency
    raise AccountError("give a currency, or a tariff or company to take it from")


def list_accounts(
    engine: Engine,
    kind: str | None = None,
    parent: str | None = None,
    search: str | None = None,
    *,
    status: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[AccountView]:
    """Accounts by name; cards only when ``kind`` is card (there are usually very many). ``status``: their own;
    ``after`` and ``limit``: a page of them, the names after ``after`` (keyset)."""
    query = _view_query().order_by(Account.name).limit(limit)
    if status is not None:
        if status not in rules.STATUSES:
            raise AccountError(f"unknown status {status!r}: use one of {', '.join(rules.STATUSES)}")
        query = query.where(Account.status == status)
    if after is not None:
        query = query.where(Account.name > after)
    if kind is not None:
        query = query.where(Account.kind == rules.check_kind(kind))
    else:
        query = query.where(Account.kind != rules.CARD)
    if search:
        pattern = f"%{search}%"
        query = query.where(
            or_(Account.name.ilike(pattern), Account.extension.ilike(pattern), Account.accountcode.ilike(pattern))
        )
    with engine.begin() as conn:
        if parent is not None:
            query = query.where(Account.parent_id == find(conn, parent).id)
        return [_view(row) for row in conn.execute(query)]


def show(engine: Engine, name: str) -> AccountView:
    with engine.begin() as conn:
        return find(conn, name)


def change_status(engine: Engine, operator: str, name: str, action: str) -> AccountView:
    """freeze, unfreeze or close an account; a company's children follow it through ``standing``."""
    with engine.begin() as conn:
        return set_status(conn, operator, find(conn, name, lock=True), action)


def set_status(conn: Connection, operator: str, account: AccountView, action: str, why: str = "") -> AccountView:
    """``change_status`` in the caller's transaction, of an account it found locked; ``why`` is audited with it
    (a plan's renewal freezing an account whose fee was not paid)."""
    if account.kind == rules.CARD:
        raise AccountError(f"{account.name} is a card: use `asteriskbill cards disable` or `cards delete`")
    status = rules.next_status(account.state, action)
    if status == rules.CLOSED:
        _check_no_open_children(conn, account)
    conn.execute(update(Account).where(Account.id == account.id).values(status=status))
    detail = {"status": status} | ({"reason": why} if why else {})
    audit.record(conn, operator, f"account.{action}", account.name, detail)
    return find(conn, account.name)


def _check_no_open_children(conn: Connection, company: AccountView) -> None:
    open_children = (
        conn.execute(
            select(Account.name)
            .where(Account.parent_id == company.id, Account.status != rules.CLOSED)
            .order_by(Account.name)
            .limit(3)
        )
        .scalars()
        .all()
    )
    if open_children:
        raise AccountError(
            f"company {company.name} still has open accounts ({', '.join(open_children)}): close them first"
        )


def post(
    engine: Engine,
    operator: str,
    name: str,
    kind: str,
    amount: int,
    reference: str | None = None,
    note: str | None = None,
    *,
    limits: Limits = CEILING,
    allow_duplicate_order: bool = False,
) -> tuple[AccountView, ledger.Entry]:
    """A recharge (``reference``: its order number, once per account unless ``allow_duplicate_order``),
    adjustment or refund by an operator, within ``limits``, with its audit entry."""
    with engine.begin() as conn:
        account = find(conn, name)
        if kind == RECHARGE:
            entry = ledger.recharge(
                conn,
                account.id,
                amount,
                operator=operator,
                limits=limits,
                order=reference,
                note=note,
                allow_duplicate_order=allow_duplicate_order,
            )
        else:
            entry = ledger.post(
                conn, account.id, kind, amount, operator=operator, reference=reference, note=note, limits=limits
            )
        audit.record(
            conn,
            operator,
            f"account.{kind}",
            name,
            {
                "amount": format_amount(amount),
                "currency": account.currency,
                "reference": reference,
                "note": note,
                "balance_after": format_amount(entry.balance_after),
            },
        )
        return replace(account, balance=entry.balance_after), entry


def history(
    engine: Engine, name: str, limit: int = HISTORY_LIMIT, after: int | None = None
) -> tuple[AccountView, list[ledger.Entry]]:
    """The account and its latest ledger entries, newest first (``after``: older than entry ``after``)."""
    with engine.begin() as conn:
        account = find(conn, name)
        return account, ledger.entries(conn, account.id, limit, after)
