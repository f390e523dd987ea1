"""The mission register as a CSV download, for the API's `GET /api/v1/missions/export` and the
Missions page: the API's `Mission` columns, formula-safe cells, and a body streamed as the missions
are read (`engine.register.export`) in its own read session, as the audit export is."""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator

from flask import Response, current_app

from engine import register

from .audit_export import chunks, drain
from .downloads import content_disposition, csv_cell

#: the columns of the CSV, in this order (the API's `Mission` fields)
COLUMNS = ("instance_id", "process", "title", "phase", "agent", "agent_name", "agent_directorate", "host",
           "host_directorate", "time_share", "start_date", "end_date", "started_by", "waiting_for",
           "waiting_since", "end_state")


def missions_download(reader, filters: register.Filters, sort: str, represent, *, bom: bool = False) -> Response:
    """The missions `reader` may see that match `filters`, as the download `missions.csv`; each
    row as `represent` (a Mission -> the API's dict) makes it. The request's session has ended
    before the first byte is sent: the rows are read in a read-only session of their own, closed
    when the download ends or is abandoned."""
    session = current_app.extensions["passerelle.read_sessions"]()
    rows = register.export(session, reader, filters, sort)
    lines = csv_lines((represent(m) for m in rows), bom)
    response = Response(chunks(lines), mimetype="text/csv",
                        headers={"Content-Disposition": content_disposition("missions.csv")})

    @response.call_on_close
    def _release() -> None:
        lines.close()
        rows.close()
        session.close()

    return response


def csv_lines(rows: Iterable[dict], bom: bool = False) -> Iterator[str]:
    """The header line, then one line per mission; every cell quoted and formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    yield ("\ufeff" if bom else "") + drain(out)
    for row in rows:
        cells = {**row, "waiting_for": "; ".join(str(n) for n in row["waiting_for"])}
        for key in ("start_date", "end_date", "waiting_since"):
            cells[key] = cells[key].isoformat() if cells[key] else ""
        writer.writerow([csv_cell(cells[c]) for c in COLUMNS])
        yield drain(out)
