"""four eyes on deploys: versions name their author; proposed versions wait for a second process owner

Revision ID: 20261202_0003
Revises: 20261125_0002
Create Date: 2026-12-02 08:05:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '20261202_0003'
down_revision = '20261125_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('proposed_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('proposed_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['process_version.id'],
                            name=op.f('fk_proposed_version_version_id_process_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposed_version'))
    )
    with op.batch_alter_table('proposed_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposed_version_process_key'), ['process_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposed_version_status'), ['status'], unique=False)

    op.create_table('proposed_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposed_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['proposed_id'], ['proposed_version.id'],
                            name=op.f('fk_proposed_file_proposed_id_proposed_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposed_file'))
    )
    with op.batch_alter_table('proposed_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposed_file_proposed_id'), ['proposed_id'], unique=False)

    # Every version deployed so far was uploaded by whoever deployed it. A plain ADD COLUMN (with a
    # default while it is filled): SQLite's batch mode would copy process_version, which the rows of
    # instance refer to, and foreign keys are enforced.
    op.add_column('process_version', sa.Column('author', sa.String(length=64), nullable=False, server_default=''))
    op.execute("UPDATE process_version SET author = deployed_by")
    if op.get_bind().dialect.name != 'sqlite':  # SQLite cannot drop a default in place; it is never used
        op.alter_column('process_version', 'author', server_default=None)


def downgrade() -> None:
    op.drop_column('process_version', 'author')  # SQLite 3.35+ drops a column in place
    with op.batch_alter_table('proposed_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposed_file_proposed_id'))
    op.drop_table('proposed_file')
    with op.batch_alter_table('proposed_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposed_version_status'))
        batch_op.drop_index(batch_op.f('ix_proposed_version_process_key'))
    op.drop_table('proposed_version')
