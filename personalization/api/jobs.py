"""/api/v1/jobs/ and /api/v1/batches/: personalization jobs with their progress, queueing on a
station (one request or many), retry, cancel and abandon; batches with their counts; approving
many card requests at once (/api/v1/card-requests/approve/).

Queueing answers 202: the job runs later, on the station's worker; follow it at jobs/{id}/.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from cards.models import CardRequest
from config.api import ServiceAPIView
from config.converters import parse_id
from config.errors import FieldError, ValidationFailed
from personalization.models import EncoderStation, JobBatch, PersonalizationJob
from personalization.runner.plan import step_names
from personalization.selectors import batch_get, batch_list, job_get, job_list, job_progress
from personalization.services.batches import card_requests_approve_batch
from personalization.services.jobs import (
    ABANDON_REASON_MAX_LENGTH,
    job_abandon,
    job_cancel,
    job_queue,
    job_retry,
    jobs_queue_many,
)


class JobProfessionalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rpps = serializers.CharField()
    name = serializers.CharField(source="full_name")


class JobCardRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    professional = JobProfessionalOutput()
    profile = serializers.CharField(source="card_profile.name")


class JobCardOutput(serializers.Serializer):
    id = serializers.IntegerField()
    serial = serializers.CharField()
    status = serializers.CharField()


class JobProgressOutput(serializers.Serializer):
    done = serializers.IntegerField(help_text="steps of the current attempt recorded as done")
    total = serializers.IntegerField(help_text="steps the job's card profile plans")


class PersonalizationJobOutput(serializers.ModelSerializer):
    card_request = JobCardRequestOutput()
    station = serializers.CharField(source="station.name")
    batch = serializers.PrimaryKeyRelatedField(read_only=True)
    status_label = serializers.CharField(source="get_status_display")
    progress = serializers.SerializerMethodField()
    card = JobCardOutput(allow_null=True)
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    stalled = serializers.SerializerMethodField(
        help_text="running, but its worker has been silent for CARDFORGE_JOB_STALE_SECONDS: "
        "it may be abandoned"
    )

    class Meta:
        model = PersonalizationJob
        fields = [
            "id",
            "card_request",
            "station",
            "batch",
            "status",
            "status_label",
            "attempt",
            "current_step",
            "progress",
            "card",
            "error_code",
            "error_message",
            "queued_at",
            "started_at",
            "heartbeat_at",
            "stalled",
            "finished_at",
            "created_by",
        ]

    def get_stalled(self, job) -> bool:
        return job.is_stalled()

    @extend_schema_field(JobProgressOutput)
    def get_progress(self, job) -> dict:
        progress = self.context.get("progress")
        if progress is not None:
            return {"done": progress.done, "total": progress.total}
        done = getattr(job, "steps_done", None)
        if done is None:
            done = job.steps.filter(attempt=job.attempt).count()
        return {"done": done, "total": len(step_names(job))}


class JobStepOutput(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    state = serializers.ChoiceField(choices=["done", "current", "failed", "pending"])
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    apdus = serializers.IntegerField(allow_null=True, help_text="APDUs the step sent the card")
    detail = serializers.JSONField(
        allow_null=True, help_text="what the journal keeps of the step (never a secret)"
    )


class PersonalizationJobDetailOutput(PersonalizationJobOutput):
    steps = serializers.SerializerMethodField()

    class Meta(PersonalizationJobOutput.Meta):
        fields = [*PersonalizationJobOutput.Meta.fields, "steps"]

    @extend_schema_field(JobStepOutput(many=True))
    def get_steps(self, job) -> list[dict]:
        return JobStepOutput(self.context["progress"].steps, many=True).data


def _job_detail(job: PersonalizationJob) -> dict:
    job = job_get(pk=job.pk)
    return PersonalizationJobDetailOutput(job, context={"progress": job_progress(job)}).data


def _station(name: str) -> EncoderStation:
    station = EncoderStation.objects.filter(name=name).first()
    if station is None:
        raise ValidationFailed([FieldError("station", f"no station named {name!r}")])
    return station


def _card_requests(ids: list[int], field: str) -> list[CardRequest]:
    found = CardRequest.objects.in_bulk(ids)
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationFailed(
            [FieldError(field, f"no card request #{', #'.join(map(str, missing))}")]
        )
    return [found[pk] for pk in dict.fromkeys(ids)]


class JobListQueueAPI(ServiceAPIView):
    required_permissions = {
        "GET": "personalization.view_personalizationjob",
        "POST": "personalization.add_personalizationjob",
    }

    class JobQueueInput(serializers.Serializer):
        card_request = serializers.IntegerField(help_text="an approved card request's id")
        station = serializers.CharField(help_text="the station's name")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=PersonalizationJob.Status.values),
            OpenApiParameter("station", str, description="station name"),
            OpenApiParameter("batch", int, description="batch id"),
        ],
        responses=PersonalizationJobOutput(many=True),
    )
    def get(self, request):
        batch = request.query_params.get("batch", "")
        if batch and parse_id(batch) is None:
            raise ValidationFailed([FieldError("batch", "must be a batch id")])
        jobs = job_list(
            status=request.query_params.get("status", ""),
            station=request.query_params.get("station", ""),
            batch=parse_id(batch),
        )
        return self.paginate(request, jobs, PersonalizationJobOutput)

    @extend_schema(request=JobQueueInput, responses={202: PersonalizationJobDetailOutput})
    def post(self, request):
        serializer = self.JobQueueInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        (card_request,) = _card_requests([data["card_request"]], "card_request")
        job = job_queue(
            card_request=card_request, station=_station(data["station"]), by=request.user
        )
        return Response(_job_detail(job), status=status.HTTP_202_ACCEPTED)


class JobBatchOutput(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    waiting = serializers.IntegerField()
    running = serializers.IntegerField()
    cancelled = serializers.IntegerField()

    class Meta:
        model = JobBatch
        fields = [
            "id",
            "name",
            "created_by",
            "created_at",
            "total",
            "done",
            "failed",
            "waiting",
            "running",
            "cancelled",
        ]


class JobBatchDetailOutput(JobBatchOutput):
    jobs = serializers.SerializerMethodField()

    class Meta(JobBatchOutput.Meta):
        fields = [*JobBatchOutput.Meta.fields, "jobs"]

    @extend_schema_field(PersonalizationJobOutput(many=True))
    def get_jobs(self, batch) -> list[dict]:
        return PersonalizationJobOutput(job_list(batch=batch.pk), many=True).data


class JobBatchQueueAPI(ServiceAPIView):
    """Queue many approved requests on one station as a batch: all or none."""

    required_permissions = {"POST": "personalization.add_personalizationjob"}

    class JobBatchQueueInput(serializers.Serializer):
        card_requests = serializers.ListField(
            child=serializers.IntegerField(), allow_empty=False, max_length=1000
        )
        station = serializers.CharField(help_text="the station's name")
        name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    @extend_schema(request=JobBatchQueueInput, responses={202: JobBatchDetailOutput})
    def post(self, request):
        serializer = self.JobBatchQueueInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        batch = jobs_queue_many(
            card_requests=_card_requests(data["card_requests"], "card_requests"),
            station=_station(data["station"]),
            name=data["name"],
            by=request.user,
        )
        return Response(
            JobBatchDetailOutput(batch_get(pk=batch.pk)).data, status=status.HTTP_202_ACCEPTED
        )


class JobDetailAPI(ServiceAPIView):
    required_permissions = {"GET": "personalization.view_personalizationjob"}

    @extend_schema(responses=PersonalizationJobDetailOutput)
    def get(self, request, pk: int):
        return Response(_job_detail(get_object_or_404(PersonalizationJob, pk=pk)))


class JobRetryAPI(ServiceAPIView):
    """A failed job runs again from the start, on a new blank card (409 not_failed otherwise)."""

    required_permissions = {"POST": "personalization.retry_personalizationjob"}

    @extend_schema(request=None, responses={202: PersonalizationJobDetailOutput})
    def post(self, request, pk: int):
        job = job_retry(job=get_object_or_404(PersonalizationJob, pk=pk), by=request.user)
        return Response(_job_detail(job), status=status.HTTP_202_ACCEPTED)


class JobCancelAPI(ServiceAPIView):
    """Withdraw a job no worker has started (409 not_waiting otherwise); its request stays
    approved."""

    required_permissions = {"POST": "personalization.cancel_personalizationjob"}

    @extend_schema(request=None, responses=PersonalizationJobDetailOutput)
    def post(self, request, pk: int):
        job = job_cancel(job=get_object_or_404(PersonalizationJob, pk=pk), by=request.user)
        return Response(_job_detail(job))


class JobAbandonAPI(ServiceAPIView):
    """End a stalled job whose worker will never come back (station gone, reader destroyed,
    card lost): the job fails ("abandoned"), its card fails and the card's certificates are
    revoked, its station is freed; the request stays approved, ready for a retry on a new card.
    409 not_started (a waiting job: cancel it), worker_alive (its worker still reports),
    not_running (the job has ended)."""

    required_permissions = {"POST": "personalization.abandon_personalizationjob"}

    class JobAbandonInput(serializers.Serializer):
        reason = serializers.CharField(
            max_length=ABANDON_REASON_MAX_LENGTH,
            help_text="why the job is abandoned; kept as the job's error message and audited",
        )

    @extend_schema(request=JobAbandonInput, responses=PersonalizationJobDetailOutput)
    def post(self, request, pk: int):
        job = get_object_or_404(PersonalizationJob, pk=pk)
        serializer = self.JobAbandonInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = job_abandon(job=job, by=request.user, reason=serializer.validated_data["reason"])
        return Response(_job_detail(job))


class JobBatchListAPI(ServiceAPIView):
    required_permissions = {"GET": "personalization.view_jobbatch"}

    @extend_schema(responses=JobBatchOutput(many=True))
    def get(self, request):
        return self.paginate(request, batch_list(), JobBatchOutput)


class JobBatchDetailAPI(ServiceAPIView):
    required_permissions = {"GET": "personalization.view_jobbatch"}

    @extend_schema(responses=JobBatchDetailOutput)
    def get(self, request, pk: int):
        return Response(JobBatchDetailOutput(get_object_or_404(batch_list(), pk=pk)).data)


class BatchApprovalOutput(serializers.Serializer):
    approved = serializers.ListField(child=serializers.IntegerField())
    batch = JobBatchDetailOutput(allow_null=True)


class CardRequestsApproveAPI(ServiceAPIView):
    """Approve many submitted requests at once: all or none, four eyes for each (an error names
    every request that cannot be approved). Their jobs, if a station takes approved requests,
    form one batch."""

    required_permissions = {"POST": "cards.decide_cardrequest"}

    class CardRequestsApproveInput(serializers.Serializer):
        card_requests = serializers.ListField(
            child=serializers.IntegerField(), allow_empty=False, max_length=1000
        )
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="v1_card_requests_approve_many",
        request=CardRequestsApproveInput,
        responses=BatchApprovalOutput,
    )
    def post(self, request):
        serializer = self.CardRequestsApproveInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = card_requests_approve_batch(
            card_requests=_card_requests(data["card_requests"], "card_requests"),
            reason=data["reason"],
            by=request.user,
        )
        batch = batch_get(pk=result.batch.pk) if result.batch else None
        return Response(
            {
                "approved": [card_request.pk for card_request in result.approved],
                "batch": JobBatchDetailOutput(batch).data if batch else None,
            }
        )
