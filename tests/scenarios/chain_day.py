"""Helpers of the chain-day scenario (tests/scenarios/test_chain_day.py): an API client that
says what a refused call answered, the `o2o` command through click's runner, a CAMT.053
statement built from the bank's lines."""
from __future__ import annotations

import uuid
from decimal import Decimal
from xml.sax.saxutils import escape

D = Decimal
PASSWORD = "Lantern-quartz-8841-violet"


class Api:
    """One API token's calls (real HTTP through the Flask test client); every call states
    the status it expects, and a different answer fails with the problem document."""

    def __init__(self, app, token: str, name: str):
        self.client, self.token, self.name = app.test_client(), token, name
        self.calls: list[tuple[str, str]] = []  # (METHOD, url) of every call, for the OpenAPI check

    def call(self, method: str, url: str, expect=200, *, raw=False, headers=None, **kw):
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        self.calls.append((method.upper(), url))
        r = getattr(self.client, method)(url, headers=headers, **kw)
        assert r.status_code == expect, (self.name, method.upper(), url, r.status_code, r.get_data(as_text=True)[:2000])
        return r if raw else r.get_json()

    def get(self, url, expect=200, **kw):
        return self.call("get", url, expect, **kw)

    def post(self, url, json=None, expect=200, **kw):
        return self.call("post", url, expect, json=json if json is not None else {}, **kw)

    def put(self, url, json=None, expect=200, **kw):
        return self.call("put", url, expect, json=json, **kw)

    def pdf(self, url, method="get", **kw) -> bytes:
        r = self.call(method, url, 200, raw=True, headers={"Accept-Language": "zh-CN"}, **kw)
        assert r.mimetype == "application/pdf", (url, r.mimetype)
        return r.data


def o2o(app, *args, input=None) -> str:
    """Run ``o2o ARGS``: the real ``o2o`` group (core's commands and every addon's) through
    click's runner, on the scenario's app; exit status 0 expected."""
    from core.cli import cli
    result = app.test_cli_runner().invoke(cli, args=list(args), input=input)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def new_user(app, username: str, *, roles=(), stores=(), superuser=False) -> Api:
    """A user made with ``o2o user create`` and an API token from ``o2o user token``."""
    args = ["user", "create", username, "--password-stdin"]
    for code in roles:
        args += ["--role", code]
    for code in stores:
        args += ["--store", code]
    if superuser:
        args.append("--superuser")
    o2o(app, *args, input=PASSWORD + "\n")
    out = o2o(app, "user", "token", username, "--name", f"scenario {username}")
    token = next(line.strip() for line in out.splitlines() if line.strip() and " " not in line.strip())
    return Api(app, token, username)


def key() -> dict:
    return {"Idempotency-Key": uuid.uuid4().hex}


def camt053(iban: str, opening: Decimal, entries: list[tuple[str, Decimal, str | None, str, str]]) -> bytes:
    """A CAMT.053 statement: entries are (booking date, signed amount, reference, text,
    counterparty); the opening and closing booked balances (OPBD/CLBD) frame them."""
    closing = opening + sum((e[1] for e in entries), D(0))

    def bal(code, amount, date):
        return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"CNY\">{abs(amount):.2f}</Amt>"
                f"<CdtDbtInd>{'DBIT' if amount < 0 else 'CRDT'}</CdtDbtInd><Dt><Dt>{date}</Dt></Dt></Bal>")
    ntry = []
    for i, (date, amount, ref, text, party) in enumerate(entries, 1):
        side = "Dbtr" if amount > 0 else "Cdtr"
        refs = f"<RmtInf><Strd><CdtrRefInf><Ref>{escape(ref)}</Ref></CdtrRefInf></Strd>" if ref else "<RmtInf>"
        ntry.append(
            f"<Ntry><Amt Ccy=\"CNY\">{abs(amount):.2f}</Amt><CdtDbtInd>{'DBIT' if amount < 0 else 'CRDT'}</CdtDbtInd>"
            f"<Sts>BOOK</Sts><BookgDt><Dt>{date}</Dt></BookgDt><ValDt><Dt>{date}</Dt></ValDt>"
            f"<AcctSvcrRef>SCN-{i:04d}</AcctSvcrRef><NtryDtls><TxDtls>"
            f"<RltdPties><{side}><Nm>{escape(party)}</Nm></{side}></RltdPties>"
            f"{refs}<Ustrd>{escape(text)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>")
    first, last = entries[0][0], entries[-1][0]
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>"
            "<GrpHdr><MsgId>SCN-1</MsgId><CreDtTm>2027-01-04T08:00:00</CreDtTm></GrpHdr>"
            f"<Stmt><Id>SCN-STMT-1</Id><Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>CNY</Ccy></Acct>"
            f"{bal('OPBD', opening, first)}{bal('CLBD', closing, last)}{''.join(ntry)}"
            "</Stmt></BkToCstmrStmt></Document>").encode("utf-8")
