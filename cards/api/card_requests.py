from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from cardprofiles.models import CardProfile
from cards.models import CardRequest
from cards.selectors import card_request_list
from cards.services.card_requests import (
    card_request_approve,
    card_request_cancel,
    card_request_reject,
    card_request_submit,
)
from config.api import DecisionAPIView, DecisionInput, ServiceAPIView
from config.converters import parse_id
from config.errors import FieldError, ValidationFailed
from issuance.models import Professional


class CardRequestOutput(serializers.ModelSerializer):
    professional = serializers.SerializerMethodField()
    profile = serializers.CharField(source="card_profile.name")
    profile_version = serializers.IntegerField(source="profile_version.number")
    submitted_by = serializers.CharField(source="submitted_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True)
    cancelled_by = serializers.CharField(source="cancelled_by.username", allow_null=True)

    class Meta:
        model = CardRequest
        fields = [
            "id",
            "professional",
            "profile",
            "profile_version",
            "reason",
            "status",
            "comment",
            "submitted_by",
            "submitted_at",
            "decided_by",
            "decided_at",
            "decision_reason",
            "cancelled_by",
            "cancelled_at",
            "identity",
            "identity_sha256",
            "approved_identity_sha256",
        ]

    def get_professional(self, card_request) -> dict:
        professional = card_request.professional
        return {
            "id": professional.pk,
            "rpps": professional.rpps,
            "name": professional.full_name,
        }


class CardRequestListCreateAPI(ServiceAPIView):
    required_permissions = {"GET": "cards.view_cardrequest", "POST": "cards.add_cardrequest"}

    class SubmitInput(serializers.Serializer):
        professional = serializers.CharField(help_text="the professional's id or RPPS number")
        profile = serializers.CharField(help_text="card profile name, e.g. hpc-physician")
        reason = serializers.ChoiceField(
            choices=CardRequest.Reason.choices, default=CardRequest.Reason.NEW
        )
        comment = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=CardRequest.Status.values),
            OpenApiParameter("search", str, description="the professional's RPPS or name"),
        ],
        responses=CardRequestOutput(many=True),
    )
    def get(self, request):
        wanted = request.query_params.get("status", "")
        if wanted and wanted not in CardRequest.Status.values:
            raise ValidationFailed(
                [FieldError("status", f"must be one of {', '.join(CardRequest.Status.values)}")]
            )
        requests = card_request_list(status=wanted, search=request.query_params.get("search", ""))
        return self.paginate(request, requests, CardRequestOutput)

    @extend_schema(request=SubmitInput, responses={201: CardRequestOutput})
    def post(self, request):
        serializer = self.SubmitInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        reference = data["professional"].strip()
        lookup = {"rpps": reference} if len(reference) == 11 else {"pk": reference}
        professional = (
            # parse_id: "²" passes str.isdigit() and fails int() (a 500 before).
            Professional.objects.filter(**lookup).first()
            if parse_id(reference) is not None
            else None
        )
        if professional is None:
            raise ValidationFailed([FieldError("professional", f"no professional {reference!r}")])
        profile = CardProfile.objects.filter(name=data["profile"]).first()
        if profile is None:
            raise ValidationFailed([FieldError("profile", f"no card profile {data['profile']!r}")])
        card_request = card_request_submit(
            professional=professional,
            profile=profile,
            reason=data["reason"],
            comment=data["comment"],
            by=request.user,
        )
        return Response(CardRequestOutput(card_request).data, status=status.HTTP_201_CREATED)


class CardRequestDetailAPI(ServiceAPIView):
    required_permissions = {"GET": "cards.view_cardrequest"}

    @extend_schema(responses=CardRequestOutput)
    def get(self, request, pk: int):
        return Response(CardRequestOutput(get_object_or_404(card_request_list(), pk=pk)).data)


class ApproveInput(DecisionInput):
    identity_sha256 = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        required=False,
        help_text="SHA-256 of the identity snapshot the approver was shown (from GET)",
    )


@extend_schema_view(post=extend_schema(request=ApproveInput, responses=CardRequestOutput))
class CardRequestApproveAPI(DecisionAPIView):
    """Approve a submitted request for the identity snapshot it carries. Refused (403, code
    four_eyes) to the request's submitter; refused (409, identity_changed) when
    `identity_sha256` is given and is not the snapshot's (the client approved something else)."""

    required_permissions = {"POST": "cards.decide_cardrequest"}
    model, object_name, output = CardRequest, "card_request", CardRequestOutput
    service = staticmethod(card_request_approve)
    input_class = ApproveInput


_DECISION_SCHEMA = extend_schema_view(
    post=extend_schema(request=DecisionInput, responses=CardRequestOutput)
)


@_DECISION_SCHEMA
class CardRequestRejectAPI(DecisionAPIView):
    """Reject a submitted request with a reason. Refused (403, four_eyes) to its submitter."""

    required_permissions = {"POST": "cards.decide_cardrequest"}
    model, object_name, output = CardRequest, "card_request", CardRequestOutput
    service = staticmethod(card_request_reject)


@_DECISION_SCHEMA
class CardRequestCancelAPI(DecisionAPIView):
    """Withdraw a request nobody has decided on yet; only its submitter may."""

    required_permissions = {"POST": "cards.cancel_cardrequest"}
    model, object_name, output = CardRequest, "card_request", CardRequestOutput
    service = staticmethod(card_request_cancel)
