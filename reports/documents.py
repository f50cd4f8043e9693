"""The report as a PDF (WeasyPrint, templates/reports/report.html): a cover page with the
parameters and the generation time, contents with page numbers, a section per subject with its
charts (SVG) and tables, page numbers on every page. Signed afterwards by the signer
(pki/services/document_signing.py)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from personalization.documents.render import html_to_pdf
from reports.charts import report_charts
from reports.figures import Figures


def report_context(figures: Figures) -> dict:
    charts = report_charts(figures)
    return {
        "figures": figures,
        "parameters": figures.parameters.describe(),
        "sections": [
            {
                "section": section,
                "charts": [mark_safe(charts[key]) for key in section.charts],  # noqa: S308 - matplotlib's SVG, no user markup
            }
            for section in figures.sections
        ],
    }


def report_html(figures: Figures) -> str:
    return render_to_string("reports/report.html", report_context(figures))


def report_pdf(figures: Figures) -> bytes:
    return html_to_pdf(report_html(figures))
