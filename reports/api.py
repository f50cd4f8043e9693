"""The reports over the API: ask for one, follow it, download its signed PDF and CSV files."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from cardprofiles.models import CardProfile
from config.api import ServiceAPIView
from config.errors import FieldError, ValidationFailed
from issuance.models import Organisation
from personalization.models import EncoderStation
from reports.models import AuditReport
from reports.services import report_download, report_request


class ReportInput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    organisation = serializers.IntegerField(required=False, allow_null=True)
    profile = serializers.CharField(required=False, allow_blank=True)
    station = serializers.CharField(required=False, allow_blank=True)


class ReportOutput(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    profile = serializers.CharField(source="card_profile.name", default=None)
    station = serializers.CharField(source="station.name", default=None)
    pdf_url = serializers.SerializerMethodField()
    csv_url = serializers.SerializerMethodField()

    class Meta:
        model = AuditReport
        fields = [
            "id",
            "start",
            "end",
            "organisation",
            "profile",
            "station",
            "status",
            "progress",
            "stage",
            "requested_by",
            "requested_at",
            "finished_at",
            "pdf_sha256",
            "error",
            "pdf_url",
            "csv_url",
        ]

    def get_pdf_url(self, report) -> str | None:
        return f"/api/v1/reports/{report.pk}/report.pdf" if report.status == "ready" else None

    def get_csv_url(self, report) -> str | None:
        return f"/api/v1/reports/{report.pk}/tables.zip" if report.status == "ready" else None


def _filters(data: dict) -> dict:
    """The filter objects the input names; ValidationFailed naming each unknown one."""
    found, errors = {}, []
    lookups = (
        ("organisation", Organisation, "pk"),
        ("profile", CardProfile, "name"),
        ("station", EncoderStation, "name"),
    )
    for name, model, key in lookups:
        value = data.get(name)
        if value in (None, ""):
            found[name] = None
            continue
        found[name] = model.objects.filter(**{key: value}).first()
        if found[name] is None:
            errors.append(FieldError(name, f"no {name} {value!r}"))
    if errors:
        raise ValidationFailed(errors)
    return found


class ReportListAPI(ServiceAPIView):
    required_permissions = {"GET": "reports.view_auditreport", "POST": "reports.add_auditreport"}

    @extend_schema(responses=ReportOutput(many=True))
    def get(self, request):
        reports = AuditReport.objects.select_related("requested_by", "card_profile", "station")
        return self.paginate(request, reports.defer("pdf", "csv_zip"), ReportOutput)

    @extend_schema(request=ReportInput, responses={202: ReportOutput})
    def post(self, request):
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = report_request(
            start=data.validated_data["start"],
            end=data.validated_data["end"],
            by=request.user,
            **_filters(data.validated_data),
        )
        return Response(ReportOutput(report).data, status=202)


class ReportDetailAPI(ServiceAPIView):
    required_permissions = {"GET": "reports.view_auditreport"}

    @extend_schema(responses=ReportOutput)
    def get(self, request, pk: int):
        report = get_object_or_404(AuditReport.objects.defer("pdf", "csv_zip"), pk=pk)
        return Response(ReportOutput(report).data)


class ReportFileAPI(ServiceAPIView):
    required_permissions = {"GET": "reports.view_auditreport"}
    what = "pdf"

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk: int):
        report = get_object_or_404(AuditReport, pk=pk)
        data = report_download(report=report, what=self.what, by=request.user)
        kind, suffix = (
            ("application/pdf", ".pdf")
            if self.what == "pdf"
            else ("application/zip", "-tables.zip")
        )
        response = HttpResponse(data, content_type=kind)
        response["Content-Disposition"] = f'attachment; filename="{report.file_stem}{suffix}"'
        return response


urlpatterns = [
    path("reports/", ReportListAPI.as_view()),
    path("reports/<id:pk>/", ReportDetailAPI.as_view()),
    path("reports/<id:pk>/report.pdf", ReportFileAPI.as_view(what="pdf")),
    path("reports/<id:pk>/tables.zip", ReportFileAPI.as_view(what="csv")),
]
