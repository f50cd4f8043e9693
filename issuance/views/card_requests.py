from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from audit.models import AuditEvent
from config.errors import DomainError
from config.views import show_domain_error
from issuance.forms import CardRequestForm, DecisionForm
from issuance.identity import Identity, PhotoMismatch, approved_photo_uri
from issuance.models import CardRequest, Professional
from issuance.selectors import card_request_list
from issuance.services.card_requests import (
    card_request_approve,
    card_request_cancel,
    card_request_reject,
    card_request_submit,
)
from personalization.forms import BatchQueueForm, QueueForm
from personalization.selectors import (
    can_be_queued,
    card_request_personalization,
    latest_jobs_by_request,
)


def _photo_uri(identity: Identity) -> str:
    """The approved photo for the approver to see ("" without one, or when the stored file is no
    longer the approved photo: the page then says so)."""
    try:
        return approved_photo_uri(identity) or ""
    except PhotoMismatch:
        return ""


@login_required
@permission_required("issuance.view_cardrequest", raise_exception=True)
def card_request_list_view(request):
    status = request.GET.get("status", "")
    if status not in CardRequest.Status.values:
        status = ""
    search = request.GET.get("q", "")
    requests = card_request_list(status=status, search=search)
    page = Paginator(requests, 25).get_page(request.GET.get("page"))
    jobs = latest_jobs_by_request(page)
    for card_request in page:
        card_request.latest_job = jobs.get(card_request.pk)
        card_request.queueable = can_be_queued(card_request, card_request.latest_job)
    user = request.user
    return render(
        request,
        "issuance/card_request_list.html",
        {
            "page": page,
            "status": status,
            "q": search,
            "statuses": CardRequest.Status.choices,
            # Bulk actions on ticked requests (personalization/views/jobs.py).
            "can_approve": user.has_perm("issuance.decide_cardrequest"),
            "can_queue": user.has_perm("personalization.add_personalizationjob"),
            "queue_form": BatchQueueForm(),
        },
    )


@login_required
@permission_required("issuance.view_cardrequest", raise_exception=True)
def card_request_detail_view(request, pk: int):
    card_request = get_object_or_404(card_request_list(), pk=pk)
    return render(
        request,
        "issuance/card_request_detail.html",
        {
            "card_request": card_request,
            "identity": card_request.snapshot,
            "identity_photo": _photo_uri(card_request.snapshot),
            "decision_form": DecisionForm(
                initial={"identity_sha256": card_request.identity_sha256}
            ),
            "is_submitter": card_request.submitted_by_id == request.user.pk,
            "history": AuditEvent.objects.for_object(card_request).order_by("sequence"),
            "personalization": card_request_personalization(card_request),
            "queue_form": QueueForm(),
        },
    )


@login_required
@permission_required("issuance.add_cardrequest", raise_exception=True)
@require_POST
def card_request_submit_view(request, professional_pk: int):
    professional = get_object_or_404(Professional, pk=professional_pk)
    form = CardRequestForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("professional-detail", pk=professional.pk)
    try:
        card_request = card_request_submit(
            professional=professional,
            profile=form.cleaned_data["profile"],
            reason=form.cleaned_data["reason"],
            comment=form.cleaned_data["comment"],
            by=request.user,
        )
    except DomainError as error:
        show_domain_error(request, None, error)
        return redirect("professional-detail", pk=professional.pk)
    messages.success(
        request, f"Card request #{card_request.pk} submitted; another officer must approve it."
    )
    return redirect("card-request-detail", pk=card_request.pk)


def _decide(request, pk: int, service, done: str, **extra):
    card_request = get_object_or_404(CardRequest, pk=pk)
    form = DecisionForm(request.POST)
    form.is_valid()
    if service is card_request_approve:
        # The page always sends the hash it showed; without it nothing was shown.
        extra["identity_sha256"] = form.cleaned_data.get("identity_sha256", "")
    try:
        service(
            card_request=card_request,
            reason=form.cleaned_data.get("reason", ""),
            by=request.user,
            **extra,
        )
    except DomainError as error:
        show_domain_error(request, None, error)
    else:
        messages.success(request, f"Card request #{card_request.pk} {done}.")
    return redirect("card-request-detail", pk=card_request.pk)


@login_required
@permission_required("issuance.decide_cardrequest", raise_exception=True)
@require_POST
def card_request_approve_view(request, pk: int):
    return _decide(request, pk, card_request_approve, "approved")


@login_required
@permission_required("issuance.decide_cardrequest", raise_exception=True)
@require_POST
def card_request_reject_view(request, pk: int):
    return _decide(request, pk, card_request_reject, "rejected")


@login_required
@permission_required("issuance.cancel_cardrequest", raise_exception=True)
@require_POST
def card_request_cancel_view(request, pk: int):
    return _decide(request, pk, card_request_cancel, "cancelled")
