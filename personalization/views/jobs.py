"""Jobs and batches: lists, a job's page with its progress (refreshed live by
static/js/job-progress.js from the small JSON views here), queueing, retry, cancel, abandon, and
the bulk actions of the card request list (approve many, queue many)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from cards.models import CardRequest
from config.converters import parse_id
from config.errors import DomainError
from config.views import button, show_domain_error
from personalization.forms import AbandonJobForm, BatchQueueForm, BatchRequestsForm, QueueForm
from personalization.models import PersonalizationJob
from personalization.selectors import (
    JobProgress,
    batch_list,
    job_list,
    job_progress,
    station_list,
)
from personalization.services.batches import card_requests_approve_batch
from personalization.services.jobs import (
    job_abandon,
    job_cancel,
    job_queue,
    job_retry,
    jobs_queue_many,
)

PAGE_SIZE = 25


def _show_errors(request, error: DomainError) -> None:
    """A bulk action's error: its summary, then one message per request at fault."""
    summary = getattr(error, "summary", None)
    if summary is None:
        messages.error(request, error.message)
        return
    messages.error(request, f"{summary}.")
    for item in error.errors:
        messages.error(request, item.message)


@login_required
@permission_required("personalization.view_personalizationjob", raise_exception=True)
def job_list_view(request):
    status = request.GET.get("status", "")
    if status not in PersonalizationJob.Status.values:
        status = ""
    station = request.GET.get("station", "")
    stations = list(station_list())
    if station not in {s.name for s in stations}:
        station = ""
    batch = request.GET.get("batch", "")
    jobs = job_list(status=status, station=station, batch=parse_id(batch))
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "personalization/job_list.html",
        {
            "page": page,
            "status": status,
            "station": station,
            "batch": batch if batch.isdigit() else "",
            "statuses": PersonalizationJob.Status.choices,
            "stations": stations,
        },
    )


def _job_page(request, pk: int, *, abandon_form: AbandonJobForm | None = None):
    job = get_object_or_404(job_list(), pk=pk)
    return render(
        request,
        "personalization/job_detail.html",
        {
            "job": job,
            "progress": job_progress(job),
            "stalled": job.is_stalled(),
            "stale_seconds": settings.CARDFORGE_JOB_STALE_SECONDS,
            "abandon_form": abandon_form or AbandonJobForm(),
        },
    )


@login_required
@permission_required("personalization.view_personalizationjob", raise_exception=True)
def job_detail_view(request, pk: int):
    return _job_page(request, pk)


def progress_json(progress: JobProgress) -> dict:
    """What the live progress widget needs; no step detail, nothing secret."""
    job = progress.job
    current = progress.current
    card = job.card
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "finished": job.is_finished,
        "attempt": job.attempt,
        "current_step": current.label if current else "",
        "done": progress.done,
        "total": progress.total,
        "percent": progress.percent,
        "steps": [
            {
                "name": step.name,
                "state": step.state,
                "finished": (
                    f"{timezone.localtime(step.finished_at):%H:%M:%S}" if step.finished_at else ""
                ),
                "apdus": step.apdus,
            }
            for step in progress.steps
        ],
        "error": job.error_message if job.status == PersonalizationJob.Status.FAILED else "",
        "card": (
            {
                "serial": card.serial,
                "status_label": card.get_status_display(),
                "url": reverse("card-detail", args=[card.pk]),
            }
            if card
            else None
        ),
        "request_status": job.card_request.status,
        "request_status_label": job.card_request.get_status_display(),
        # A running job whose worker has gone silent: the page offers to abandon it.
        "stalled": job.is_stalled(),
        "heartbeat": (
            f"{timezone.localtime(job.heartbeat_at):%Y-%m-%d %H:%M:%S}" if job.heartbeat_at else ""
        ),
    }


@never_cache
@login_required
@permission_required("personalization.view_personalizationjob", raise_exception=True)
@require_GET
def job_progress_view(request, pk: int):
    job = get_object_or_404(job_list(), pk=pk)
    return JsonResponse(progress_json(job_progress(job)))


@login_required
@permission_required("personalization.retry_personalizationjob", raise_exception=True)
@require_POST
def job_retry_view(request, pk: int):
    job = get_object_or_404(PersonalizationJob, pk=pk)
    return button(
        request,
        lambda: job_retry(job=job, by=request.user),
        done=lambda retried: f"Job #{retried.pk} is queued again (attempt {retried.attempt}).",
        back=redirect("job-detail", pk=job.pk),
    )


@login_required
@permission_required("personalization.cancel_personalizationjob", raise_exception=True)
@require_POST
def job_cancel_view(request, pk: int):
    job = get_object_or_404(PersonalizationJob, pk=pk)
    return button(
        request,
        lambda: job_cancel(job=job, by=request.user),
        done=f"Job #{job.pk} is cancelled; request #{job.card_request_id} stays approved.",
        back=redirect("job-detail", pk=job.pk),
    )


