"""REST API of the PKI: /api/v1/cas/ and /api/v1/certificates/ (with four-eyes revocation).

Thin views: parse input with a nested serializer, call one selector or service, render. Errors
are domain errors mapped to the one error shape by config.api.exception_handler.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypedDict

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import DecisionAPIView, HasPermission
from config.converters import ID_MAX
from pki import profiles, selectors
from pki.models import Certificate, CertificateAuthority, RevocationRequest
from pki.reasons import END_ENTITY_REASON_NAMES, RevocationReason
from pki.services.revocation import (
    revocation_request_approve,
    revocation_request_cancel,
    revocation_request_reject,
    revocation_request_submit,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from issuance.models import Professional

_STATUS_FILTERS = [*Certificate.Status.values, "expired"]


class CrlSummary(TypedDict):
    number: int
    this_update: dt.datetime
    next_update: dt.datetime
    entries: int


class CaOutput(serializers.ModelSerializer[CertificateAuthority]):
    # DRF's stubs give every field a `parent` (the serializer it is bound to); DRF itself moves a
    # declared field of that name into `_declared_fields`, which the stubs cannot express.
    parent: serializers.SlugRelatedField[CertificateAuthority] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )  # type: ignore[assignment]
    crl = serializers.SerializerMethodField()
    urls = serializers.SerializerMethodField()

    class Meta:
        model = CertificateAuthority
        fields = [
            "slug",
            "name",
            "purpose",
            "parent",
            "is_current",
            "key_backend",
            "key_algorithm",
            "serial",
            "subject",
            "not_before",
            "not_after",
            "subject_key_identifier",
            "fingerprint_sha256",
            "crl",
            "urls",
        ]

    # The schema documents these two as free-form objects, as before they had typed hints.
    @extend_schema_field({"type": "object", "additionalProperties": {}, "nullable": True})
    def get_crl(self, ca: CertificateAuthority) -> CrlSummary | None:
        crl = getattr(ca, "current_crl", None)
        if crl is None:
            return None
        return {
            "number": crl.number,
            "this_update": crl.this_update,
            "next_update": crl.next_update,
            "entries": crl.entries,
        }

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_urls(self, ca: CertificateAuthority) -> dict[str, str]:
        urls = {
            "certificate": profiles.ca_certificate_url(ca.slug),
            "crl": profiles.crl_url(ca.slug),
        }
        if not ca.is_root:
            urls["ocsp"] = profiles.ocsp_url(ca.slug)
        return urls


class CertificateOutput(serializers.ModelSerializer[Certificate]):
    ca: serializers.SlugRelatedField[CertificateAuthority] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    professional: serializers.SlugRelatedField[Professional] = serializers.SlugRelatedField(
        slug_field="rpps", read_only=True
    )
    revocation_reason = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = [
            "id",
            "serial",
            "ca",
            "profile",
            "card_slot",
            "subject",
            "professional",
            "status",
            "not_before",
            "not_after",
            "issued_at",
            "revoked_at",
            "revocation_reason",
            "fingerprint_sha256",
        ]

    def get_revocation_reason(self, certificate: Certificate) -> str | None:
        if certificate.revocation_reason is None:
            return None
        return RevocationReason(certificate.revocation_reason).label


class CertificateDetailOutput(CertificateOutput):
    pem = serializers.CharField(read_only=True)

    class Meta(CertificateOutput.Meta):
        fields = [*CertificateOutput.Meta.fields, "pem"]


class RevocationRequestOutput(serializers.ModelSerializer[RevocationRequest]):
    certificate: serializers.PrimaryKeyRelatedField[Certificate] = (
        serializers.PrimaryKeyRelatedField(read_only=True)
    )
    serial = serializers.CharField(source="certificate.serial", read_only=True)
    ca = serializers.CharField(source="certificate.ca.slug", read_only=True)
    reason = serializers.SerializerMethodField()
    requested_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    decided_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = RevocationRequest
        fields = [
            "id",
            "certificate",
            "serial",
            "ca",
            "reason",
            "comment",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_comment",
        ]

    def get_reason(self, request: RevocationRequest) -> str:
        return RevocationReason(request.reason).label


class CaListAPI(ListAPIView[CertificateAuthority]):
    permission_classes = [HasPermission]
    required_permissions = {"GET": "pki.view_certificateauthority"}
    serializer_class = CaOutput

    def get_queryset(self) -> QuerySet[CertificateAuthority]:
        return selectors.ca_list()


class CaDetailAPI(GenericAPIView[CertificateAuthority]):
    permission_classes = [HasPermission]
    required_permissions = {"GET": "pki.view_certificateauthority"}
    serializer_class = CaOutput

    def get(self, request: Request, slug: str) -> Response:
        return Response(CaOutput(selectors.ca_get(slug=slug)).data)


class CertificateListAPI(ListAPIView[Certificate]):
    permission_classes = [HasPermission]
    required_permissions = {"GET": "pki.view_certificate"}
    serializer_class = CertificateOutput

    class CertificateFilterInput(serializers.Serializer[None]):
        professional = serializers.RegexField(r"^[0-9]{11}$", required=False)
        status = serializers.ChoiceField(choices=_STATUS_FILTERS, required=False)
        profile = serializers.ChoiceField(choices=Certificate.Profile.values, required=False)
        ca = serializers.SlugField(required=False)
        serial = serializers.RegexField(r"^(0x)?[0-9A-Fa-f:]{1,60}$", required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("professional", str, description="RPPS number"),
            OpenApiParameter("status", str, enum=_STATUS_FILTERS),
            OpenApiParameter("profile", str, enum=Certificate.Profile.values),
            OpenApiParameter("ca", str, description="CA slug"),
            OpenApiParameter("serial", str, description="serial number, hex"),
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Certificate]:
        filters = self.CertificateFilterInput(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.certificate_list(**filters.validated_data)


class CertificateDetailAPI(GenericAPIView[Certificate]):
    permission_classes = [HasPermission]
    required_permissions = {"GET": "pki.view_certificate"}
    serializer_class = CertificateDetailOutput

    def get(self, request: Request, pk: int) -> Response:
        return Response(CertificateDetailOutput(selectors.certificate_get(pk=pk)).data)


def _reason_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=END_ENTITY_REASON_NAMES,
        help_text="RFC 5280 §5.3.1 reason; certificateHold puts on hold, removeFromCRL releases.",
    )


class CertificateRevokeAPI(GenericAPIView[RevocationRequest]):
    """Ask for the revocation (or hold, or release) of a certificate; another officer decides."""

    permission_classes = [HasPermission]
    required_permissions = {"POST": "pki.request_revocation"}
    serializer_class = RevocationRequestOutput

    class CertificateRevokeInput(serializers.Serializer[None]):
        reason = _reason_field()
        comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(request=CertificateRevokeInput, responses={201: RevocationRequestOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = self.CertificateRevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        revocation = revocation_request_submit(
            certificate=selectors.certificate_get(pk=pk),
            reason=data.validated_data["reason"],
            comment=data.validated_data.get("comment", ""),
            by=request.user,
        )
        return Response(RevocationRequestOutput(revocation).data, status=status.HTTP_201_CREATED)


class RevocationRequestListAPI(ListAPIView[RevocationRequest]):
    permission_classes = [HasPermission]
    required_permissions = {"GET": "pki.view_revocationrequest"}
    serializer_class = RevocationRequestOutput

    class RevocationRequestFilterInput(serializers.Serializer[None]):
        status = serializers.ChoiceField(choices=RevocationRequest.Status.values, required=False)
        certificate = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=RevocationRequest.Status.values),
            OpenApiParameter("certificate", int),
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[RevocationRequest]:
        filters = self.RevocationRequestFilterInput(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.revocation_request_list(**filters.validated_data)


class RevocationRequestDetailAPI(GenericAPIView[RevocationRequest]):
    permission_classes = [HasPermission]
    required_permissions = {"GET": "pki.view_revocationrequest"}
    serializer_class = RevocationRequestOutput

    def get(self, request: Request, pk: int) -> Response:
        return Response(RevocationRequestOutput(selectors.revocation_request_get(pk=pk)).data)


class RevocationDecisionInput(serializers.Serializer[None]):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class _RevocationDecisionAPI(DecisionAPIView):
    model, object_name, output = RevocationRequest, "revocation_request", RevocationRequestOutput
    input_class: type[serializers.Serializer[None]] = RevocationDecisionInput


_DECISION_SCHEMA = extend_schema_view(
    post=extend_schema(request=RevocationDecisionInput, responses={200: RevocationRequestOutput})
)


@_DECISION_SCHEMA
class RevocationRequestApproveAPI(_RevocationDecisionAPI):
    """Approve another officer's revocation request; the certificate is revoked at once."""

    required_permissions = {"POST": "pki.decide_revocation"}
    service = staticmethod(revocation_request_approve)


@_DECISION_SCHEMA
class RevocationRequestRejectAPI(_RevocationDecisionAPI):
    required_permissions = {"POST": "pki.decide_revocation"}
    service = staticmethod(revocation_request_reject)


class _NoInput(serializers.Serializer[None]):
    pass


@extend_schema_view(post=extend_schema(request=None, responses={200: RevocationRequestOutput}))
class RevocationRequestCancelAPI(_RevocationDecisionAPI):
    """The requester withdraws their own pending request."""

    required_permissions = {"POST": "pki.request_revocation"}
    service = staticmethod(revocation_request_cancel)
    input_class = _NoInput
