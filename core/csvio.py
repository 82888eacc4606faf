"""CSV in and out, the one place for both.

Out: ``safe_cell`` / ``writer`` make every exported cell inert in a spreadsheet (OWASP "CSV
injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading
``'`` so Excel/LibreOffice show it as text instead of running it. A cell the export wrote
from a number (int, Decimal, float; not bool) stays as it is: ``-5.00`` from a Decimal
column is a number, not a formula, and a spreadsheet must still add it up. A negative
number that reaches the writer as *text* (a formatter's output, a name like ``-5``) is
prefixed like any other text.

In: ``text_lines`` reads an upload (bytes, str or a binary stream) line by line without
holding the whole file, and refuses what the database or the csv module would choke on
(bytes that are not the expected encoding, NUL) with the line it is on, before anything is
written.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Iterable, Iterator

from core.errors import ValidationError
from core.i18n import _

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The text of one CSV cell that a spreadsheet shows, never runs (see module doc)."""
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class SafeWriter:
    """``csv.writer`` whose rows go through ``safe_cell``; ``writerow`` returns what the
    underlying writer returns (the line, when the file object's write returns it)."""

    def __init__(self, fileobj, **kwargs):
        self._writer = csv.writer(fileobj, **kwargs)

    def writerow(self, row: Iterable):
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def writer(fileobj, **kwargs) -> SafeWriter:
    return SafeWriter(fileobj, **kwargs)


class _Echo:
    """A file whose write returns the text: csv lines for a streamed response."""

    def write(self, value):
        return value


def line_writer(**kwargs) -> SafeWriter:
    """A SafeWriter whose ``writerow`` returns the CSV line (for generators)."""
    return SafeWriter(_Echo(), **kwargs)


# --- reading uploads -----------------------------------------------------------------------

def _encoding_message(line: int, encoding: str) -> str:
    return _("Line %(line)s is not %(encoding)s text; save the file as 'CSV UTF-8' and upload it again.",
             line=line, encoding=encoding.upper().replace("-SIG", ""))


def nul_message(line: int) -> str:
    return _("Line %(line)s contains a NUL character (a zero byte): the file is not a text CSV file.",
             line=line)


def text_lines(data, encoding: str = "utf-8-sig") -> Iterator[str]:
    """The lines of an upload as text, one at a time (line ends kept, for csv.reader).

    ``data`` is bytes, str or a binary file object (a Werkzeug upload's stream): nothing
    reads the whole file into memory. A UTF-8 byte-order mark on the first line is dropped.
    A line that is not ``encoding`` or that contains NUL raises ValidationError naming it
    (a NUL would pass SQLite and crash a PostgreSQL write half way through an import).
    """
    if isinstance(data, str):
        source: Iterable = io.StringIO(data, newline="")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(data))
    else:
        source = data
    number = 0
    for raw in source:
        number += 1
        if isinstance(raw, (bytes, bytearray)):
            try:
                line = raw.decode(encoding if number == 1 else encoding.replace("-sig", ""))
            except UnicodeDecodeError:
                raise ValidationError(_encoding_message(number, encoding), line=number) from None
        else:
            line = raw.lstrip("\ufeff") if number == 1 else raw
        if "\x00" in line:
            raise ValidationError(nul_message(number), line=number)
        yield line


class LineReader:
    """``csv.reader`` over text lines (``text_lines``) that knows the physical line each
    row started on (``.line``), also for quoted cells that span lines."""

    def __init__(self, lines: Iterable[str], **csv_kwargs):
        self._lines = iter(lines)
        self._consumed = 0
        self.line = 0
        self._reader = csv.reader(self._counting(), **csv_kwargs)

    def _counting(self):
        for text in self._lines:
            self._consumed += 1
            yield text

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        self.line = self._consumed + 1  # also right when the row fails (csv.Error)
        return next(self._reader)
