"""pos: refused till sales that need attention (the money was taken: nothing is lost)

Revision ID: pos_0002
Revises: pos_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "pos_0002"
down_revision = "pos_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pos_attention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("total", sa.String(length=24), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("error_status", sa.Integer(), nullable=True),
        sa.Column("error_type", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=256), nullable=True),
        sa.Column("sale_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["register_id"], ["pos_register.id"],
                                name=op.f("fk_pos_attention_register_id_pos_register")),
        sa.ForeignKeyConstraint(["reported_by_id"], ["user_account.id"],
                                name=op.f("fk_pos_attention_reported_by_id_user_account")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["user_account.id"],
                                name=op.f("fk_pos_attention_resolved_by_id_user_account")),
        sa.ForeignKeyConstraint(["sale_id"], ["pos_sale.id"], name=op.f("fk_pos_attention_sale_id_pos_sale")),
        sa.ForeignKeyConstraint(["session_id"], ["pos_session.id"],
                                name=op.f("fk_pos_attention_session_id_pos_session")),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"], name=op.f("fk_pos_attention_store_id_store")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_attention")),
        sa.UniqueConstraint("register_id", "idempotency_key",
                            name=op.f("uq_pos_attention_register_id_idempotency_key")),
    )
    op.create_index("ix_pos_attention_register_state", "pos_attention", ["register_id", "state"])
    op.create_index(op.f("ix_pos_attention_store_id"), "pos_attention", ["store_id"])


def downgrade():
    op.drop_index(op.f("ix_pos_attention_store_id"), table_name="pos_attention")
    op.drop_index("ix_pos_attention_register_state", table_name="pos_attention")
    op.drop_table("pos_attention")
