from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from config.api import ServiceAPIView
from config.converters import parse_id
from config.errors import FieldError, ValidationFailed
from config.parsers import JSONParser
from issuance.models import Organisation, Professional
from issuance.names import NAME_RULE
from issuance.professional_fields import COLUMNS
from issuance.selectors import organisation_list, professional_list
from issuance.services.imports import import_size_error, professionals_import
from issuance.services.registry import (
    organisation_create,
    organisation_update,
    professional_create,
    professional_update,
)


class OrganisationOutput(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "finess", "created_at", "updated_at"]


class ProfessionalOutput(serializers.ModelSerializer):
    profession_name = serializers.CharField(source="get_profession_display")
    organisation = OrganisationOutput(allow_null=True)
    photo_url = serializers.SerializerMethodField()

    class Meta:
        model = Professional
        fields = [
            "id",
            "rpps",
            "last_name",
            "first_name",
            "profession",
            "profession_name",
            "specialty",
            "email",
            "phone",
            "address_line1",
            "address_line2",
            "postal_code",
            "city",
            "country",
            "organisation",
            "photo_url",
            "created_at",
            "updated_at",
        ]

    def get_photo_url(self, professional) -> str | None:
        if not professional.photo:
            return None
        url = reverse("professional-photo", args=[professional.pk])
        return self.context["request"].build_absolute_uri(url)


class ProfessionalInput(serializers.Serializer):
    """Text fields as in the CSV columns; the service validates them and names each bad field."""

    rpps = serializers.CharField(required=False, allow_blank=True, help_text="11 digits, Luhn")
    last_name = serializers.CharField(required=False, allow_blank=True, help_text=NAME_RULE)
    first_name = serializers.CharField(required=False, allow_blank=True, help_text=NAME_RULE)
    profession = serializers.CharField(
        required=False, allow_blank=True, help_text="code (10, 21, 40, 50, 60, 70) or name"
    )
    email = serializers.CharField(required=False, allow_blank=True)
    specialty = serializers.CharField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True)
    address_line1 = serializers.CharField(required=False, allow_blank=True)
    address_line2 = serializers.CharField(required=False, allow_blank=True)
    postal_code = serializers.CharField(required=False, allow_blank=True)
    city = serializers.CharField(required=False, allow_blank=True)
    country = serializers.CharField(required=False, allow_blank=True)
    organisation_finess = serializers.CharField(required=False, allow_blank=True)
    photo = serializers.ImageField(required=False)


def _input(request) -> tuple[dict, object]:
    serializer = ProfessionalInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    photo = data.pop("photo", None)
    unknown = sorted(set(request.data) - set(COLUMNS) - {"photo"})
    if unknown:
        raise ValidationFailed(
            [FieldError(name, "is not a field of a professional") for name in unknown]
        )
    return data, photo


class ProfessionalListCreateAPI(ServiceAPIView):
    required_permissions = {
        "GET": "issuance.view_professional",
        "POST": "issuance.add_professional",
    }
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="RPPS prefix, or words of name/email/city"),
            OpenApiParameter("profession", int),
        ],
        responses=ProfessionalOutput(many=True),
    )
    def get(self, request):
        profession = request.query_params.get("profession")
        if profession is not None and parse_id(profession) is None:
            raise ValidationFailed([FieldError("profession", "must be a profession code")])
        professionals = professional_list(
            search=request.query_params.get("search", ""),
            profession=parse_id(profession),
        )
        return self.paginate(request, professionals, ProfessionalOutput)

    @extend_schema(request=ProfessionalInput, responses={201: ProfessionalOutput})
    def post(self, request):
        data, photo = _input(request)
        professional = professional_create(data=data, by=request.user, photo=photo)
        output = ProfessionalOutput(professional, context={"request": request})
        return Response(output.data, status=status.HTTP_201_CREATED)


