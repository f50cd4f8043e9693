"""/api/v1/stations/: encoder stations, their status and current job; administrators add and
change them."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from config.api import ServiceAPIView
from config.errors import FieldError, ValidationFailed
from personalization.models import EncoderStation
from personalization.selectors import STATION_STATUSES, station_current_job, station_list
from personalization.services.stations import station_create, station_update


class StationCurrentJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    card_request = serializers.IntegerField(source="card_request_id")
    current_step = serializers.CharField()


class StationOutput(serializers.ModelSerializer):
    enabled = serializers.BooleanField(source="is_enabled")
    queue = serializers.CharField()
    status = serializers.ChoiceField(
        choices=STATION_STATUSES,
        help_text="idle or busy while its worker answers; offline when it has not been heard "
        "from lately; disabled by an administrator",
    )
    current_job = serializers.SerializerMethodField()
    waiting_jobs = serializers.SerializerMethodField()

    class Meta:
        model = EncoderStation
        fields = [
            "id",
            "name",
            "description",
            "transport",
            "reader_pattern",
            "enabled",
            "takes_approved_requests",
            "printer_uri",
            "printer_sides",
            "printer_color",
            "printer_placement",
            "printer_state",
            "printer_checked_at",
            "queue",
            "status",
            "heartbeat_at",
            "worker",
            "current_job",
            "waiting_jobs",
            "created_at",
        ]

    @extend_schema_field(StationCurrentJobOutput(allow_null=True))
    def get_current_job(self, station) -> dict | None:
        job = station_current_job(station)
        return StationCurrentJobOutput(job).data if job else None

    def get_waiting_jobs(self, station) -> int:
        return getattr(station, "waiting_jobs", 0)


class StationInput(serializers.Serializer):
    name = serializers.CharField(
        help_text="lower-case letters, digits and dashes; the queue is station.<name>"
    )
    transport = serializers.ChoiceField(choices=EncoderStation.Transport.choices)
    reader_pattern = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="PC/SC: the reader's name, or a regular expression matching it",
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    takes_approved_requests = serializers.BooleanField(
        required=False,
        default=False,
        help_text="approved requests are queued here automatically (one station at most)",
    )


class StationUpdateInput(serializers.Serializer):
    """Any of these; name and transport never change (station_update names them if sent)."""

    description = serializers.CharField(required=False, allow_blank=True)
    reader_pattern = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="PC/SC: the reader's name, or a regular expression matching it",
    )
    enabled = serializers.BooleanField(
        source="is_enabled",
        required=False,
        help_text="false: the station takes no new job (and no longer takes approved "
        "requests); the job it is running finishes, waiting jobs wait; true: its waiting jobs "
        "are sent again",
    )
    takes_approved_requests = serializers.BooleanField(
        required=False,
        help_text="true moves automatic queueing of approved requests here from the station "
        "that had it",
    )
    printer_uri = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="its card printer: ipp://host:631/ipp/print, ipps://…, or a CUPS queue name "
        "on the station's host; empty for none",
    )
    printer_sides = serializers.CharField(required=False, help_text="front or both")
    printer_color = serializers.BooleanField(required=False)
    printer_placement = serializers.CharField(required=False, help_text="before or after encoding")


class StationListCreateAPI(ServiceAPIView):
    required_permissions = {
        "GET": "personalization.view_encoderstation",
        "POST": "personalization.add_encoderstation",
    }

    @extend_schema(responses=StationOutput(many=True))
    def get(self, request):
        return self.paginate(request, station_list(), StationOutput)

    @extend_schema(request=StationInput, responses={201: StationOutput})
    def post(self, request):
        serializer = StationInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        station = station_create(**serializer.validated_data, by=request.user)
        return Response(StationOutput(station).data, status=status.HTTP_201_CREATED)


class StationDetailAPI(ServiceAPIView):
    required_permissions = {
        "GET": "personalization.view_encoderstation",
        "PATCH": "personalization.change_encoderstation",
    }
    _FIXED = ("name", "transport")

    @extend_schema(responses=StationOutput)
    def get(self, request, pk: int):
        return Response(StationOutput(get_object_or_404(station_list(), pk=pk)).data)

    @extend_schema(request=StationUpdateInput, responses=StationOutput)
    def patch(self, request, pk: int):
        station = get_object_or_404(EncoderStation, pk=pk)
        serializer = StationUpdateInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        others = [field for field in request.data if field not in serializer.fields]
        unknown = [field for field in others if field not in self._FIXED]
        if unknown:  # a misspelt or read-only field is refused, not silently ignored
            raise ValidationFailed(
                [FieldError(f, "is not a station setting that can be changed") for f in unknown]
            )
        # name and transport: the service refuses them, saying why.
        changes.update({field: request.data[field] for field in others})
        station_update(station=station, by=request.user, **changes)
        return Response(StationOutput(get_object_or_404(station_list(), pk=pk)).data)
