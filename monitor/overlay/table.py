"""The digitized table ('Attachment 2' of the reference paper) as CSV or XLSX."""

import csv
from pathlib import Path

from monitor.overlay.digitize import DigitizedRow

COLUMNS = ("NO", "Time", "1# Temperature", "2# Temperature", "1# confidence", "2# confidence", "flags")


def table_rows(rows: list[DigitizedRow]) -> list[list[object]]:
    """Cells of the table; an unread or flagged value is an empty cell, never a guess."""
    return [
        [
            r.no,
            r.value("time"),
            r.value("t1"),
            r.value("t2"),
            r.confidence("t1"),
            r.confidence("t2"),
            "; ".join(r.flags),
        ]
        for r in rows
    ]


def write_table(path: Path, rows: list[DigitizedRow]) -> None:
    """Write CSV, or XLSX when the file name ends in .xlsx."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = table_rows(rows)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "overlay"
        sheet.append(list(COLUMNS))
        for row in cells:
            sheet.append(row)
        book.save(path)
        return
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([["" if v is None else v for v in row] for row in cells])


def read_table(path: Path) -> list[dict[str, str]]:
    """Read a table written by write_table back as strings ('' for empty), whatever its format."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True).active
        values = list(sheet.iter_rows(values_only=True))
        header = [str(h) for h in values[0]]
        return [
            {h: "" if v is None else str(v) for h, v in zip(header, row, strict=True)} for row in values[1:]
        ]
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))