class ProfessionalDetailAPI(ServiceAPIView):
    required_permissions = {
        "GET": "issuance.view_professional",
        "PATCH": "issuance.change_professional",
        "PUT": "issuance.change_professional",
    }
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=ProfessionalOutput)
    def get(self, request, pk: int):
        professional = get_object_or_404(professional_list(), pk=pk)
        return Response(ProfessionalOutput(professional, context={"request": request}).data)

    @extend_schema(request=ProfessionalInput, responses=ProfessionalOutput)
    def patch(self, request, pk: int):
        professional = get_object_or_404(Professional, pk=pk)
        data, photo = _input(request)
        professional = professional_update(
            professional=professional, data=data, by=request.user, photo=photo
        )
        return Response(ProfessionalOutput(professional, context={"request": request}).data)

    @extend_schema(request=ProfessionalInput, responses=ProfessionalOutput)
    def put(self, request, pk: int):
        return self.patch(request, pk)


class ImportErrorOutput(serializers.Serializer):
    row = serializers.IntegerField(source="line")
    field = serializers.CharField(source="column", allow_null=True)
    message = serializers.CharField()


class ImportReportOutput(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    invalid = serializers.IntegerField()
    written = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    file_sha256 = serializers.CharField()
    errors = ImportErrorOutput(many=True)


class ProfessionalImportAPI(ServiceAPIView):
    """CSV import: all-or-nothing unless skip_invalid; a failed import answers 400 with every bad
    row (`errors[].row` is the file's line number) and writes nothing."""

    required_permissions = {"POST": "issuance.import_professionals"}
    parser_classes = [MultiPartParser, FormParser]

    class ImportInput(serializers.Serializer):
        file = serializers.FileField()
        dry_run = serializers.BooleanField(default=False)
        skip_invalid = serializers.BooleanField(default=False)

        def validate_file(self, upload):
            if too_large := import_size_error(upload.size):
                raise serializers.ValidationError(too_large)
            return upload

    @extend_schema(
        request=ImportInput,
        responses={
            200: ImportReportOutput,
            400: inline_serializer(
                "ImportRejected",
                {
                    "code": serializers.CharField(),
                    "message": serializers.CharField(),
                    "errors": ImportErrorOutput(many=True),
                    "report": ImportReportOutput(),
                },
            ),
        },
    )
    def post(self, request):
        serializer = self.ImportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        report = professionals_import(
            content=upload.read(),
            by=request.user,
            file_name=upload.name or "",
            dry_run=serializer.validated_data["dry_run"],
            skip_invalid=serializer.validated_data["skip_invalid"],
        )
        output = ImportReportOutput(report).data
        if report.errors and not report.written and not report.dry_run:
            return Response(
                {
                    "code": "import_rejected",
                    "message": f"{report.invalid} invalid row(s); nothing was imported",
                    "errors": output["errors"],
                    "report": output,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(output)


class OrganisationInput(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True)
    finess = serializers.CharField(required=False, allow_blank=True)


class OrganisationListCreateAPI(ServiceAPIView):
    required_permissions = {
        "GET": "issuance.view_organisation",
        "POST": "issuance.add_organisation",
    }

    @extend_schema(
        parameters=[OpenApiParameter("search", str)], responses=OrganisationOutput(many=True)
    )
    def get(self, request):
        organisations = organisation_list(search=request.query_params.get("search", ""))
        return self.paginate(request, organisations, OrganisationOutput)

    @extend_schema(request=OrganisationInput, responses={201: OrganisationOutput})
    def post(self, request):
        serializer = OrganisationInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        organisation = organisation_create(
            name=serializer.validated_data.get("name", ""),
            finess=serializer.validated_data.get("finess", ""),
            by=request.user,
        )
        return Response(OrganisationOutput(organisation).data, status=status.HTTP_201_CREATED)


class OrganisationDetailAPI(ServiceAPIView):
    required_permissions = {
        "GET": "issuance.view_organisation",
        "PATCH": "issuance.change_organisation",
    }

    @extend_schema(responses=OrganisationOutput)
    def get(self, request, pk: int):
        return Response(OrganisationOutput(get_object_or_404(Organisation, pk=pk)).data)

    @extend_schema(request=OrganisationInput, responses=OrganisationOutput)
    def patch(self, request, pk: int):
        organisation = get_object_or_404(Organisation, pk=pk)
        serializer = OrganisationInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "finess" in serializer.validated_data and (
            serializer.validated_data["finess"] != organisation.finess
        ):
            raise ValidationFailed([FieldError("finess", "the FINESS number cannot change")])
        organisation = organisation_update(
            organisation=organisation,
            name=serializer.validated_data.get("name", organisation.name),
            by=request.user,
        )
        return Response(OrganisationOutput(organisation).data)
