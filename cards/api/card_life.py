"""/api/v1/cards/{id}/…: a card's life after personalization (cards/services/cards.py), and
/api/v1/card-actions/: suspension, resumption and revocation asked by one officer and approved
by another (cards/services/card_actions.py).

Activation is the holder's: their middleware asks for a challenge for the card's serial, signs
it with the card's authentication key (after the PIN) and sends the signature back. Those two
calls need no account (the signature is the proof); a card has few challenges open at once.
"""

from __future__ import annotations

import base64
import binascii

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from cards.models import Card, CardActionRequest, EscrowedKey, KeyRecoveryRequest
from cards.services.card_actions import (
    COMMENT_MAX_LENGTH,
    card_action_approve,
    card_action_cancel,
    card_action_reject,
    card_action_request,
    card_revoke_emergency,
)
from cards.services.cards import (
    card_activate,
    card_activation_challenge,
    card_deliver,
    card_destroy,
)
from cards.services.key_recovery import (
    key_recovery_approve,
    key_recovery_reject,
    key_recovery_request,
)
from config.api import DecisionAPIView, ServiceAPIView
from config.errors import FieldError, ValidationFailed


class CardStateOutput(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Card
        fields = [
            "id",
            "serial",
            "status",
            "status_label",
            "delivered_at",
            "activated_at",
            "revoked_at",
            "revocation_reason",
            "destroyed_at",
            "expires_at",
        ]


class CommentInput(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=COMMENT_MAX_LENGTH
    )


class CardDeliveryAPI(ServiceAPIView):
    """Record the card handed over to its holder (or posted): delivered, waiting for the holder
    to activate it. 409 `card_transition_refused` from any state but personalized."""

    required_permissions = {"POST": "cards.deliver_card"}

    @extend_schema(request=CommentInput, responses=CardStateOutput)
    def post(self, request, pk: int):
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        card = card_deliver(
            card=get_object_or_404(Card, pk=pk), by=request.user, **data.validated_data
        )
        return Response(CardStateOutput(card).data)


class CardDestructionAPI(ServiceAPIView):
    """Record a returned card (revoked, expired or failed) physically destroyed."""

    required_permissions = {"POST": "cards.destroy_card"}

    @extend_schema(request=CommentInput, responses=CardStateOutput)
    def post(self, request, pk: int):
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        card = card_destroy(
            card=get_object_or_404(Card, pk=pk), by=request.user, **data.validated_data
        )
        return Response(CardStateOutput(card).data)


class EmergencyRevocationInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Card.RevocationReason.choices)
    comment = serializers.CharField(max_length=COMMENT_MAX_LENGTH, help_text="why it cannot wait")


class CardEmergencyRevocationAPI(ServiceAPIView):
    """An administrator revokes the card alone, at once; the audit event is flagged
    `emergency`. Everyone else asks through /card-actions/ for a second officer."""

    required_permissions = {"POST": "cards.revoke_card_emergency"}

    @extend_schema(request=EmergencyRevocationInput, responses=CardStateOutput)
    def post(self, request, pk: int):
        data = EmergencyRevocationInput(data=request.data)
        data.is_valid(raise_exception=True)
        card = card_revoke_emergency(
            card=get_object_or_404(Card, pk=pk), by=request.user, **data.validated_data
        )
        return Response(CardStateOutput(card).data)


# --- activation, by the holder -------------------------------------------------------------


class ActivationThrottle(AnonRateThrottle):
    scope = "card_activation"
    rate = "30/minute"


class ActivationChallengeOutput(serializers.Serializer):
    challenge_id = serializers.IntegerField(source="pk")
    challenge = serializers.SerializerMethodField(help_text="base64: sign these bytes")
    expires_at = serializers.DateTimeField()

    def get_challenge(self, challenge) -> str:
        return base64.b64encode(bytes(challenge.challenge)).decode()


def _card_by_serial(serial: str) -> Card:
    return get_object_or_404(Card, serial=serial)


