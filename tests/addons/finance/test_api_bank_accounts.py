"""The company's bank accounts and the suppliers' bank accounts through the API (what the
admin's Bank accounts and Supplier bank accounts screens do): happy paths, IBAN check,
duplicates, ugly input and refusals that change nothing."""
import pytest
import sqlalchemy as sa

from addons.finance.bank_accounts import normalise_iban
from addons.finance.models import BankAccount, PartnerBankAccount
from core.errors import ValidationError
from core.models import Partner

API = "/api/v1/finance"
PROBLEM = "application/problem+json"
HUGE = 2**40
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"
GOOD_IBAN_2 = "GB82WEST12345698765432"


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json()


def banks(session):
    session.expire_all()
    return session.execute(sa.select(BankAccount.id, BankAccount.code, BankAccount.name, BankAccount.iban,
                                     BankAccount.account_id, BankAccount.active).order_by(BankAccount.id)).all()


def supplier_banks(session):
    session.expire_all()
    return session.execute(sa.select(PartnerBankAccount.id, PartnerBankAccount.partner_id,
                                     PartnerBankAccount.account_number, PartnerBankAccount.bank_name)
                           .order_by(PartnerBankAccount.id)).all()


@pytest.fixture
def api(api_client):
    return api_client("finance.bank.read", "finance.bank.create", "finance.bank.edit")


@pytest.fixture
def suppliers(session):
    rows = [Partner(name="Bright Dairy", is_supplier=True), Partner(name="Nongfu Spring", is_supplier=True)]
    session.add_all(rows)
    session.commit()
    return rows


def test_iban_check():
    assert normalise_iban(GOOD_IBAN) == "DE89370400440532013000"
    assert normalise_iban("gb82 west 1234 5698 7654 32") == GOOD_IBAN_2
    for bad in ("DE88370400440532013000", "DE89", "1234567890123456", "DE89-3704-0044", ""):
        with pytest.raises(ValidationError):
            normalise_iban(bad)


def test_bank_accounts_list_create_change(api, session):
    r = api.post(f"{API}/bank-accounts", json={"code": "ICBC", "name": "ICBC Shanghai", "iban": GOOD_IBAN,
                                               "account": "1000", "journal": "BANK", "csv_format": "generic"})
    assert r.status_code == 201, r.get_json()
    bank = r.get_json()
    assert bank["iban"] == "DE89370400440532013000" and bank["account"] == "1000" and bank["journal"] == "BANK"
    assert bank["csv_format"] == "generic" and bank["active"] is True and bank["store_id"] is None
    page = api.get(f"{API}/bank-accounts?per_page=1").get_json()
    assert page["total"] == 2 and page["has_next"] is True  # MAIN from the finance setup, and ICBC
    assert [b["code"] for b in api.get(f"{API}/bank-accounts?q=shanghai").get_json()["items"]] == ["ICBC"]
    r = api.patch(f"{API}/bank-accounts/{bank['id']}", json={"name": "ICBC Pudong", "iban": None,
                                                              "csv_format": None, "active": False})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["iban"] is None and r.get_json()["csv_format"] is None
    assert api.get(f"{API}/bank-accounts/{bank['id']}").get_json()["name"] == "ICBC Pudong"
    assert [b["code"] for b in api.get(f"{API}/bank-accounts?active=false").get_json()["items"]] == ["ICBC"]
    assert session.get(BankAccount, bank["id"]).active is False


