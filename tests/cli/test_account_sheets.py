"""`accounts import` and `accounts export` through the real command, on every backend: good files as
CSV and XLSX, every bad line named by its number with nothing written, and the export round trip."""

import csv
import io
import json

import openpyxl
import pytest

from asteriskbill.services.account_sheets import EXPORT_TYPES, FIELDS
from asteriskbill.store.base import Base
from tests.helpers.sheets import as_xlsx, xlsx_cells

HEADER = ",".join(FIELDS[:-1])  # all but balance


@pytest.fixture
def acme(cli):
    """Tariffs retail (USD) and euro (EUR); company acme (retail) with extension acme-0001 (101, ACME-1)."""
    cli("tariff", "create", "retail", "--currency", "USD")
    cli("tariff", "create", "euro", "--currency", "EUR")
    cli("accounts", "create", "company", "acme", "--tariff", "retail")
    cli(
        "accounts",
        "create",
        "extension",
        "acme-0001",
        "--parent",
        "acme",
        "--extension",
        "101",
        "--accountcode",
        "ACME-1",
    )
    return cli


def write(tmp_path, text: str, name: str = "accounts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def listed(cli, *args) -> dict[str, dict]:
    return {a["name"]: a for a in json.loads(cli("accounts", "list", "--json", *args).stdout)}


def exported(cli, *args) -> list[dict]:
    return list(csv.DictReader(io.StringIO(cli("accounts", "export", *args).stdout)))


# --- good files ---------------------------------------------------------------------------------------

GOOD = """\
kind,name,parent,tariff,currency,credit_limit,max_calls,extension,accountcode,status
extension,beta-1,beta,,,2.50,2,201,BETA-1,
extension,beta-2,beta,,EUR,,,202,,frozen
gateway,beta-gw,beta,,,,,,BETA-GW,
company,beta,,euro,,,,,,
extension,acme-0002,acme,,,,1,102,ACME-2,active
extension,solo,,retail,USD,0,,300,,
Company,Gamma,,,CRD,,,,,
"""
BOOTHS = """kind,name,tariff,extension,booth
extension,booth-1,retail,301,yes
extension,desk,retail,302,no
"""


def test_csv_import_creates_every_account_companies_before_their_accounts(acme, tmp_path):
    result = acme("accounts", "import", write(tmp_path, GOOD))
    assert result.stdout == "imported 7 accounts from accounts.csv: 2 companies, 4 extensions, 1 gateway\n"
    found = listed(acme)
    assert (
        found["beta-1"]["parent"],
        found["beta-1"]["effective_tariff"],
        found["beta-1"]["currency"],
        found["beta-1"]["credit_limit"],
        found["beta-1"]["max_calls"],
        found["beta-1"]["extension"],
        found["beta-1"]["accountcode"],
    ) == ("beta", "euro", "EUR", "2.50", 2, "201", "BETA-1")
    assert (found["beta-2"]["status"], found["beta-gw"]["kind"], found["beta"]["tariff"]) == (
        "frozen",
        "gateway",
        "euro",
    )
    assert (found["acme-0002"]["parent"], found["acme-0002"]["currency"]) == ("acme", "USD")  # a company already there
    assert (found["solo"]["parent"], found["solo"]["tariff"], found["Gamma"]["currency"]) == (None, "retail", "CRD")
    assert all(a["balance"] == "0.00" for a in found.values())
    log = json.loads(acme("audit", "list", "--json").stdout)
    created = [e for e in log if e["action"] == "account.create" and e["detail"].get("import") == "accounts.csv"]
    assert sorted(e["subject"] for e in created) == sorted(
        ["beta-1", "beta-2", "beta-gw", "beta", "acme-0002", "solo", "Gamma"]
    )
    assert [e["detail"] for e in log if e["action"] == "accounts.import"] == [
        {"company": 2, "extension": 4, "gateway": 1}
    ]


def test_closed_accounts_of_a_closed_company_are_history_kept_as_is(acme, tmp_path):
    acme(
        "accounts",
        "import",
        write(tmp_path, f"{HEADER}\nextension,old-1,old,,,,,,,closed\ncompany,old,,retail,,,,,,closed\n"),
    )
    found = listed(acme)
    assert (found["old"]["status"], found["old-1"]["status"], found["old-1"]["parent"]) == ("closed", "closed", "old")
    refused = acme("accounts", "import", write(tmp_path, f"{HEADER}\nextension,new-1,old,,,,,,,\n"), ok=False)
    assert "line 2: company old is closed" in refused.stderr


def test_booths(acme, tmp_path):
    acme("accounts", "import", write(tmp_path, BOOTHS))
    assert [(a["booth"], a["credit_limit"]) for a in (listed(acme)["booth-1"], listed(acme)["desk"])] == [
        (True, "0.00"),
        (False, "0.00"),
    ]
    assert [r["booth"] for r in exported(acme) if r["name"] in ("booth-1", "desk")] == ["yes", ""]


def test_xlsx_import_reads_numbers_a_spreadsheet_made(acme, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["Name", "Kind", "Parent", "Extension", "Credit_Limit", "Max_Calls"])
    book.active.append(["acme-0102", "extension", "acme", 102, 0.5, 3.0])
    book.active.append([None, None, None, None, None, None])  # an empty row is skipped
    book.active.append(["acme-0103", "extension", "acme", "0103", None, None])
    book.save(tmp_path / "typed.xlsx")
    result = acme("accounts", "import", tmp_path / "typed.xlsx", "--json")
    assert json.loads(result.stdout) == {
        "file": "typed.xlsx",
        "created": {"company": 0, "extension": 2, "gateway": 0},
        "total": 2,
        "balance_column": None,
    }
    found = listed(acme)
    assert (found["acme-0102"]["extension"], found["acme-0102"]["credit_limit"], found["acme-0102"]["max_calls"]) == (
        "102",
        "0.50",
        3,
    )
    assert found["acme-0103"]["extension"] == "0103"


# --- bad lines -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lines, errors",
    [
        (["extension,x,nope,,,,,,,"], ["line 2: no company named 'nope' in the file or the database"]),
        (["extension,x,acme-0001,,,,,,,"], ["line 2: acme-0001 is not a company"]),
        (["extension,y,,retail,,,,,,", "extension,x,y,,,,,,,"], ["line 3: parent y is not a company (line 2 has it"]),
        (["company,b,,retail,,,,,,", "extension,x,b,,,,,,,", "extension,x,b,,,,,,,"], ["line 4: name x is on line 3"]),
        (["extension,x,acme,,,,,555,,", "extension,y,acme,,,,,555,,"], ["line 3: extension 555 is on line 2 already"]),
        (["extension,x,acme,,,,,,AC,", "gateway,y,acme,,,,,,AC,"], ["line 3: accountcode AC is on line 2 already"]),
        (["extension,acme-0001,acme,,,,,,,"], ["line 2: an account named acme-0001 exists already"]),
        (["extension,x,acme,,,,,101,,"], ["line 2: extension 101 exists already (account acme-0001)"]),
        (["gateway,x,acme,,,,,,ACME-1,"], ["line 2: accountcode ACME-1 exists already (account acme-0001)"]),
        (
            ["extension,x,,retail,EUR,,,,,"],
            ["line 2: tariff retail is in USD, account x is in EUR: an account uses a tariff in its own currency"],
        ),
        (["company,c,,euro,USD,,,,,"], ["line 2: tariff euro is in EUR, account c is in USD"]),
        (["extension,x,acme,euro,,,,,,"], ["line 2: x is in EUR but company acme is in USD"]),
        (["company,b,,euro,,,,,,", "extension,x,b,retail,,,,,,"], ["line 3: x is in USD but company b is in EUR"]),
        (["extension,x,acme,,,1.2.3,,,,"], ["line 2: credit_limit '1.2.3' is not a decimal number"]),
        (["extension,x,acme,,,-5,,,,"], ["line 2: credit_limit '-5' must not be negative"]),
        (["extension,x,acme,,,0.0000001,,,,"], ["line 2: credit_limit '0.0000001' has more than 6 decimals"]),
        (["extension,x,acme,,,,0,,,"], ["line 2: max_calls '0' must be a whole number of calls, at least 1"]),
        (["extension,x,acme,,,,two,,,"], ["line 2: max_calls 'two' must be a whole number"]),
        (["card,x,,retail,,,,,,"], ["line 2: kind 'card' must be one of company, extension, gateway (cards: "]),
        ([",x,,retail,,,,,,"], ["line 2: kind '' must be one of"]),
        (["extension,x,acme,,,,,,,paused"], ["line 2: status 'paused' must be one of active, frozen, closed"]),
        (["extension,x,acme,,,,,,,,maybe"], ["line 2: booth 'maybe' must be yes or no"]),
        (["gateway,x,acme,,,,,,,,yes"], ["line 2: --booth is for extension accounts"]),
        (["extension,x,acme,,,5,,,,,yes"], ["line 2: a booth's credit limit is set by `asteriskbill callshop start`"]),
        (["extension,x,,nope,,,,,,"], ["line 2: no tariff named 'nope'"]),
        (["company,c,,retail,,,,9,,"], ["line 2: an extension number is for extension accounts only"]),
        (["extension,x,,,USD,,,,,"], ["line 2: an extension account needs a tariff: its own, or its company's"]),
        (["extension,,acme,,,,,,,"], ["line 2: an account needs a name"]),
        (["company,c,acme,retail,,,,,,"], ["line 2: a company account cannot belong to a company"]),
        (["extension,x,,retail,DOLLAR,,,,,"], ["line 2: currency 'DOLLAR' must be three letters"]),
        (["extension," + "n" * 101 + ",acme,,,,,,,"], ["line 2: name is 101 characters long, at most 100 fit"]),
        (["extension,x,acme,,,,,,,,,extra"], ["line 2: 12 fields, but the header has 11 columns"]),
        (
            ["company,b,,retail,,,,,,closed", "extension,x,b,,,,,,,", "extension,y,b,,,,,,,closed"],
            ["line 2: company b is closed but its accounts on lines 3 are not: close them too"],
        ),
        (
            ["company,b,,nope,,,,,,", "extension,x,b,,,,,,,"],
            ["line 2: no tariff named 'nope'", "line 3: its company b (line 2) has errors"],
        ),
        (
            ["extension,x,acme,,,,0,,,", "extension,y,acme,,,,,101,,", "extension,z,nope,,,,,,,"],
            [
                "3 error(s)",
                "line 2: max_calls",
                "line 3: extension 101 exists already",
                "line 4: no company named 'nope'",
            ],
        ),
    ],
)
def test_bad_lines_are_named_and_nothing_is_written(acme, tmp_path, snapshot, lines, errors):
    # a good line first and last: they are not written either
    text = "\n".join([HEADER, *lines, "extension,good,acme,,,,,,,"]) + "\n"
    before = snapshot()
    result = acme("accounts", "import", write(tmp_path, text), ok=False)
    assert "accounts.csv:" in result.stderr and "nothing was imported" in result.stderr
    for error in errors:
        assert error in result.stderr
    assert snapshot() == before


