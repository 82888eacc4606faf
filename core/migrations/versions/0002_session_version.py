"""core: user_account.session_version, so logout, a password change and deactivation end
every session of a user

Revision ID: core_0002_session_version
Revises: core_0001
"""
from alembic import op
import sqlalchemy as sa


revision = "core_0002_session_version"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="1", nullable=False))


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("session_version")
