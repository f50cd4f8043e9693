"""Privileged account changes over the API: ask (POST), list, approve, reject, cancel.

POST /privileged-changes/ asks for a change by kind. What needs a second administrator answers
201 with the pending change; what takes effect at once answers 200 with `"status": "applied"`.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.models import PrivilegedChange
from accounts.services.access import user_access_change
from accounts.services.privileged import (
    privileged_change_approve,
    privileged_change_cancel,
    privileged_change_reject,
)
from config.api import DecisionAPIView, DecisionInput, ServiceAPIView
from config.errors import FieldError, ValidationFailed


class PrivilegedChangeOutput(serializers.ModelSerializer):
    user = serializers.CharField(source="target.username")
    role = serializers.CharField(source="role.name", allow_null=True)
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True)

    class Meta:
        model = PrivilegedChange
        fields = [
            "id",
            "kind",
            "user",
            "role",
            "target_email",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_reason",
        ]


def _changes():
    return PrivilegedChange.objects.select_related("target", "role", "requested_by", "decided_by")


class PrivilegedChangeListCreateAPI(ServiceAPIView):
    required_permissions = {"GET": "accounts.view_privilegedchange", "POST": "auth.change_user"}

    class RequestInput(serializers.Serializer):
        kind = serializers.ChoiceField(choices=PrivilegedChange.Kind.choices)
        user = serializers.CharField(max_length=150, help_text="the username concerned")
        role = serializers.CharField(
            required=False, allow_blank=True, default="", help_text="for grant_role: the role"
        )
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=PrivilegedChange.Status.values)],
        responses=PrivilegedChangeOutput(many=True),
    )
    def get(self, request):
        wanted = request.query_params.get("status", "")
        if wanted and wanted not in PrivilegedChange.Status.values:
            values = ", ".join(PrivilegedChange.Status.values)
            raise ValidationFailed([FieldError("status", f"must be one of {values}")])
        changes = _changes().filter(status=wanted) if wanted else _changes()
        return self.paginate(request, changes, PrivilegedChangeOutput)

    @extend_schema(
        request=RequestInput,
        responses={
            201: PrivilegedChangeOutput,
            200: inline_serializer("PrivilegedChangeApplied", {"status": serializers.CharField()}),
        },
    )
    def post(self, request):
        serializer = self.RequestInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = get_user_model().objects.filter(username=data["user"]).first()
        if user is None:
            raise ValidationFailed([FieldError("user", f"no user {data['user']!r}")])
        role = None
        if data["role"]:
            role = Group.objects.filter(name=data["role"]).first()
            if role is None:
                raise ValidationFailed([FieldError("role", f"no role {data['role']!r}")])
        change = user_access_change(
            kind=data["kind"], user=user, role=role, reason=data["reason"], by=request.user
        )
        if change is None:
            return Response({"status": "applied"})
        return Response(PrivilegedChangeOutput(change).data, status=status.HTTP_201_CREATED)


class PrivilegedChangeDetailAPI(ServiceAPIView):
    required_permissions = {"GET": "accounts.view_privilegedchange"}

    @extend_schema(responses=PrivilegedChangeOutput)
    def get(self, request, pk: int):
        return Response(PrivilegedChangeOutput(get_object_or_404(_changes(), pk=pk)).data)


_DECISION_SCHEMA = extend_schema_view(
    post=extend_schema(request=DecisionInput, responses=PrivilegedChangeOutput)
)


class _PrivilegedChangeDecisionAPI(DecisionAPIView):
    model, object_name, output = PrivilegedChange, "change", PrivilegedChangeOutput


@_DECISION_SCHEMA
class PrivilegedChangeApproveAPI(_PrivilegedChangeDecisionAPI):
    """Approve and apply. Refused (403, four_eyes) to the requester and to the user concerned."""

    required_permissions = {"POST": "accounts.decide_privilegedchange"}
    service = staticmethod(privileged_change_approve)


@_DECISION_SCHEMA
class PrivilegedChangeRejectAPI(_PrivilegedChangeDecisionAPI):
    """Reject with a reason. Refused (403, four_eyes) to the requester and the user concerned."""

    required_permissions = {"POST": "accounts.decide_privilegedchange"}
    service = staticmethod(privileged_change_reject)


@_DECISION_SCHEMA
class PrivilegedChangeCancelAPI(_PrivilegedChangeDecisionAPI):
    """Withdraw a pending change; only the administrator who asked for it may."""

    required_permissions = {"POST": "auth.change_user"}
    service = staticmethod(privileged_change_cancel)


urlpatterns = [
    path("privileged-changes/", PrivilegedChangeListCreateAPI.as_view()),
    path("privileged-changes/<id:pk>/", PrivilegedChangeDetailAPI.as_view()),
    path("privileged-changes/<id:pk>/approve/", PrivilegedChangeApproveAPI.as_view()),
    path("privileged-changes/<id:pk>/reject/", PrivilegedChangeRejectAPI.as_view()),
    path("privileged-changes/<id:pk>/cancel/", PrivilegedChangeCancelAPI.as_view()),
]
