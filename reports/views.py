"""The auditor's desk: key figures and charts for a period, on the spot; signed reports asked,
followed while they are built and signed, and downloaded."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from config.errors import DomainError
from config.views import show_domain_error
from reports.charts import report_charts
from reports.figures import Parameters, report_figures
from reports.forms import PeriodForm
from reports.models import AuditReport
from reports.services import report_download, report_request

RECENT_REPORTS = 20


def _parameters(form: PeriodForm) -> Parameters:
    data = form.cleaned_data
    return Parameters(
        start=data["start"],
        end=data["end"],
        organisation=data.get("organisation"),
        profile=data.get("profile"),
        station=data.get("station"),
    )


@login_required
@permission_required("reports.view_auditreport", raise_exception=True)
@require_GET
def report_dashboard_view(request):
    form = PeriodForm(request.GET or None, initial=PeriodForm.initial_period())
    if not request.GET:
        form = PeriodForm(PeriodForm.initial_period())
    figures = charts = None
    if form.is_valid():
        figures = report_figures(_parameters(form))
        charts = report_charts(figures)
    return render(
        request,
        "reports/dashboard.html",
        {
            "form": form,
            "figures": figures,
            "charts": charts,
            "reports": AuditReport.objects.select_related("requested_by").defer("pdf", "csv_zip")[
                :RECENT_REPORTS
            ],
        },
    )


@login_required
@permission_required("reports.add_auditreport", raise_exception=True)
@require_POST
def report_request_view(request):
    form = PeriodForm(request.POST)
    if form.is_valid():
        params = _parameters(form)
        try:
            report = report_request(
                start=params.start,
                end=params.end,
                organisation=params.organisation,
                profile=params.profile,
                station=params.station,
                by=request.user,
            )
        except DomainError as error:
            show_domain_error(request, form, error)
        else:
            return redirect("report-detail", pk=report.pk)
    return render(
        request,
        "reports/dashboard.html",
        {"form": form, "figures": None, "charts": None, "reports": []},
        status=400,
    )


@login_required
@permission_required("reports.view_auditreport", raise_exception=True)
@require_GET
def report_detail_view(request, pk: int):
    report = get_object_or_404(
        AuditReport.objects.select_related(
            "requested_by", "organisation", "card_profile", "station"
        ).defer("pdf", "csv_zip"),
        pk=pk,
    )
    return render(request, "reports/detail.html", {"report": report})


@login_required
@permission_required("reports.view_auditreport", raise_exception=True)
@require_GET
def report_download_view(request, pk: int, what: str):
    report = get_object_or_404(AuditReport, pk=pk)
    try:
        data = report_download(report=report, what=what, by=request.user)
    except DomainError as error:
        show_domain_error(request, None, error)
        return redirect("report-detail", pk=pk)
    if what == "pdf":
        response = HttpResponse(data, content_type="application/pdf")
        name = f"{report.file_stem}.pdf"
    else:
        response = HttpResponse(data, content_type="application/zip")
        name = f"{report.file_stem}-tables.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