class ActivationChallengeAPI(APIView):
    """A one-time challenge for the delivered card `serial` (valid 10 minutes): the holder's
    middleware signs its bytes with the card's authentication key (9A) after VERIFY PIN,
    ECDSA-SHA256 or RSA PKCS#1 v1.5 SHA-256 (`pkcs11-tool --sign -m ECDSA-SHA256`)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ActivationThrottle]

    @extend_schema(request=None, responses={201: ActivationChallengeOutput})
    def post(self, request, serial: str):
        challenge = card_activation_challenge(card=_card_by_serial(serial))
        return Response(ActivationChallengeOutput(challenge).data, status=status.HTTP_201_CREATED)


class ActivationInput(serializers.Serializer):
    challenge_id = serializers.IntegerField()
    signature = serializers.CharField(help_text="base64 of the card's signature over the challenge")

    def validate_signature(self, value: str) -> bytes:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("not base64") from None


class ActivationAPI(APIView):
    """Activate the delivered card `serial` with its signature over a challenge: active; the
    holder's earlier card of the same profile is revoked (superseded). 400 `validation_error`
    on `signature` or `challenge` otherwise (one attempt per challenge)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ActivationThrottle]

    @extend_schema(request=ActivationInput, responses=CardStateOutput)
    def post(self, request, serial: str):
        data = ActivationInput(data=request.data)
        data.is_valid(raise_exception=True)
        card = card_activate(card=_card_by_serial(serial), **data.validated_data)
        return Response(CardStateOutput(card).data)


# --- four eyes: suspension, resumption, revocation -------------------------------------------


class CardActionOutput(serializers.ModelSerializer):
    card = serializers.SerializerMethodField()
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True)

    class Meta:
        model = CardActionRequest
        fields = [
            "id",
            "card",
            "action",
            "reason",
            "comment",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_comment",
        ]

    def get_card(self, row) -> dict:
        card = row.card
        return {
            "id": card.pk,
            "serial": card.serial,
            "status": card.status,
            "professional": card.professional.rpps,
        }


class CardActionInput(serializers.Serializer):
    card = serializers.IntegerField(help_text="the card's id")
    action = serializers.ChoiceField(choices=CardActionRequest.Action.choices)
    reason = serializers.ChoiceField(
        choices=Card.RevocationReason.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="for a revocation: what happened to the card",
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=COMMENT_MAX_LENGTH
    )


def _queryset():
    return CardActionRequest.objects.select_related(
        "card__professional", "requested_by", "decided_by"
    )


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=CardActionRequest.Status.values),
            OpenApiParameter("card", int),
        ],
        responses=CardActionOutput(many=True),
    ),
    post=extend_schema(request=CardActionInput, responses={201: CardActionOutput}),
)
class CardActionListCreateAPI(ServiceAPIView):
    required_permissions = {
        "GET": "cards.view_cardactionrequest",
        "POST": "cards.request_cardaction",
    }

    def get(self, request):
        rows = _queryset()
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in CardActionRequest.Status.values:
                names = ", ".join(CardActionRequest.Status.values)
                raise ValidationFailed([FieldError("status", f"unknown status (use {names})")])
            rows = rows.filter(status=wanted)
        card = request.query_params.get("card")
        if card:
            if not card.isdigit():
                raise ValidationFailed([FieldError("card", "a card id (digits)")])
            rows = rows.filter(card_id=int(card))
        return self.paginate(request, rows, CardActionOutput)

    def post(self, request):
        data = CardActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        card = Card.objects.filter(pk=values.pop("card")).first()
        if card is None:
            raise ValidationFailed([FieldError("card", "no such card")])
        row = card_action_request(card=card, by=request.user, **values)
        return Response(CardActionOutput(_queryset().get(pk=row.pk)).data, status=201)


class CardActionDetailAPI(ServiceAPIView):
    required_permissions = {"GET": "cards.view_cardactionrequest"}

    @extend_schema(responses=CardActionOutput)
    def get(self, request, pk: int):
        return Response(CardActionOutput(get_object_or_404(_queryset(), pk=pk)).data)


class DecisionCommentInput(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=COMMENT_MAX_LENGTH
    )


_DECISION = extend_schema_view(
    post=extend_schema(request=DecisionCommentInput, responses=CardActionOutput)
)


