"""warehouse: covering index for a warehouse's stock

Revision ID: warehouse_0002
Revises: warehouse_0001
"""
from alembic import op

revision = "warehouse_0002"
down_revision = "warehouse_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("warehouse_quant") as batch_op:
        batch_op.drop_index("ix_warehouse_quant_warehouse_product")
        batch_op.create_index("ix_warehouse_quant_warehouse_product_stock",
                              ["warehouse_id", "product_id", "on_hand", "reserved"], unique=False)


def downgrade():
    with op.batch_alter_table("warehouse_quant") as batch_op:
        batch_op.drop_index("ix_warehouse_quant_warehouse_product_stock")
        batch_op.create_index("ix_warehouse_quant_warehouse_product", ["warehouse_id", "product_id"], unique=False)
