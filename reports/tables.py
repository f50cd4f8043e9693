"""A report's tables as CSV files (one per table, in a zip), safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import zipfile

from reports.figures import Figures, Table

# OWASP "CSV injection": a cell a spreadsheet would read as a formula starts with one of these
# (or a tab / carriage return before one); it is prefixed with an apostrophe, shown as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return text  # a number, negative ones included, stays a number
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def table_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(column) for column in table.columns])
    for row in table.rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return out.getvalue().encode("utf-8-sig")  # with a BOM: spreadsheets read UTF-8 then


def report_csv_files(figures: Figures) -> dict[str, bytes]:
    """Every table as `<key>.csv`, and `parameters.csv` saying what the report covers."""
    parameters = Table(
        "parameters",
        "Parameters",
        ["Parameter", "Value"],
        [
            *[[name, value] for name, value in figures.parameters.describe()],
            ["Generated at", figures.generated_at.isoformat(timespec="seconds")],
        ],
    )
    return {f"{table.key}.csv": table_csv(table) for table in [parameters, *figures.tables]}


def report_csv_zip(figures: Figures, files: dict[str, bytes] | None = None) -> bytes:
    """The CSV files in one zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (files or report_csv_files(figures)).items():
            archive.writestr(name, data)
    return out.getvalue()
