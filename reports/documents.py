"""The report as a PDF (WeasyPrint, templates/reports/report.html): a cover page with the
parameters and the generation time, contents with page numbers, a section per subject with its
charts (SVG) and tables, page numbers on every page. Signed afterwards by the signer
(pki/services/document_signing.py)."""

from __future__ import annotations

import hashlib

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from personalization.documents.render import html_to_pdf
from reports.charts import report_charts
from reports.figures import Figures

# A table longer than this lists its first rows in the PDF and says how many more its CSV file
# holds: the PDF states each CSV file's SHA-256, so its signature covers the full tables too.
# (WeasyPrint lays out a table of thousands of rows in minutes: docs/performance.md.)
PDF_TABLE_ROWS = 500


def report_context(figures: Figures, files: dict[str, bytes] | None = None) -> dict:
    charts = report_charts(figures)
    return {
        "figures": figures,
        "parameters": figures.parameters.describe(),
        "pdf_table_rows": PDF_TABLE_ROWS,
        "sections": [
            {
                "section": section,
                "charts": [mark_safe(charts[key]) for key in section.charts],  # noqa: S308 - matplotlib's SVG, no user markup
                "tables": [
                    {
                        "table": table,
                        "rows": table.display_rows[:PDF_TABLE_ROWS],
                        "more": max(0, len(table.rows) - PDF_TABLE_ROWS),
                    }
                    for table in section.tables
                ],
            }
            for section in figures.sections
        ],
        "files": [
            (name, hashlib.sha256(data).hexdigest(), len(data))
            for name, data in (files or {}).items()
        ],
    }


def report_html(figures: Figures, files: dict[str, bytes] | None = None) -> str:
    return render_to_string("reports/report.html", report_context(figures, files))


def report_pdf(figures: Figures, files: dict[str, bytes] | None = None) -> bytes:
    """The report; `files`, its CSV files, are listed with their SHA-256 in it."""
    return html_to_pdf(report_html(figures, files))