def test_errors_are_listed_in_line_order(acme, tmp_path):
    text = f"{HEADER}\nextension,a,nope,,,,,,,\ncompany,b,,retail,,,,2,,\nextension,c,,,,,,,,\n"
    errors = acme("accounts", "import", write(tmp_path, text), ok=False).stderr.splitlines()[1:]
    assert errors == [
        "  line 2: no company named 'nope' in the file or the database",
        "  line 3: an extension number is for extension accounts only",
        "  line 4: give a currency, or a tariff or company to take it from",
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("kind,name,colour\ncompany,c,red\n", "unknown column 'colour' in the header"),
        ("name,currency\nc,USD\n", "the header has no 'kind' column"),
        ("kind,currency\ncompany,USD\n", "the header has no 'name' column"),
        ("kind,name,Name\ncompany,c,d\n", "column 'name' appears twice"),
        ("", "accounts.csv is empty: expected a header row"),
    ],
)
def test_file_errors(acme, tmp_path, snapshot, text, message):
    before = snapshot()
    result = acme("accounts", "import", write(tmp_path, text), ok=False)
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert snapshot() == before


def test_not_a_workbook(acme, tmp_path):
    assert (
        "bad.xlsx is not an XLSX workbook"
        in acme("accounts", "import", write(tmp_path, "x", "bad.xlsx"), ok=False).stderr
    )


