"""finance: manual entries, bank-line rules, statement balances, payment runs

Revision ID: finance_0003_bank_payments
Revises: finance_0002_perpetual
Create Date: 2026-12-03 11:00:00
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = 'finance_0003_bank_payments'
down_revision = 'finance_0002_perpetual'
branch_labels = None
depends_on = None


def _timestamps():
    return [sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False)]


def upgrade():
    # plain ALTER TABLE (no batch copy: SQLite would drop a table other tables point at)
    op.add_column('finance_csv_format', sa.Column('balance_column', sa.String(length=64), nullable=True))
    op.add_column('finance_statement', sa.Column('opening_balance', core.db.Money(), nullable=True))
    op.add_column('finance_statement', sa.Column('closing_balance', core.db.Money(), nullable=True))

    op.create_table('finance_manual_entry',
    sa.Column('journal_id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('memo', sa.String(length=256), nullable=True),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('total', core.db.Money(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('posted_by', sa.String(length=64), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('reversed_by', sa.String(length=64), nullable=True),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversal_entry_id', sa.Integer(), nullable=True),
    *_timestamps(),
    sa.CheckConstraint("state IN ('draft', 'posted', 'reversed')", name=op.f('ck_finance_manual_entry_state')),
    sa.ForeignKeyConstraint(['entry_id'], ['finance_entry.id'], name=op.f('fk_finance_manual_entry_entry_id_finance_entry')),
    sa.ForeignKeyConstraint(['journal_id'], ['finance_journal.id'], name=op.f('fk_finance_manual_entry_journal_id_finance_journal')),
    sa.ForeignKeyConstraint(['reversal_entry_id'], ['finance_entry.id'], name=op.f('fk_finance_manual_entry_reversal_entry_id_finance_entry')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_finance_manual_entry_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_manual_entry'))
    )
    with op.batch_alter_table('finance_manual_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_manual_entry_date'), ['date'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_manual_entry_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_manual_entry_store_id'), ['store_id'], unique=False)

    op.create_table('finance_manual_entry_line',
    sa.Column('manual_entry_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('debit', core.db.Money(), nullable=False),
    sa.Column('credit', core.db.Money(), nullable=False),
    sa.Column('label', sa.String(length=128), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.CheckConstraint('NOT (debit > 0 AND credit > 0)', name=op.f('ck_finance_manual_entry_line_one_side')),
    sa.CheckConstraint('debit >= 0 AND credit >= 0', name=op.f('ck_finance_manual_entry_line_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['finance_account.id'], name=op.f('fk_finance_manual_entry_line_account_id_finance_account')),
    sa.ForeignKeyConstraint(['manual_entry_id'], ['finance_manual_entry.id'], name=op.f('fk_finance_manual_entry_line_manual_entry_id_finance_manual_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_finance_manual_entry_line_partner_id_partner')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_finance_manual_entry_line_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_manual_entry_line'))
    )
    with op.batch_alter_table('finance_manual_entry_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_manual_entry_line_manual_entry_id'), ['manual_entry_id'], unique=False)

    op.create_table('finance_bank_line_rule',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('bank_account_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=16), nullable=False),
    sa.Column('pattern', sa.String(length=256), nullable=False),
    sa.Column('sign', sa.String(length=8), nullable=True),
    sa.Column('amount_min', core.db.Money(), nullable=True),
    sa.Column('amount_max', core.db.Money(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=128), nullable=True),
    *_timestamps(),
    sa.ForeignKeyConstraint(['account_id'], ['finance_account.id'], name=op.f('fk_finance_bank_line_rule_account_id_finance_account')),
    sa.ForeignKeyConstraint(['bank_account_id'], ['finance_bank_account.id'], name=op.f('fk_finance_bank_line_rule_bank_account_id_finance_bank_account')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_finance_bank_line_rule_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_bank_line_rule')),
    sa.UniqueConstraint('name', name=op.f('uq_finance_bank_line_rule_name'))
    )

    op.create_table('finance_partner_bank',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('account_number', sa.String(length=64), nullable=False),
    sa.Column('bank_name', sa.String(length=128), nullable=True),
    *_timestamps(),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_finance_partner_bank_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_partner_bank')),
    sa.UniqueConstraint('partner_id', name=op.f('uq_finance_partner_bank_partner_id'))
    )

    op.create_table('finance_payment_run',
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('bank_account_id', sa.Integer(), nullable=False),
    sa.Column('due_by', sa.Date(), nullable=False),
    sa.Column('payment_date', sa.Date(), nullable=False),
    sa.Column('credit_account_id', sa.Integer(), nullable=False),
    sa.Column('batch_booking', sa.Boolean(), nullable=False),
    sa.Column('total', core.db.Money(), nullable=False),
    sa.Column('note', sa.String(length=256), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exported_by', sa.String(length=64), nullable=True),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('posted_by', sa.String(length=64), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_by', sa.String(length=64), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    *_timestamps(),
    sa.CheckConstraint("state IN ('draft', 'approved', 'exported', 'posted', 'cancelled')", name=op.f('ck_finance_payment_run_state')),
    sa.ForeignKeyConstraint(['bank_account_id'], ['finance_bank_account.id'], name=op.f('fk_finance_payment_run_bank_account_id_finance_bank_account')),
    sa.ForeignKeyConstraint(['credit_account_id'], ['finance_account.id'], name=op.f('fk_finance_payment_run_credit_account_id_finance_account')),
    sa.ForeignKeyConstraint(['entry_id'], ['finance_entry.id'], name=op.f('fk_finance_payment_run_entry_id_finance_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_payment_run'))
    )
    with op.batch_alter_table('finance_payment_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_payment_run_state'), ['state'], unique=False)

    op.create_table('finance_payment_run_line',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('expected_id', sa.Integer(), nullable=False),
    sa.Column('active_expected_id', sa.Integer(), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('amount', core.db.Money(), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('payment_ref', sa.String(length=32), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['expected_id'], ['finance_expected_item.id'], name=op.f('fk_finance_payment_run_line_expected_id_finance_expected_item')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_finance_payment_run_line_partner_id_partner')),
    sa.ForeignKeyConstraint(['run_id'], ['finance_payment_run.id'], name=op.f('fk_finance_payment_run_line_run_id_finance_payment_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_payment_run_line')),
    sa.UniqueConstraint('active_expected_id', name=op.f('uq_finance_payment_run_line_active_expected_id'))
    )
    with op.batch_alter_table('finance_payment_run_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_payment_run_line_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_payment_run_line_run_id'), ['run_id'], unique=False)

    move_grants(op.get_bind())


def move_grants(conn):
    """The issue's permission code for posting manual entries replaces finance.entry.post:
    every role that had the old one keeps the right under the new name."""
    role_permission = sa.table('role_permission', sa.column('role_id', sa.Integer), sa.column('code', sa.String))
    has_new = {r[0] for r in conn.execute(sa.select(role_permission.c.role_id)
                                          .where(role_permission.c.code == 'finance.post_manual'))}
    for (role_id,) in conn.execute(sa.select(role_permission.c.role_id)
                                   .where(role_permission.c.code == 'finance.entry.post')).all():
        if role_id not in has_new:
            conn.execute(role_permission.insert().values(role_id=role_id, code='finance.post_manual'))
    conn.execute(role_permission.delete().where(role_permission.c.code == 'finance.entry.post'))


def downgrade():
    role_permission = sa.table('role_permission', sa.column('role_id', sa.Integer), sa.column('code', sa.String))
    op.get_bind().execute(role_permission.update().where(role_permission.c.code == 'finance.post_manual')
                          .values(code='finance.entry.post'))
    with op.batch_alter_table('finance_payment_run_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_payment_run_line_run_id'))
        batch_op.drop_index(batch_op.f('ix_finance_payment_run_line_partner_id'))
    op.drop_table('finance_payment_run_line')
    with op.batch_alter_table('finance_payment_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_payment_run_state'))
    op.drop_table('finance_payment_run')
    op.drop_table('finance_partner_bank')
    op.drop_table('finance_bank_line_rule')
    with op.batch_alter_table('finance_manual_entry_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_manual_entry_line_manual_entry_id'))
    op.drop_table('finance_manual_entry_line')
    with op.batch_alter_table('finance_manual_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_manual_entry_store_id'))
        batch_op.drop_index(batch_op.f('ix_finance_manual_entry_state'))
        batch_op.drop_index(batch_op.f('ix_finance_manual_entry_date'))
    op.drop_table('finance_manual_entry')
    op.drop_column('finance_statement', 'closing_balance')
    op.drop_column('finance_statement', 'opening_balance')
    op.drop_column('finance_csv_format', 'balance_column')