@pytest.mark.parametrize("body", [
    {"code": "B1", "name": "x", "account": "1000", "journal": "BANK", "iban": "DE88370400440532013000"},  # check
    {"code": "B1", "name": "x", "account": "1000", "journal": "BANK", "iban": "not an iban"},
    {"code": "B1", "name": "x", "account": "9999", "journal": "BANK"},      # no such account
    {"code": "B1", "name": "x", "account": "1000", "journal": "NOPE"},
    {"code": "B1", "name": "x", "account": "1000", "journal": "BANK", "csv_format": "nope"},
    {"code": "B1", "name": "x", "account": "1000", "journal": "BANK", "store_id": HUGE},
    {"code": "B1", "name": "x", "account": "1000", "journal": "BANK", "store_id": 999999},
    {"code": "B1", "name": "x", "account": "1000", "journal": "BANK", "store_id": "one"},
    {"code": "B 1", "name": "x", "account": "1000", "journal": "BANK"},
    {"code": "B1\x00", "name": "x", "account": "1000", "journal": "BANK"},
    {"code": "B1", "name": "nul\x00", "account": "1000", "journal": "BANK"},
    {"code": "B1", "name": "", "account": "1000", "journal": "BANK"},
    {"code": "B1", "name": "x", "account": 1000, "journal": "BANK"},        # wrong type
    {"code": "B1", "name": "x", "account": "1000"},                         # journal missing
    {"code": "B1", "name": "x", "account": "1000", "journal": "BANK", "active": "perhaps"},
    {"code": "B1", "name": "x", "account": "1000", "journal": "BANK", "extra": 1},
])
def test_bad_bank_accounts_are_422_and_change_nothing(api, session, body):
    before = banks(session)
    problem(api.post(f"{API}/bank-accounts", json=body), 422)
    assert banks(session) == before


def test_bank_account_duplicates_unknown_ids_and_permissions(api, api_client, session):
    base = {"name": "x", "account": "1000", "journal": "BANK"}
    first = api.post(f"{API}/bank-accounts", json={**base, "code": "B1", "iban": GOOD_IBAN}).get_json()
    assert "MAIN" in problem(api.post(f"{API}/bank-accounts", json={**base, "code": "MAIN"}), 409)["detail"]
    problem(api.post(f"{API}/bank-accounts", json={**base, "code": "B2", "iban": "de89370400440532013000"}), 409)
    other = api.post(f"{API}/bank-accounts", json={**base, "code": "B2"}).get_json()
    before = banks(session)
    problem(api.patch(f"{API}/bank-accounts/{other['id']}", json={"code": "B1"}), 409)
    problem(api.patch(f"{API}/bank-accounts/{other['id']}", json={"iban": GOOD_IBAN}), 409)
    problem(api.patch(f"{API}/bank-accounts/{other['id']}", json={"account": None}), 422)
    problem(api.patch(f"{API}/bank-accounts/{other['id']}", json={"account": "9999"}), 422)
    for url in (f"{API}/bank-accounts/{HUGE}", f"{API}/bank-accounts/{2**31}", f"{API}/bank-accounts/999999"):
        problem(api.get(url), 404)
        problem(api.patch(url, json={"name": "x"}), 404)
    problem(api.get(f"{API}/bank-accounts/abc"), 404)
    problem(api.get(f"{API}/bank-accounts?q=x%00"), 422)
    reader = api_client("finance.bank.read")
    assert problem(reader.post(f"{API}/bank-accounts", json={**base, "code": "B3"}), 403)["permission"] \
        == "finance.bank.create"
    problem(reader.patch(f"{API}/bank-accounts/{first['id']}", json={"name": "y"}), 403)
    problem(api_client("finance.payment_run.read").get(f"{API}/bank-accounts"), 403)
    assert banks(session) == before


