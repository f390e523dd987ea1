"""The one audit exporter, for the audit pages' downloads and the API's `GET /api/v1/audit/export`:
the same columns (the API's documented `AuditEvent` fields), formula-safe CSV cells, and a body
streamed as the events are read (`engine.audit_trail`), so that exporting the whole trail takes
the memory of one batch of events whatever its length."""
from __future__ import annotations

import csv
import io
import json
from datetime import timezone
from typing import Iterable, Iterator

from flask import Response, current_app

from engine import audit_trail

from .downloads import content_disposition, csv_cell
from .messages import event_data

#: the columns of a CSV export and the keys of a JSON one, in this order (the API documents them)
COLUMNS = ("instance_id", "process", "seq", "at", "actor", "type", "task_id", "task_name", "version", "data",
           "prev_hash", "hash")
#: bytes gathered before they are sent: one write per chunk, not per event
CHUNK_BYTES = 64 * 1024
MIMETYPES = {"csv": "text/csv", "json": "application/json"}


def event_row(event) -> dict:
    """An audit event (a model or a row of `engine.audit_trail`) as the API's `AuditEvent`."""
    return {"instance_id": event.instance_id, "process": event.process_key, "seq": event.seq,
            "at": event.at.astimezone(timezone.utc).isoformat(), "actor": event.actor, "type": event.type,
            "task_id": event.task_id, "task_name": event.task_name, "version": event.version,
            "data": event_data(event.type, event.data), "prev_hash": event.prev_hash, "hash": event.hash}


def trail_download(reader, fmt: str, stem: str, *, bom: bool = False, **filters) -> Response:
    """The events `reader` may export that match `filters` (those of `engine.audit_trail`), as the
    download `<stem>.csv` or `<stem>.json`, oldest first. `bom` starts a CSV with a byte order mark,
    which spreadsheets need to read it as UTF-8 (people open the pages' downloads in one).

    The body is read in its own read-only session, opened here and closed when the download ends
    or is abandoned: the request's session and its transaction end when the view returns, before
    the first byte is sent. Refusals (PermissionDenied) are raised here, before any byte."""
    session = current_app.extensions["passerelle.read_sessions"]()
    try:
        events = audit_trail(session, reader, **filters)
    except BaseException:
        session.close()
        raise
    lines = csv_lines(events, bom) if fmt == "csv" else json_lines(events)
    response = Response(chunks(lines), mimetype=MIMETYPES[fmt],
                        headers={"Content-Disposition": content_disposition(f"{stem}.{fmt}")})

    @response.call_on_close
    def _release() -> None:  # also when the body is never read (HEAD): a generator not started has no finally
        lines.close()
        events.close()
        session.close()

    return response


def csv_lines(events: Iterable, bom: bool = False) -> Iterator[str]:
    """The header line, then one line per event; every cell quoted and formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    yield ("\ufeff" if bom else "") + drain(out)
    for event in events:
        row = event_row(event)
        row["data"] = json.dumps(row["data"], ensure_ascii=False, sort_keys=True)
        writer.writerow([csv_cell(row[c]) for c in COLUMNS])
        yield drain(out)


def json_lines(events: Iterable) -> Iterator[str]:
    """A JSON array of events, one a line; the values exactly as stored (no formula guard: JSON
    is read by programs, not spreadsheets)."""
    separator = "[\n"
    for event in events:
        yield separator + json.dumps(event_row(event), ensure_ascii=False)
        separator = ",\n"
    yield "[]\n" if separator == "[\n" else "\n]\n"


def drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def chunks(lines: Iterator[str]) -> Iterator[bytes]:
    pending, size = [], 0
    for line in lines:
        pending.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(pending).encode()
            pending, size = [], 0
    if pending:
        yield "".join(pending).encode()
