"""staged uploads in the database: files waiting for their uploader's confirmation, shared by every server

Revision ID: 20261202_0004
Revises: 20261202_0003
Create Date: 2026-12-02 13:50:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '20261202_0004'
down_revision = '20261202_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staged_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_upload')),
    sa.UniqueConstraint('token', name=op.f('uq_staged_upload_token'))
    )
    with op.batch_alter_table('staged_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staged_upload_created_at'), ['created_at'], unique=False)

    op.create_table('staged_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['upload_id'], ['staged_upload.id'],
                            name=op.f('fk_staged_file_upload_id_staged_upload')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_file'))
    )
    with op.batch_alter_table('staged_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staged_file_upload_id'), ['upload_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staged_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staged_file_upload_id'))
    op.drop_table('staged_file')
    with op.batch_alter_table('staged_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staged_upload_created_at'))
    op.drop_table('staged_upload')
