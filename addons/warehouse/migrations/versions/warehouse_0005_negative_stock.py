"""warehouse: a till sale is a fact: the store's choice for short book stock, and the
negative-stock exceptions a recorded short sale raises

Revision ID: warehouse_0005
Revises: warehouse_0004_valuation
"""
import sqlalchemy as sa
from alembic import op

from core.db import Quantity

revision = "warehouse_0005"
down_revision = "warehouse_0004_valuation"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("warehouse_warehouse") as batch_op:
        batch_op.add_column(sa.Column("till_short_stock", sa.String(length=8), nullable=False,
                                      server_default="record"))
    op.create_table(
        "warehouse_negative_stock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("quantity_short", Quantity(precision=14, scale=3), nullable=False),
        sa.Column("on_hand_after", Quantity(precision=14, scale=3), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("count_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(["count_id"], ["warehouse_count.id"],
                                name=op.f("fk_warehouse_negative_stock_count_id_warehouse_count")),
        sa.ForeignKeyConstraint(["location_id"], ["warehouse_location.id"],
                                name=op.f("fk_warehouse_negative_stock_location_id_warehouse_location")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"],
                                name=op.f("fk_warehouse_negative_stock_product_id_product")),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"], name=op.f("fk_warehouse_negative_stock_store_id_store")),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse_warehouse.id"],
                                name=op.f("fk_warehouse_negative_stock_warehouse_id_warehouse_warehouse")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouse_negative_stock")),
    )
    op.create_index("ix_warehouse_negative_stock_store_state", "warehouse_negative_stock", ["store_id", "state"])


def downgrade():
    op.drop_index("ix_warehouse_negative_stock_store_state", table_name="warehouse_negative_stock")
    op.drop_table("warehouse_negative_stock")
    with op.batch_alter_table("warehouse_warehouse") as batch_op:
        batch_op.drop_column("till_short_stock")
