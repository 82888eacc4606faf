"""warehouse: the ledger keeps only the indexes something reads

Every posted move maintained six secondary indexes on ``warehouse_move``. Three were read
by nothing: ``from_location_id`` and ``to_location_id`` (the only query filtering on them,
a store clerk's move list, reads the newest moves by primary key and stops at a page:
walking back the primary key is the better plan there), and ``transfer_id`` (no query
selects moves by transfer; transfers are never deleted). The ones kept: ``source`` (a
document's moves), ``done_at`` (the date filter) and ``product_id, done_at`` (a product's
history, and the product foreign key).

Revision ID: warehouse_0003
Revises: warehouse_0002
"""
from alembic import op

revision = "warehouse_0003"
down_revision = "warehouse_0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("warehouse_move") as batch_op:
        batch_op.drop_index("ix_warehouse_move_from_location_id")
        batch_op.drop_index("ix_warehouse_move_to_location_id")
        batch_op.drop_index("ix_warehouse_move_transfer_id")


def downgrade():
    with op.batch_alter_table("warehouse_move") as batch_op:
        batch_op.create_index("ix_warehouse_move_transfer_id", ["transfer_id"], unique=False)
        batch_op.create_index("ix_warehouse_move_to_location_id", ["to_location_id"], unique=False)
        batch_op.create_index("ix_warehouse_move_from_location_id", ["from_location_id"], unique=False)
