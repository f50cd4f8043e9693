from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from audit.models import AuditEvent
from cards.forms import CardRequestForm, DecisionForm
from cards.models import CardRequest
from cards.selectors import card_request_list
from cards.services.card_requests import (
    card_request_approve,
    card_request_cancel,
    card_request_reject,
    card_request_submit,
)
from config.errors import DomainError
from config.pages import page_context
from config.views import button, show_domain_error
from issuance.identity import Identity, PhotoMismatch, approved_photo_uri
from issuance.models import Professional


def _photo_uri(identity: Identity) -> str:
    """The approved photo for the approver to see ("" without one, or when the stored file is no
    longer the approved photo: the page then says so)."""
    try:
        return approved_photo_uri(identity) or ""
    except PhotoMismatch:
        return ""


@login_required
@permission_required("cards.view_cardrequest", raise_exception=True)
def card_request_list_view(request):
    status = request.GET.get("status", "")
    if status not in CardRequest.Status.values:
        status = ""
    search = request.GET.get("q", "")
    requests = card_request_list(status=status, search=search)
    page = Paginator(requests, 25).get_page(request.GET.get("page"))
    user = request.user
    return render(
        request,
        "cards/card_request_list.html",
        {
            "page": page,
            "status": status,
            "q": search,
            "statuses": CardRequest.Status.choices,
            "can_approve": user.has_perm("cards.decide_cardrequest"),
            # Each row's job and the bulk queueing form (personalization/pages.py).
            **page_context("card-request-list", request, page),
        },
    )


@login_required
@permission_required("cards.view_cardrequest", raise_exception=True)
def card_request_detail_view(request, pk: int):
    card_request = get_object_or_404(card_request_list(), pk=pk)
    return render(
        request,
        "cards/card_request_detail.html",
        {
            "card_request": card_request,
            "identity": card_request.snapshot,
            "identity_photo": _photo_uri(card_request.snapshot),
            "decision_form": DecisionForm(
                initial={"identity_sha256": card_request.identity_sha256}
            ),
            "is_submitter": card_request.submitted_by_id == request.user.pk,
            "history": AuditEvent.objects.for_object(card_request).order_by("sequence"),
            # Its personalization and the queueing form (personalization/pages.py).
            **page_context("card-request-detail", request, card_request),
        },
    )


@login_required
@permission_required("cards.add_cardrequest", raise_exception=True)
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
    return button(
        request,
        lambda: service(
            card_request=card_request,
            reason=form.cleaned_data.get("reason", ""),
            by=request.user,
            **extra,
        ),
        done=f"Card request #{card_request.pk} {done}.",
        back=redirect("card-request-detail", pk=card_request.pk),
    )


@login_required
@permission_required("cards.decide_cardrequest", raise_exception=True)
@require_POST
def card_request_approve_view(request, pk: int):
    return _decide(request, pk, card_request_approve, "approved")


@login_required
@permission_required("cards.decide_cardrequest", raise_exception=True)
@require_POST
def card_request_reject_view(request, pk: int):
    return _decide(request, pk, card_request_reject, "rejected")


@login_required
@permission_required("cards.cancel_cardrequest", raise_exception=True)
@require_POST
def card_request_cancel_view(request, pk: int):
    return _decide(request, pk, card_request_cancel, "cancelled")