# --- export and the round trip --------------------------------------------------------------------------


def empty(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def world(acme, tmp_path):
    """acme and beta with extensions and gateways, statuses, limits, balances, one account with no company."""
    acme("accounts", "create", "company", "beta", "--tariff", "euro", "--accountcode", "BETA")
    acme(
        "accounts",
        "create",
        "extension",
        "beta-1",
        "--parent",
        "beta",
        "--extension",
        "0201",
        "--max-calls",
        "2",
        "--credit-limit",
        "7.25",
    )
    acme("accounts", "create", "gateway", "beta-gw", "--parent", "beta", "--tariff", "euro")
    acme("accounts", "create", "gateway", "lone-gw", "--tariff", "retail", "--accountcode", "LONE")
    acme("accounts", "create", "extension", "acme-0002", "--parent", "acme", "--extension", "102")
    acme("accounts", "recharge", "acme-0001", "12.5")
    acme("accounts", "freeze", "beta-1")
    acme("accounts", "close", "acme-0002")
    acme("cards", "generate", "--count", "2", "--value", "1", "--tariff", "retail", "-o", tmp_path / "cards.csv")
    return acme


def test_export_lists_companies_first_with_balances(world):
    rows = exported(world)
    assert [(r["kind"], r["name"]) for r in rows] == [
        ("company", "acme"),
        ("company", "beta"),
        ("extension", "acme-0001"),
        ("extension", "acme-0002"),
        ("extension", "beta-1"),
        ("gateway", "beta-gw"),
        ("gateway", "lone-gw"),
    ]  # no cards
    assert rows[2] == {
        "kind": "extension",
        "name": "acme-0001",
        "parent": "acme",
        "tariff": "",
        "currency": "USD",
        "credit_limit": "0.00",
        "max_calls": "",
        "extension": "101",
        "accountcode": "ACME-1",
        "status": "active",
        "booth": "",
        "balance": "12.50",
    }
    assert (rows[4]["extension"], rows[4]["credit_limit"], rows[4]["max_calls"], rows[4]["status"]) == (
        "0201",
        "7.25",
        "2",
        "frozen",
    )
    assert [r["name"] for r in exported(world, "--parent", "beta")] == ["beta", "beta-1", "beta-gw"]
    assert [r["name"] for r in exported(world, "--kind", "gateway")] == ["beta-gw", "lone-gw"]
    assert [r["name"] for r in exported(world, "--kind", "company", "--parent", "acme")] == ["acme"]
    assert "no account named 'nobody'" in world("accounts", "export", "--parent", "nobody", ok=False).stderr
    assert "'card' is not one of" in world("accounts", "export", "--kind", "card", ok=False).stderr


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_into_an_empty_database_round_trips(world, engine, tmp_path, suffix):
    first = world("accounts", "export").stdout
    world("accounts", "export", "-o", tmp_path / f"all{suffix}")
    empty(engine)
    world("tariff", "create", "retail", "--currency", "USD")
    world("tariff", "create", "euro", "--currency", "EUR")
    result = world("accounts", "import", tmp_path / f"all{suffix}")
    assert "imported 7 accounts" in result.stdout
    assert "the balance column was ignored: balances change only through the ledger" in result.stdout
    again = list(csv.DictReader(io.StringIO(world("accounts", "export").stdout)))
    assert again == [{**row, "balance": "0.00"} for row in csv.DictReader(io.StringIO(first))]


def test_export_to_xlsx_types_amounts_and_keeps_text(world, tmp_path):
    assert (
        world("accounts", "export", "-o", tmp_path / "all.xlsx").stderr
        == f"exported 7 accounts to {tmp_path / 'all.xlsx'}\n"
    )
    expected = as_xlsx(world("accounts", "export").stdout, EXPORT_TYPES)
    assert xlsx_cells(tmp_path / "all.xlsx") == expected  # "0201" keeps its zero, balances are numbers
