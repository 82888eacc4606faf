"""finance: perpetual inventory accounts, roles and journal in existing books

Books created before perpetual inventory get what ``create_base_data`` now creates: the
accounts 5100 (purchase price variance) and 5200 (stock losses), the roles ``cogs``,
``stock_loss``, ``scrap``, ``price_variance`` and ``stock_transit``, and the STOCK journal.
Nothing is added to a database whose chart was never loaded (base data does it then), and
nothing a user configured is changed (a role already set keeps its account).

Revision ID: finance_0002_perpetual
Revises: finance_0001
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = "finance_0002_perpetual"
down_revision = "finance_0001"
branch_labels = None
depends_on = None

ACCOUNTS = [("5100", "Purchase price variance", "expense"),
            ("5200", "Stock losses (shrinkage and scrap)", "expense")]
ROLES = {"cogs": "5000", "stock_loss": "5200", "scrap": "5200", "price_variance": "5100", "stock_transit": "1300"}


def upgrade():
    bind = op.get_bind()
    accounts = dict(bind.execute(sa.text("SELECT code, id FROM finance_account")).all())
    if "1300" not in accounts:
        return  # no chart yet: the base data brings everything
    now = dt.datetime.now(dt.timezone.utc)
    for code, name, type_ in ACCOUNTS:
        if code not in accounts:
            bind.execute(sa.text("INSERT INTO finance_account (code, name, type, reconcilable, active, created_at, "
                                 "updated_at) VALUES (:c, :n, :t, :f, :a, :now, :now)"),
                         {"c": code, "n": name, "t": type_, "f": False, "a": True, "now": now})
    accounts = dict(bind.execute(sa.text("SELECT code, id FROM finance_account")).all())
    roles = {r for (r,) in bind.execute(sa.text("SELECT role FROM finance_account_role"))}
    for role, code in ROLES.items():
        if role not in roles and code in accounts:
            bind.execute(sa.text("INSERT INTO finance_account_role (role, account_id) VALUES (:r, :a)"),
                         {"r": role, "a": accounts[code]})
    if bind.execute(sa.text("SELECT id FROM finance_journal WHERE code = 'STOCK'")).first() is None:
        bind.execute(sa.text("INSERT INTO finance_journal (code, name, kind, default_account_id, active, created_at, "
                             "updated_at) VALUES ('STOCK', 'Stock valuation', 'general', :a, :t, :now, :now)"),
                     {"a": accounts["1300"], "t": True, "now": now})


def downgrade():
    # the accounts may carry postings: leave the chart as it is, only the roles go
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM finance_account_role WHERE role IN "
                         "('cogs', 'stock_loss', 'scrap', 'price_variance', 'stock_transit')"))