@login_required
@permission_required("personalization.abandon_personalizationjob", raise_exception=True)
@require_POST
def job_abandon_view(request, pk: int):
    job = get_object_or_404(PersonalizationJob, pk=pk)
    form = AbandonJobForm(request.POST)
    if form.is_valid():
        try:
            job = job_abandon(job=job, by=request.user, reason=form.cleaned_data["reason"])
        except DomainError as error:
            show_domain_error(request, form, error)
        else:
            card = (
                f"card {job.card.serial} failed and its certificates are revoked"
                if job.card_id
                else "it had not begun a card"
            )
            messages.success(
                request,
                f"Job #{job.pk} is abandoned: {card}; station {job.station} is free. "
                f"Request #{job.card_request_id} stays approved: retry the job, or queue the "
                "request on another station, to make a new card.",
            )
            return redirect("job-detail", pk=job.pk)
    # The page again, with the form and its errors (the reason typed is kept).
    return _job_page(request, job.pk, abandon_form=form)


@login_required
@permission_required("personalization.add_personalizationjob", raise_exception=True)
@require_POST
def card_request_queue_view(request, pk: int):
    card_request = get_object_or_404(CardRequest, pk=pk)
    form = QueueForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("station", ["Choose a station."])))
        return redirect("card-request-detail", pk=card_request.pk)
    return button(
        request,
        lambda: job_queue(
            card_request=card_request, station=form.cleaned_data["station"], by=request.user
        ),
        done=lambda job: f"Request #{card_request.pk} is queued on {job.station}.",
        back=redirect("card-request-detail", pk=card_request.pk),
    )


@login_required
@permission_required("cards.decide_cardrequest", raise_exception=True)
@require_POST
def card_requests_approve_view(request):
    form = BatchRequestsForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["requests"]))
        return redirect(f"{reverse('card-request-list')}?status=submitted")
    try:
        requests = form.cleaned_data["requests"]
        result = card_requests_approve_batch(
            card_requests=requests,
            by=request.user,
            # The identity each ticked row showed: the approval covers that snapshot only.
            identity_sha256s={
                card_request.pk: request.POST.get(f"identity_{card_request.pk}", "")
                for card_request in requests
            },
        )
    except DomainError as error:
        _show_errors(request, error)
        return redirect(f"{reverse('card-request-list')}?status=submitted")
    count = len(result.approved)
    if result.batch is None:
        messages.success(request, f"{count} card request(s) approved.")
        return redirect(f"{reverse('card-request-list')}?status=approved")
    messages.success(
        request, f"{count} card request(s) approved and queued as batch #{result.batch.pk}."
    )
    return redirect("batch-detail", pk=result.batch.pk)


@login_required
@permission_required("personalization.add_personalizationjob", raise_exception=True)
@require_POST
def card_requests_queue_view(request):
    form = BatchQueueForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(f"{reverse('card-request-list')}?status=approved")
    try:
        batch = jobs_queue_many(
            card_requests=form.cleaned_data["requests"],
            station=form.cleaned_data["station"],
            by=request.user,
        )
    except DomainError as error:
        _show_errors(request, error)
        return redirect(f"{reverse('card-request-list')}?status=approved")
    messages.success(request, f"Batch #{batch.pk} is queued: {batch.name}.")
    return redirect("batch-detail", pk=batch.pk)


@login_required
@permission_required("personalization.view_jobbatch", raise_exception=True)
def batch_list_view(request):
    page = Paginator(batch_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "personalization/batch_list.html", {"page": page})


@login_required
@permission_required("personalization.view_jobbatch", raise_exception=True)
def batch_detail_view(request, pk: int):
    batch = get_object_or_404(batch_list(), pk=pk)
    return render(
        request,
        "personalization/batch_detail.html",
        {"batch": batch, "jobs": job_list(batch=batch.pk)},
    )


@never_cache
@login_required
@permission_required("personalization.view_jobbatch", raise_exception=True)
@require_GET
def batch_progress_view(request, pk: int):
    batch = get_object_or_404(batch_list(), pk=pk)
    jobs = job_list(batch=batch.pk)
    return JsonResponse(
        {
            "id": batch.pk,
            "finished": batch.waiting + batch.running == 0,
            "counts": {
                name: getattr(batch, name)
                for name in ("total", "done", "failed", "waiting", "running", "cancelled")
            },
            "jobs": [
                {
                    "id": job.pk,
                    "status": job.status,
                    "status_label": job.get_status_display(),
                    "done": job.steps_done,
                }
                for job in jobs
            ],
        }
    )
