"""/api/v1/cards/: personalized cards with their certificates by slot, and their documents as
PDF: the card face and the carrier (audited, on demand) and the PIN mailer (once, then gone).

The PIN mailer is a POST: downloading it destroys it, which no GET may do (a prefetching
browser, a proxy or a retried request would burn it). Its second download answers 409
`pin_mailer_gone`. No PDF response may be cached.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from cards.models import Card
from config.api import ServiceAPIView
from personalization.documents.responses import pdf_response
from personalization.selectors import (
    card_certificates,
    card_documents,
    card_job,
    card_list,
    card_pin_mailer,
)
from personalization.services.documents import card_document_render, pin_mailer_download
from pki.models import Certificate


class CardProfessionalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rpps = serializers.CharField()
    name = serializers.CharField(source="full_name")


class CardOutput(serializers.ModelSerializer):
    professional = CardProfessionalOutput()
    profile = serializers.CharField(source="card_profile.name")
    profile_version = serializers.IntegerField(source="profile_version.number")
    station = serializers.CharField(source="station.name", allow_null=True)
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Card
        fields = [
            "id",
            "serial",
            "uuid",
            "chip_serial",
            "professional",
            "profile",
            "profile_version",
            "card_request",
            "station",
            "status",
            "status_label",
            "issued_at",
            "expires_at",
        ]


class CardCertificateOutput(serializers.ModelSerializer):
    slot = serializers.CharField(source="card_slot")
    ca = serializers.CharField(source="ca.slug")

    class Meta:
        model = Certificate
        fields = [
            "slot",
            "id",
            "serial",
            "profile",
            "status",
            "ca",
            "not_before",
            "not_after",
            "fingerprint_sha256",
        ]


class CardDocumentLinksOutput(serializers.Serializer):
    card_face = serializers.URLField(allow_null=True, help_text="GET, application/pdf")
    carrier = serializers.URLField(allow_null=True, help_text="GET, application/pdf")
    pin_mailer = serializers.URLField(
        allow_null=True, help_text="POST, application/pdf, once; null once downloaded"
    )


class CardPinMailerOutput(serializers.Serializer):
    available = serializers.BooleanField()
    downloaded_at = serializers.DateTimeField(allow_null=True)
    downloaded_by = serializers.CharField(allow_null=True)


class CardJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    attempt = serializers.IntegerField()


class CardDetailOutput(CardOutput):
    certificates = serializers.SerializerMethodField()
    job = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()
    pin_mailer = serializers.SerializerMethodField()

    class Meta(CardOutput.Meta):
        fields = [*CardOutput.Meta.fields, "certificates", "job", "documents", "pin_mailer"]

    @extend_schema_field(CardCertificateOutput(many=True))
    def get_certificates(self, card) -> list[dict]:
        return CardCertificateOutput(card_certificates(card), many=True).data

    @extend_schema_field(CardJobOutput(allow_null=True))
    def get_job(self, card) -> dict | None:
        job = card_job(card)
        return CardJobOutput(job).data if job else None

    @extend_schema_field(CardDocumentLinksOutput)
    def get_documents(self, card) -> dict:
        available = card_documents(card)
        request = self.context["request"]

        def link(name: str, ok: bool) -> str | None:
            return request.build_absolute_uri(reverse(name, args=[card.pk])) if ok else None

        return {
            "card_face": link("api-card-face", available.card_face),
            "carrier": link("api-card-carrier", available.carrier),
            "pin_mailer": link("api-card-pin-mailer", available.pin_mailer),
        }

    @extend_schema_field(CardPinMailerOutput(allow_null=True))
    def get_pin_mailer(self, card) -> dict | None:
        mailer = card_pin_mailer(card)
        if mailer is None:
            return None
        return {
            "available": mailer.is_available,
            "downloaded_at": mailer.downloaded_at,
            "downloaded_by": mailer.downloaded_by.username if mailer.downloaded_by else None,
        }


class CardListAPI(ServiceAPIView):
    required_permissions = {"GET": "cards.view_card"}

    @extend_schema(
        parameters=[
            OpenApiParameter("professional", str, description="RPPS number, or words of the name"),
            OpenApiParameter("status", str, enum=Card.Status.values),
            OpenApiParameter("serial", str, description="the printed serial, or its start"),
        ],
        responses=CardOutput(many=True),
    )
    def get(self, request):
        cards = card_list(
            professional=request.query_params.get("professional", ""),
            status=request.query_params.get("status", ""),
            serial=request.query_params.get("serial", ""),
        )
        return self.paginate(request, cards, CardOutput)


class CardDetailAPI(ServiceAPIView):
    required_permissions = {"GET": "cards.view_card"}

    @extend_schema(responses=CardDetailOutput)
    def get(self, request, pk: int):
        card = get_object_or_404(card_list(), pk=pk)
        return Response(CardDetailOutput(card, context={"request": request}).data)


ApiErrorOutput = inline_serializer(
    "CardDocumentError",
    {
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "errors": serializers.ListField(child=serializers.DictField()),
    },
)


class CardDocumentAPIView(ServiceAPIView):
    def perform_content_negotiation(self, request, force=False):
        # The PDF goes out as it is; the renderer only ever writes errors, in their one JSON
        # shape, even for a client that sent `Accept: application/pdf`.
        return super().perform_content_negotiation(request, force=True)


_PDF = {
    (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="the PDF"),
    (409, "application/json"): OpenApiResponse(
        ApiErrorOutput, description="the card is not personalized (card_not_personalized)"
    ),
}


class CardFaceAPI(CardDocumentAPIView):
    """The card face proof for the card printer: two ID-1 pages (front and back)."""

    required_permissions = {"GET": "cards.download_card_documents"}

    @extend_schema(operation_id="v1_cards_card_face_retrieve", responses=_PDF)
    def get(self, request, pk: int):
        card = get_object_or_404(Card, pk=pk)
        return pdf_response(
            card_document_render(card=card, kind="card-face", by=request.user),
            card=card,
            kind="card-face",
        )


class CardCarrierAPI(CardDocumentAPIView):
    """The carrier letter (A4, the address in the envelope window; never the PIN)."""

    required_permissions = {"GET": "cards.download_card_documents"}

    @extend_schema(operation_id="v1_cards_carrier_retrieve", responses=_PDF)
    def get(self, request, pk: int):
        card = get_object_or_404(Card, pk=pk)
        return pdf_response(
            card_document_render(card=card, kind="carrier", by=request.user),
            card=card,
            kind="carrier",
        )


class CardPinMailerAPI(CardDocumentAPIView):
    """The PIN mailer, once: its PIN and PUK are destroyed as it is sent. Again: 409
    `pin_mailer_gone`, naming who downloaded it and when."""

    required_permissions = {"POST": "cards.download_pinmailer"}

    @extend_schema(
        operation_id="v1_cards_pin_mailer_create",
        request=None,
        responses={
            **_PDF,
            (409, "application/json"): OpenApiResponse(
                ApiErrorOutput,
                description="already downloaded (pin_mailer_gone), or the card is not "
                "personalized (card_not_personalized)",
            ),
        },
    )
    def post(self, request, pk: int):
        card = get_object_or_404(Card, pk=pk)
        return pdf_response(
            pin_mailer_download(card=card, by=request.user), card=card, kind="pin-mailer"
        )
