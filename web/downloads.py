"""What the site hands out as files: CSV cells no spreadsheet runs as a formula, and
Content-Disposition headers that a file name cannot break."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# A spreadsheet runs a cell that starts with one of these (OWASP's list). Cells are split where a
# comma, a semicolon or a line break stands, depending on the spreadsheet and its language, and not
# always respecting quotes: "zz;=cmd|..." is two cells in a French Excel. So wherever a cell could
# start (the beginning, after a separator, spaces and quotes skipped), a formula character is
# preceded by an apostrophe, which spreadsheets take for "this is text" and do not show.
_CELL_START = re.compile(r"(?:^|(?<=[,;\r\n]))(?=[ \"]*[=+\-@\t\r])")
# Most cells (hashes, names, numbers) hold no formula character at all: one quick scan tells.
_FORMULA_CHAR = re.compile(r"[=+\-@\t\r]")


def csv_cell(value) -> str:
    """`value` as CSV text that neither a comma- nor a semicolon-splitting spreadsheet runs. Write
    the cells with `csv.QUOTE_ALL`, so that a spreadsheet respecting quotes splits nothing."""
    text = "" if value is None else str(value)
    return _CELL_START.sub("'", text) if _FORMULA_CHAR.search(text) else text


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A Content-Disposition header for `filename` (RFC 6266): control characters dropped, no quote
    or path separator; a plain ASCII `filename` for old clients and the name in UTF-8 as `filename*`."""
    name = "".join("_" if c in '"\\/' else c for c in filename if unicodedata.category(c)[0] not in "CZ" or c == " ")
    name = name.strip(" .") or "download"
    letters = (c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))  # é: e
    plain = re.sub(r"[^A-Za-z0-9._()\- ]", "_", "".join(letters))
    header = f'{disposition}; filename="{plain}"'
    if plain != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header