class _CardActionDecision(DecisionAPIView):
    model, object_name, output = CardActionRequest, "card_action", CardActionOutput
    input_class = DecisionCommentInput


@_DECISION
class CardActionApproveAPI(_CardActionDecision):
    """Approve another officer's request: the card is suspended, resumed or revoked now, its
    certificates held, released or revoked (CRL regenerated, OCSP at once). 403 `four_eyes` to
    the officer who asked; 409 `card_transition_refused` if the card moved meanwhile."""

    required_permissions = {"POST": "cards.decide_cardactionrequest"}
    service = staticmethod(card_action_approve)


@_DECISION
class CardActionRejectAPI(_CardActionDecision):
    """Reject another officer's request, saying why (`comment` required)."""

    required_permissions = {"POST": "cards.decide_cardactionrequest"}
    service = staticmethod(card_action_reject)


@extend_schema_view(post=extend_schema(request=None, responses=CardActionOutput))
class CardActionCancelAPI(_CardActionDecision):
    """Withdraw your own pending request."""

    required_permissions = {"POST": "cards.request_cardaction"}
    service = staticmethod(card_action_cancel)
    input_class = serializers.Serializer


# --- key recovery to anyone but the holder's new card: one asks, two approve ----------------


class KeyRecoveryOutput(serializers.ModelSerializer):
    card = serializers.CharField(source="escrowed_key.card.serial")
    slot = serializers.CharField(source="escrowed_key.slot")
    requested_by = serializers.CharField(source="requested_by.username")
    first_approver = serializers.CharField(source="first_approver.username", allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True)

    class Meta:
        model = KeyRecoveryRequest
        fields = [
            "id",
            "card",
            "slot",
            "recipient",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "first_approver",
            "first_approved_at",
            "decided_by",
            "decided_at",
            "decision_comment",
            "recovered_at",
        ]


class KeyRecoveryInput(serializers.Serializer):
    card = serializers.IntegerField(help_text="the card whose escrowed key is recovered")
    slot = serializers.CharField(default="9D")
    recipient = serializers.CharField(max_length=200, help_text="who receives it, as what")
    reason = serializers.CharField(max_length=COMMENT_MAX_LENGTH, help_text="why, with references")


def _recoveries():
    return KeyRecoveryRequest.objects.select_related(
        "escrowed_key__card", "requested_by", "first_approver", "decided_by"
    )


@extend_schema_view(
    get=extend_schema(responses=KeyRecoveryOutput(many=True)),
    post=extend_schema(request=KeyRecoveryInput, responses={201: KeyRecoveryOutput}),
)
class KeyRecoveryListCreateAPI(ServiceAPIView):
    """Ask for an escrowed key to be recovered to someone else than its holder's new card; two
    other officers approve; it is then written once by `manage.py recover_key`."""

    required_permissions = {
        "GET": "cards.view_keyrecoveryrequest",
        "POST": "cards.request_keyrecovery",
    }

    def get(self, request):
        return self.paginate(request, _recoveries(), KeyRecoveryOutput)

    def post(self, request):
        data = KeyRecoveryInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        escrowed = EscrowedKey.objects.filter(
            card_id=values.pop("card"), slot=values.pop("slot").upper()
        ).first()
        if escrowed is None:
            raise ValidationFailed([FieldError("card", "no escrowed key of that card and slot")])
        row = key_recovery_request(escrowed_key=escrowed, by=request.user, **values)
        return Response(KeyRecoveryOutput(_recoveries().get(pk=row.pk)).data, status=201)


class _KeyRecoveryDecision(DecisionAPIView):
    model, object_name, output = KeyRecoveryRequest, "key_recovery", KeyRecoveryOutput
    input_class = DecisionCommentInput
    required_permissions = {"POST": "cards.decide_keyrecovery"}


@_DECISION
class KeyRecoveryApproveAPI(_KeyRecoveryDecision):
    """The first or the second approval (by two officers other than the one who asked)."""

    service = staticmethod(key_recovery_approve)


@_DECISION
class KeyRecoveryRejectAPI(_KeyRecoveryDecision):
    """Reject, saying why (`comment` required)."""

    service = staticmethod(key_recovery_reject)
