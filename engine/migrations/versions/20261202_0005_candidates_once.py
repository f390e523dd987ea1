"""candidates stored once, as task_candidate rows: the diagram's candidate users and groups move out of
human_task's JSON columns; rows stay when a task is done (no longer ready) and name the default assignee
and the administrators' fallback by their own kinds

Revision ID: 20261202_0005
Revises: 20261202_0004
Create Date: 2026-12-02 17:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '20261202_0005'
down_revision = '20261202_0004'
branch_labels = None
depends_on = None

_task = sa.table('human_task', sa.column('id', sa.Integer()), sa.column('status', sa.String()),
                 sa.column('default_assignee', sa.String()), sa.column('candidate_users', sa.JSON()),
                 sa.column('candidate_groups', sa.JSON()), sa.column('excluded_users', sa.JSON()))
_candidate = sa.table('task_candidate', sa.column('id', sa.Integer()), sa.column('task_id', sa.Integer()),
                      sa.column('kind', sa.String()), sa.column('name', sa.String()), sa.column('ready', sa.Boolean()))
_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ready', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.drop_index('ix_task_candidate_lookup')
        batch_op.create_index('ix_task_candidate_lookup', ['kind', 'name', 'ready'], unique=False)
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.alter_column('ready', server_default=None)
    # Every task's rows are written again from its columns: done and cancelled tasks had none, and the
    # rows of ready ones were a sorted set, with the default assignee as a user and the fallback as a group.
    # Read first: on SQLite, dropping the columns rebuilds human_task, and its rows' cascade takes theirs.
    connection = op.get_bind()
    rows = [row for task in connection.execute(sa.select(_task).order_by(_task.c.id)) for row in _new_rows(task)]
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('candidate_groups')
        batch_op.drop_column('candidate_users')
    connection.execute(_candidate.delete())
    for start in range(0, len(rows), _BATCH):
        connection.execute(_candidate.insert(), rows[start:start + _BATCH])


def _new_rows(task) -> list[dict]:
    names = [('user', u) for u in task.candidate_users or []] + [('group', g) for g in task.candidate_groups or []]
    if task.default_assignee:
        names.append(('assignee', task.default_assignee))
    if not names:
        names.append(('fallback', 'admin'))
    names += [('exclude', u) for u in task.excluded_users or []]
    return [{'task_id': task.id, 'kind': kind, 'name': name, 'ready': task.status == 'ready'} for kind, name in names]


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('candidate_users', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('candidate_groups', sa.JSON(), nullable=True))
    connection = op.get_bind()
    named: dict[int, dict[str, list[str]]] = {}
    for row in connection.execute(sa.select(_candidate).where(_candidate.c.kind.in_(('user', 'group')))
                                  .order_by(_candidate.c.id)):
        named.setdefault(row.task_id, {'user': [], 'group': []})[row.kind].append(row.name)
    tasks = list(connection.execute(sa.select(_task.c.id, _task.c.status, _task.c.default_assignee,
                                              _task.c.excluded_users)))
    empty = {'user': [], 'group': []}
    for start in range(0, len(tasks), _BATCH):
        connection.execute(_task.update().where(_task.c.id == sa.bindparam('task')).values(
            candidate_users=sa.bindparam('users'), candidate_groups=sa.bindparam('groups')),
            [{'task': t.id, 'users': named.get(t.id, empty)['user'], 'groups': named.get(t.id, empty)['group']}
             for t in tasks[start:start + _BATCH]])
    with op.batch_alter_table('human_task', schema=None) as batch_op:  # on SQLite, its rows' cascade takes theirs
        batch_op.alter_column('candidate_users', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('candidate_groups', existing_type=sa.JSON(), nullable=False)
    # Before, only ready tasks had rows: a sorted set, the default assignee a user, the fallback a group.
    connection.execute(_candidate.delete())
    rows = []
    for task in tasks:
        if task.status != 'ready':
            continue
        users, groups = named.get(task.id, empty)['user'], named.get(task.id, empty)['group']
        names = {('user', task.default_assignee)} if task.default_assignee else set()
        names |= {('user', u) for u in users} | {('group', g) for g in groups}
        if not names:
            names.add(('group', 'admin'))
        names |= {('exclude', u) for u in task.excluded_users or []}
        rows += [{'task_id': task.id, 'kind': kind, 'name': name, 'ready': True} for kind, name in sorted(names)]
    if rows:
        connection.execute(_candidate.insert(), rows)
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_lookup')
        batch_op.create_index('ix_task_candidate_lookup', ['kind', 'name'], unique=False)
        batch_op.drop_column('ready')
