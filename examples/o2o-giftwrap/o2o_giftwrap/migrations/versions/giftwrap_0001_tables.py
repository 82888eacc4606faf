"""giftwrap tables

Revision ID: giftwrap_0001
Revises: (first revision of the giftwrap branch)
Create Date: 2026-11-22 11:25:12.405913

Written by ``o2o db revision giftwrap -m "giftwrap tables"``, then renamed. The branch
starts here (``down_revision = None``, ``branch_labels``); ``depends_on`` names the core
revision whose tables (``product``) our foreign keys point at, so Alembic runs it first.
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = 'giftwrap_0001'
down_revision = None
branch_labels = ('giftwrap',)
depends_on = 'core_0001'


def upgrade():
    op.create_table('giftwrap_wrap',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('fee', core.db.Money(precision=14, scale=2), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_giftwrap_wrap')),
    sa.UniqueConstraint('code', name=op.f('uq_giftwrap_wrap_code'))
    )
    op.create_table('giftwrap_product',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('wrap_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_giftwrap_product_product_id_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wrap_id'], ['giftwrap_wrap.id'], name=op.f('fk_giftwrap_product_wrap_id_giftwrap_wrap')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_giftwrap_product')),
    sa.UniqueConstraint('product_id', name=op.f('uq_giftwrap_product_product_id'))
    )
    with op.batch_alter_table('giftwrap_product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_giftwrap_product_wrap_id'), ['wrap_id'], unique=False)



def downgrade():
    with op.batch_alter_table('giftwrap_product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_giftwrap_product_wrap_id'))

    op.drop_table('giftwrap_product')
    op.drop_table('giftwrap_wrap')
