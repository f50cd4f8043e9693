"""The report's charts as SVG, drawn with matplotlib (its SVG backend, no display): embedded in
the PDF and in the back office's pages as they are."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("svg")

from matplotlib import pyplot as plt

from reports.figures import Figures, Table

PALETTE = ("#1f4e79", "#2e8b57", "#c0392b", "#b7950b", "#6c3483")
# Readable when printed: the page is 170 mm wide, the chart a little less.
WIDTH_INCHES, HEIGHT_INCHES = 6.4, 2.6
plt.rcParams.update(
    {
        "font.family": "DejaVu Sans",
        "font.size": 8,
        "svg.fonttype": "none",  # text stays text: searchable in the PDF, sharp at any zoom
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def _svg(figure) -> str:
    out = io.StringIO()
    figure.tight_layout()
    figure.savefig(out, format="svg")
    plt.close(figure)
    svg = out.getvalue()
    return svg[svg.index("<svg") :]  # without the XML prologue: embedded in HTML


def _empty(axes, title: str) -> None:
    axes.set_title(title, loc="left", fontsize=9)
    axes.text(0.5, 0.5, "nothing in this period", ha="center", va="center", color="#666")
    axes.set_axis_off()


def _days_chart(table: Table) -> str:
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, HEIGHT_INCHES))
    days = [row[0] for row in table.rows]
    series = table.columns[1:]
    if not any(any(row[1:]) for row in table.rows):
        _empty(axes, table.title)
        return _svg(figure)
    width = 0.8 / len(series)
    for index, name in enumerate(series):
        values = [row[index + 1] for row in table.rows]
        positions = [day + (index - (len(series) - 1) / 2) * width for day in range(len(days))]
        axes.bar(positions, values, width=width, label=name, color=PALETTE[index % len(PALETTE)])
    step = max(1, len(days) // 12)
    axes.set_xticks(range(0, len(days), step), [days[i][5:] for i in range(0, len(days), step)])
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(table.title, loc="left", fontsize=9)
    axes.legend(
        frameon=False, ncols=len(series), fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.12)
    )
    return _svg(figure)


def _bars(table: Table) -> str:
    """A horizontal bar per row: label in the first column, count in the last."""
    rows = [row for row in table.rows if row[-1]]
    height = max(1.2, 0.3 * len(rows) + 0.6)
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, min(height, HEIGHT_INCHES * 2)))
    if not rows:
        _empty(axes, table.title)
        return _svg(figure)
    labels = [str(row[0]) for row in rows][::-1]
    values = [row[-1] for row in rows][::-1]
    bars = axes.barh(labels, values, color=PALETTE[0])
    axes.bar_label(bars, padding=2, fontsize=7)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_title(table.title, loc="left", fontsize=9)
    return _svg(figure)


def report_charts(figures: Figures) -> dict[str, str]:
    """Each chart a section names (Section.charts), by key, as SVG markup."""
    charts = {}
    for section in figures.sections:
        for key in section.charts:
            table = figures.table(key)
            charts[key] = _days_chart(table) if key == "activity_by_day" else _bars(table)
    return charts