def test_supplier_bank_accounts_list_create_change(api_client, session, suppliers):
    api = api_client("finance.payment_run.read", "finance.payment_run.create", "finance.payment_run.edit")
    dairy, spring = suppliers
    r = api.post(f"{API}/supplier-bank-accounts", json={"partner_id": dairy.id, "account_number": GOOD_IBAN,
                                                        "bank_name": "Deutsche Bank"})
    assert r.status_code == 201, r.get_json()
    row = r.get_json()
    assert row == {"id": row["id"], "partner_id": dairy.id, "partner": "Bright Dairy",
                   "account_number": "DE89370400440532013000", "bank_name": "Deutsche Bank"}
    local = api.post(f"{API}/supplier-bank-accounts", json={"partner_id": spring.id,
                                                            "account_number": "6222 0210 0104 5678"}).get_json()
    assert local["account_number"] == "6222 0210 0104 5678"  # a local number is kept as typed
    assert [x["partner"] for x in api.get(f"{API}/supplier-bank-accounts").get_json()["items"]] \
        == ["Bright Dairy", "Nongfu Spring"]
    assert [x["id"] for x in api.get(f"{API}/supplier-bank-accounts?q=deutsche").get_json()["items"]] == [row["id"]]
    assert api.get(f"{API}/supplier-bank-accounts?partner_id={spring.id}").get_json()["total"] == 1
    r = api.patch(f"{API}/supplier-bank-accounts/{row['id']}", json={"account_number": GOOD_IBAN_2, "bank_name": None})
    assert r.status_code == 200 and r.get_json()["account_number"] == GOOD_IBAN_2 and r.get_json()["bank_name"] is None
    assert api.get(f"{API}/supplier-bank-accounts/{row['id']}").get_json()["account_number"] == GOOD_IBAN_2


def test_supplier_bank_account_refusals_change_nothing(api_client, session, suppliers):
    api = api_client("finance.payment_run.read", "finance.payment_run.create", "finance.payment_run.edit")
    dairy, spring = suppliers
    row = api.post(f"{API}/supplier-bank-accounts", json={"partner_id": dairy.id, "account_number": "123"}).get_json()
    before = supplier_banks(session)
    url = f"{API}/supplier-bank-accounts"
    assert "Bright Dairy" in problem(api.post(url, json={"partner_id": dairy.id, "account_number": "9"}), 409)["detail"]
    for body in ({"partner_id": spring.id, "account_number": "DE88370400440532013000"},  # wrong check digits
                 {"partner_id": spring.id, "account_number": ""},
                 {"partner_id": spring.id, "account_number": "12\x003"},
                 {"partner_id": spring.id, "account_number": 123},
                 {"partner_id": HUGE, "account_number": "1"},
                 {"partner_id": 999999, "account_number": "1"},
                 {"partner_id": "x", "account_number": "1"},
                 {"account_number": "1"},
                 {"partner_id": spring.id, "account_number": "1", "iban": "x"}):
        problem(api.post(url, json=body), 422)
    problem(api.patch(f"{url}/{row['id']}", json={"account_number": None}), 422)
    problem(api.patch(f"{url}/{row['id']}", json={"account_number": "GB00WEST12345698765432"}), 422)
    for bad in (f"{url}/{HUGE}", f"{url}/{2**31}", f"{url}/999999"):
        problem(api.get(bad), 404)
        problem(api.patch(bad, json={"bank_name": "x"}), 404)
    reader = api_client("finance.payment_run.read")
    assert problem(reader.post(url, json={"partner_id": spring.id, "account_number": "1"}), 403)["permission"] \
        == "finance.payment_run.create"
    problem(reader.patch(f"{url}/{row['id']}", json={"bank_name": "x"}), 403)
    problem(api_client("finance.bank.read").get(url), 403)
    assert supplier_banks(session) == before


def test_admin_checks_the_iban_as_the_api_does(client_as, session, suppliers):
    client = client_as(superuser=True)
    before = supplier_banks(session)
    r = client.submit("/admin/finance_partner_bank/new/", {"partner": str(suppliers[0].id),
                                                           "account_number": "DE88370400440532013000"})
    assert r.status_code == 200 and "check digits" in r.get_data(as_text=True)
    assert supplier_banks(session) == before
    r = client.submit("/admin/finance_partner_bank/new/", {"partner": str(suppliers[0].id),
                                                           "account_number": GOOD_IBAN})
    assert r.status_code == 302
    assert supplier_banks(session)[-1].account_number == "DE89370400440532013000"
