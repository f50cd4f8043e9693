from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from audit.events import EventType
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify, audit_event_list
from config.api import ServiceAPIView
from config.converters import parse_id
from config.errors import FieldError, ValidationFailed


class AuditEventOutput(serializers.ModelSerializer):
    event_name = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "sequence",
            "created_at",
            "actor",
            "event",
            "event_name",
            "object_type",
            "object_id",
            "payload",
            "prev_hash",
            "hash",
        ]

    def get_event_name(self, event) -> str:
        return event.event_type.name


class AuditEventListAPI(ServiceAPIView):
    required_permissions = {"GET": "audit.view_auditevent"}

    @extend_schema(
        parameters=[
            OpenApiParameter("event", int, description="event code, e.g. 201"),
            OpenApiParameter("object_type", str, description="e.g. cards.cardrequest"),
            OpenApiParameter("object_id", str),
        ],
        responses=AuditEventOutput(many=True),
    )
    def get(self, request):
        code = request.query_params.get("event")
        # parse_id, not str.isdigit(): "²" is a digit to isdigit() and a ValueError to int().
        number = parse_id(code)
        if code is not None and number not in EventType._value2member_map_:
            raise ValidationFailed([FieldError("event", f"{code!r} is not an event code")])
        events = audit_event_list(
            event=number,
            object_type=request.query_params.get("object_type", ""),
            object_id=request.query_params.get("object_id", ""),
        )
        return self.paginate(request, events, AuditEventOutput)


class AuditEventDetailAPI(ServiceAPIView):
    required_permissions = {"GET": "audit.view_auditevent"}

    @extend_schema(responses=AuditEventOutput)
    def get(self, request, sequence: int):
        return Response(AuditEventOutput(get_object_or_404(AuditEvent, sequence=sequence)).data)


class AuditVerifyAPI(ServiceAPIView):
    """Verify the whole hash chain now, as `manage.py verify_audit` does."""

    required_permissions = {"GET": "audit.view_auditevent"}

    @extend_schema(
        responses=inline_serializer(
            "AuditChainReport",
            {
                "intact": serializers.BooleanField(),
                "checked": serializers.IntegerField(),
                "broken_at": serializers.IntegerField(allow_null=True),
                "reason": serializers.CharField(),
                "first_hash": serializers.CharField(allow_null=True),
                "last_hash": serializers.CharField(allow_null=True),
                "checkpoints": serializers.IntegerField(
                    help_text="signed checkpoints verified (docs/audit.md)"
                ),
                "last_checkpoint": inline_serializer(
                    "AuditCheckpointAnchor",
                    {
                        "sequence": serializers.IntegerField(),
                        "head_hash": serializers.CharField(),
                        "time": serializers.DateTimeField(),
                        "root_sha256": serializers.CharField(),
                    },
                    allow_null=True,
                ),
            },
        )
    )
    def get(self, request):
        report = audit_chain_verify()
        last = report.checkpoints[-1] if report.checkpoints else None
        return Response(
            {
                "intact": report.intact,
                "checked": report.checked,
                "broken_at": report.broken_at,
                "reason": report.reason,
                "first_hash": report.first_hash,
                "last_hash": report.last_hash,
                "checkpoints": len(report.checkpoints),
                "last_checkpoint": (
                    {
                        "sequence": last.sequence,
                        "head_hash": last.head_hash,
                        "time": last.time,
                        "root_sha256": last.root_sha256,
                    }
                    if last
                    else None
                ),
            }
        )


urlpatterns = [
    path("audit-events/", AuditEventListAPI.as_view()),
    path("audit-events/verify/", AuditVerifyAPI.as_view()),
    path("audit-events/<id:sequence>/", AuditEventDetailAPI.as_view()),
]
