"""``o2o finance ...``: import-statement, reconcile, report, backfill, lock-period."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from core.cli import transactional


@click.group("finance")
def finance_group():
    """Books, bank statements, reconciliation and reports."""


@finance_group.command("import-statement")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", help="bank account code (default: the only one, or the statement's IBAN)")
@click.option("--format", "fmt", type=click.Choice(["csv", "camt053"]), help="default: detected")
@transactional
def import_statement(path, bank, fmt):
    """Import a bank or provider statement (CSV with the bank's mapping, or CAMT.053)."""
    from addons.finance import services
    stmt = services.import_statement(path.read_bytes(), filename=path.name, bank_code=bank, format=fmt)
    click.echo(f"imported {stmt.line_count} lines ({stmt.date_from} to {stmt.date_to}, total "
               f"{services.fmt(stmt.total)}) into {stmt.bank_account.code} as statement {stmt.id}")


@finance_group.command("reconcile")
@click.option("--bank", help="only this bank account's lines")
@transactional
def reconcile(bank):
    """Match open statement lines with expected items by the matching rules."""
    from addons.finance import services
    result = services.auto_reconcile(bank)
    click.echo(f"matched {result['matched']} statement lines ({result['entries']} bank entries)")
    for rule, n in sorted(result["by_rule"].items()):
        click.echo(f"  {rule}: {n}")
    status = services.reconciliation_status()
    click.echo(f"still open: {status['open_statement_lines']} statement lines, "
               f"{status['open_expected_items']} expected items")


def _date(value):
    return dt.date.fromisoformat(value) if value else None


@finance_group.command("report")
@click.argument("kind", type=click.Choice(["reconciliation", "trial-balance", "journal"]))
@click.option("--store", "store_code", help="store code (reconciliation)")
@click.option("--from", "date_from", required=True, help="first day, YYYY-MM-DD")
@click.option("--to", "date_to", required=True, help="last day, YYYY-MM-DD")
@click.option("--journal", help="journal code (journal report)")
@click.option("--detail", is_flag=True, help="reconciliation: list every sales posting too")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@transactional
def report(kind, store_code, date_from, date_to, journal, detail, output):
    """Write a PDF report: reconciliation (per store), trial-balance or journal."""
    import sqlalchemy as sa
    from core.db import db
    from core.errors import ValidationError
    from core.models import Store
    from addons.finance import reports
    try:
        d0, d1 = _date(date_from), _date(date_to)
    except ValueError:
        raise ValidationError("dates are written YYYY-MM-DD") from None
    if kind == "reconciliation":
        if not store_code:
            raise ValidationError("the reconciliation report needs --store CODE")
        store = db.session.scalar(sa.select(Store).where(Store.code == store_code))
        if store is None:
            raise ValidationError(f"there is no store with code {store_code}")
        pdf, pages = reports.reconciliation_pdf(store.id, d0, d1, detail=detail)
    elif kind == "trial-balance":
        pdf, pages = reports.trial_balance_pdf(d0, d1)
    else:
        pdf, pages = reports.journal_pdf(journal, d0, d1)
    output.write_bytes(pdf)
    click.echo(f"wrote {output} ({pages} pages)")


@finance_group.command("backfill")
@click.option("--since", required=True, help="post documents dated from this day, YYYY-MM-DD")
@click.option("--until", help="up to this day (default: today)")
@transactional
def backfill(since, until):
    """Post past sales, till closes, receipts and bills that finance has not posted yet.

    Finance never posts the past on its own; this does, once: documents already posted are
    skipped, so running it again posts nothing new."""
    from core.errors import ValidationError
    from addons.finance import services
    try:
        d0, d1 = _date(since), _date(until)
    except ValueError:
        raise ValidationError("dates are written YYYY-MM-DD") from None
    result = services.backfill(d0, d1)
    click.echo(f"found {result['found']} documents, posted {result['posted']}, "
               f"{result['already_posted']} were already posted")


@finance_group.command("lock-period")
@click.argument("name")
@click.option("--from", "date_from", help="first day (when the period does not exist yet)")
@click.option("--to", "date_to", help="last day")
@transactional
def lock_period(name, date_from, date_to):
    """Lock an accounting period: nothing can be posted into it any more."""
    from addons.finance import services
    period = services.lock_period(name, _date(date_from), _date(date_to))
    click.echo(f"locked {period.name} ({period.date_from} to {period.date_to})")


@finance_group.command("ap-ageing")
@click.option("--as-of", "as_of", help="the day, YYYY-MM-DD (default: today)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="write the PDF here")
@transactional
def ap_ageing(as_of, output):
    """Accounts payable ageing per supplier: current, 1-30, 31-60, 61-90, over 90 days overdue."""
    from core.errors import ValidationError
    from addons.finance import ageing
    from addons.finance.services import fmt
    try:
        day = _date(as_of)
    except ValueError:
        raise ValidationError("dates are written YYYY-MM-DD") from None
    fig = ageing.ap_ageing(day)
    keys = [b["key"] for b in fig["buckets"]]
    click.echo("\t".join(["supplier"] + [b["title"] for b in fig["buckets"]] + ["not from bills", "total"]))
    for r in fig["rows"]:
        click.echo("\t".join([r["supplier"]] + [fmt(r[k]) for k in keys] + [fmt(r["not_from_bills"]),
                                                                          fmt(r["total"])]))
    click.echo("\t".join(["TOTAL"] + [fmt(fig["totals"][k]) for k in keys] + [fmt(fig["totals"]["not_from_bills"]),
                                                                             fmt(fig["totals"]["total"])]))
    click.echo(f"payable account balance {fmt(fig['account_balance'])} on {fig['as_of']}"
               + ("" if fig["agrees_with_books"] else " (DOES NOT AGREE)"))
    if output:
        pdf, pages = ageing.ap_ageing_pdf(day)
        output.write_bytes(pdf)
        click.echo(f"wrote {output} ({pages} pages)")


@finance_group.group("payment-run")
def payment_run_group():
    """Supplier payment runs: create (due bills), approve, export the payment file, post, cancel."""


def _run_line(run):
    from addons.finance.services import fmt
    return f"{run.number} (id {run.id}) {run.state}: {len(run.lines)} bills, total {fmt(run.total)}"


@payment_run_group.command("create")
@click.option("--due-by", help="bills due on or before this day, YYYY-MM-DD (default: today)")
@click.option("--supplier-id", "supplier_ids", type=int, multiple=True, help="only this supplier (repeatable)")
@click.option("--bank", help="bank account code paying (default: the only one)")
@click.option("--payment-date", help="YYYY-MM-DD (default: today)")
@click.option("--via", type=click.Choice(["clearing", "bank"]), default="clearing", show_default=True)
@click.option("--batch-booking", is_flag=True, help="the bank shows one line for the whole run")
@transactional
def payment_run_create(due_by, supplier_ids, bank, payment_date, via, batch_booking):
    """Select the open supplier bills due by a date into a draft run."""
    from addons.finance import payment_runs
    run = payment_runs.create_payment_run(due_by=due_by, partner_ids=list(supplier_ids), bank=bank,
                                          payment_date=payment_date, via=via, batch_booking=batch_booking)
    click.echo("created " + _run_line(run))


@payment_run_group.command("approve")
@click.argument("run_id", type=int)
@transactional
def payment_run_approve(run_id):
    """Approve a draft run."""
    from addons.finance import payment_runs
    click.echo("approved " + _run_line(payment_runs.approve_payment_run(run_id)))


@payment_run_group.command("export")
@click.argument("run_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@transactional
def payment_run_export(run_id, output):
    """Write the payment file (CSV, UTF-8 with BOM) of an approved run."""
    from addons.finance import payment_runs
    run, data = payment_runs.export_payment_run(run_id)
    output.write_bytes(data)
    click.echo(f"wrote {output} for " + _run_line(run))


@payment_run_group.command("post")
@click.argument("run_id", type=int)
@click.option("--date", "date", help="posting date, YYYY-MM-DD (default: the run's payment date)")
@transactional
def payment_run_post(run_id, date):
    """Post an exported run (payable debited per supplier)."""
    from addons.finance import payment_runs
    click.echo("posted " + _run_line(payment_runs.post_payment_run(run_id, date=date)))


@payment_run_group.command("cancel")
@click.argument("run_id", type=int)
@transactional
def payment_run_cancel(run_id):
    """Cancel a run that is not posted."""
    from addons.finance import payment_runs
    click.echo("cancelled " + _run_line(payment_runs.cancel_payment_run(run_id)))
