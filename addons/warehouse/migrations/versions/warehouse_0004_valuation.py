"""warehouse: perpetual valuation (move values, costs per warehouse, revaluations)

Every move carries its value (quantity x the cost it moved at) and the local business date
of its posting; the moving average cost is kept per product and warehouse (the existing
per-product cost is copied to every warehouse); transfer lines keep the cost they left at;
value-only revaluation rows join the ledger. Existing moves get value = quantity x unit
cost where the cost is known, and their done date as value date (UTC: the store's zone is
not known to a migration).

Revision ID: warehouse_0004_valuation
Revises: warehouse_0003
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "warehouse_0004_valuation"
down_revision = "warehouse_0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("warehouse_move") as batch_op:
        batch_op.add_column(sa.Column("value", core.db.Money(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column("value_date", sa.Date(), nullable=True))
    with op.batch_alter_table("warehouse_transfer_line") as batch_op:
        batch_op.add_column(sa.Column("unit_cost", core.db.UnitPrice(precision=14, scale=4), nullable=True))
        batch_op.add_column(sa.Column("value", core.db.Money(precision=14, scale=2), nullable=True))
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE warehouse_move SET value = ROUND(quantity * unit_cost, 2) "
                         "WHERE unit_cost IS NOT NULL"))
    bind.execute(sa.text("UPDATE warehouse_move SET value_date = CAST(done_at AS DATE) WHERE done_at IS NOT NULL"))
    if bind.dialect.name == "sqlite":  # CAST(... AS DATE) is a number there
        bind.execute(sa.text("UPDATE warehouse_move SET value_date = substr(done_at, 1, 10) "
                             "WHERE done_at IS NOT NULL"))
    bind.execute(sa.text(
        "UPDATE warehouse_transfer_line SET unit_cost = (SELECT MAX(m.unit_cost) FROM warehouse_move m "
        "WHERE m.transfer_id = warehouse_transfer_line.transfer_id "
        "AND m.product_id = warehouse_transfer_line.product_id)"))
    bind.execute(sa.text("UPDATE warehouse_transfer_line SET value = ROUND(quantity * unit_cost, 2) "
                         "WHERE unit_cost IS NOT NULL"))

    old = bind.execute(sa.text("SELECT product_id, average_cost, updated_at FROM warehouse_product_cost")).all()
    op.drop_table("warehouse_product_cost")
    cost = op.create_table(
        "warehouse_product_cost",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("average_cost", core.db.UnitPrice(precision=14, scale=4), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_warehouse_product_cost_product_id_product")),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse_warehouse.id"],
                                name=op.f("fk_warehouse_product_cost_warehouse_id_warehouse_warehouse")),
        sa.PrimaryKeyConstraint("product_id", "warehouse_id", name=op.f("pk_warehouse_product_cost")))
    warehouses = [r[0] for r in bind.execute(sa.text("SELECT id FROM warehouse_warehouse"))]
    rows = [{"product_id": p, "warehouse_id": w, "average_cost": c, "updated_at": t}
            for p, c, t in old for w in warehouses]
    if rows:
        op.bulk_insert(cost, rows)

    op.create_table(
        "warehouse_revaluation",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("value", core.db.Money(precision=14, scale=2), nullable=False),
        sa.Column("quantity", core.db.Quantity(precision=14, scale=3), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_warehouse_revaluation_product_id_product")),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse_warehouse.id"],
                                name=op.f("fk_warehouse_revaluation_warehouse_id_warehouse_warehouse")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouse_revaluation")))
    op.create_index("ix_warehouse_revaluation_warehouse_date", "warehouse_revaluation", ["warehouse_id", "value_date"])
    op.create_index(op.f("ix_warehouse_revaluation_source"), "warehouse_revaluation", ["source"])


def downgrade():
    op.drop_index(op.f("ix_warehouse_revaluation_source"), table_name="warehouse_revaluation")
    op.drop_index("ix_warehouse_revaluation_warehouse_date", table_name="warehouse_revaluation")
    op.drop_table("warehouse_revaluation")
    bind = op.get_bind()
    old = bind.execute(sa.text("SELECT product_id, MAX(average_cost), MAX(updated_at) FROM warehouse_product_cost "
                               "GROUP BY product_id")).all()
    op.drop_table("warehouse_product_cost")
    cost = op.create_table(
        "warehouse_product_cost",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("average_cost", core.db.UnitPrice(precision=14, scale=4), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_warehouse_product_cost_product_id_product")),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_warehouse_product_cost")))
    if old:
        op.bulk_insert(cost, [{"product_id": p, "average_cost": c, "updated_at": t} for p, c, t in old])
    with op.batch_alter_table("warehouse_transfer_line") as batch_op:
        batch_op.drop_column("value")
        batch_op.drop_column("unit_cost")
    with op.batch_alter_table("warehouse_move") as batch_op:
        batch_op.drop_column("value_date")
        batch_op.drop_column("value")
