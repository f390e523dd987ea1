"""the mission register: each instance's phase, dates, time share and host as columns, filled for existing requests

Revision ID: 20261202_0006
Revises: 20261202_0005
Create Date: 2026-12-02 17:55:00.000000

Existing requests get the phase the diagrams now declare, inferred from what is stored (the
versions deployed before this one declare no phase): how they ended, whether they were approved,
and what they wait for — a timer before the mission's end or its follow-up means it runs, other
tasks after approval are its closing steps (feedback, recognition), tasks before approval its
approval, the first task of a request its draft.
"""
from __future__ import annotations

from datetime import date

from alembic import op
import sqlalchemy as sa

from engine import clock


revision = '20261202_0006'
down_revision = '20261202_0005'
branch_labels = None
depends_on = None

_COLUMNS = (('phase', sa.String(length=16)), ('start_date', sa.Date()), ('end_date', sa.Date()),
            ('time_share', sa.Integer()), ('host', sa.String(length=300)),
            ('host_organisation', sa.String(length=64)), ('host_directorate', sa.String(length=64)))
_INDEXED = ('phase', 'start_date', 'end_date', 'host_organisation', 'host_directorate')
_DRAFT_TASKS = {'describe_need', 'describe_mission', 'propose_mission', 'post_need'}
_RUNNING_TASKS = {'hr_follow_up', 'mission_done'}
_RUNNING_TIMERS = {'mission_end', 'mission_midpoint'}
_ENDED = {'completed': 'closed', 'rejected': 'refused'}


def upgrade() -> None:
    with op.batch_alter_table('instance', schema=None) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        for name in _INDEXED:
            batch_op.create_index(batch_op.f(f'ix_instance_{name}'), [name], unique=False)
    _fill(op.get_bind())


def downgrade() -> None:
    for name in _INDEXED:
        op.drop_index(op.f(f'ix_instance_{name}'), table_name='instance')
    # SQLite (3.35 and later) drops a column in place: a batch operation would copy the table, and
    # with foreign keys on, dropping the old copy fails (tasks, timers and events point at it)
    for name, _type in reversed(_COLUMNS):
        op.execute(f'ALTER TABLE instance DROP COLUMN {name}')


def _fill(connection) -> None:
    instance = sa.table('instance', sa.column('id'), sa.column('status'), sa.column('end_state'),
                        sa.column('approved_at'), sa.column('data', sa.JSON()), sa.column('started_by'),
                        *(sa.column(name) for name, _type in _COLUMNS))
    users = {row.username: row for row in connection.execute(
        sa.text('SELECT username, name, directorate_code FROM user_account'))}
    organisations = dict(connection.execute(sa.text('SELECT id, name FROM organisation')).all())
    ready: dict[int, set[str]] = {}
    for row in connection.execute(sa.text("SELECT instance_id, bpmn_id FROM human_task WHERE status = 'ready'")):
        ready.setdefault(row.instance_id, set()).add(row.bpmn_id)
    timers: dict[int, set[str]] = {}
    for row in connection.execute(sa.text("SELECT instance_id, bpmn_id FROM timer WHERE status = 'waiting'")):
        timers.setdefault(row.instance_id, set()).add(row.bpmn_id)
    today = clock.today()
    rows = connection.execute(sa.select(instance.c.id, instance.c.status, instance.c.end_state,
                                        instance.c.approved_at, instance.c.data, instance.c.started_by)).all()
    updates = []
    for row in rows:
        data = row.data or {}
        start = _date(data.get('start_date'))
        phase = _phase(row, ready.get(row.id, set()), timers.get(row.id, set()))
        if phase == 'ongoing' and start is not None and start > today:
            phase = 'approved'
        host, organisation, directorate = _host(data, row.started_by, users, organisations)
        updates.append({'row_id': row.id, 'phase': phase, 'start_date': start,
                        'end_date': _date(data.get('end_date') or data.get('deadline')),
                        'time_share': _int(data.get('time_share')), 'host': host,
                        'host_organisation': organisation, 'host_directorate': directorate})
    if updates:
        connection.execute(instance.update().where(instance.c.id == sa.bindparam('row_id')).values(
            {name: sa.bindparam(name) for name in ('phase', 'start_date', 'end_date', 'time_share', 'host',
                                                    'host_organisation', 'host_directorate')}), updates)


def _phase(row, ready: set[str], timers: set[str]) -> str | None:
    if row.status in ('completed', 'cancelled'):
        return _ENDED.get(row.end_state or 'completed', row.end_state)
    if row.approved_at is None:
        if row.status == 'running' and ready & _DRAFT_TASKS:
            return 'draft'
        return 'in_approval'
    if row.status != 'running' or timers & _RUNNING_TIMERS or ready & _RUNNING_TASKS or not ready:
        return 'ongoing'
    return 'closing'


def _host(data, started_by, users, organisations):
    if data.get('host_organisation'):
        key = str(data['host_organisation'])
        return organisations.get(key, key)[:300], key[:64], None
    if data.get('host_unit'):
        manager = users.get(str(data.get('host_manager') or ''))
        return str(data['host_unit'])[:300], None, manager.directorate_code if manager else None
    starter = users.get(str(data.get('started_by') or started_by or ''))
    if data.get('project'):
        return str(data['project'])[:300], None, starter.directorate_code if starter else None
    return (starter.name if starter else None), None, (starter.directorate_code if starter else None)


def _date(value):
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _int(value):
    try:
        return int(value) if value not in (None, '') else None
    except (TypeError, ValueError):
        return None
