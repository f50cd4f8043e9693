"""Cards and their documents. The card face and the carrier are links (GET); the PIN mailer is
a form (POST), since downloading it destroys it and a GET must never do that."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from cardprofiles.schema import puk_managed
from cards.models import Card, KeyRecoveryRequest
from cards.selectors import card_action_requests
from config.errors import DomainError
from personalization.documents.responses import pdf_response
from personalization.selectors import (
    card_certificates,
    card_documents,
    card_job,
    card_list,
    card_pin_mailer,
    card_timeline,
)
from personalization.services.documents import card_document_render, pin_mailer_download

PAGE_SIZE = 25


@login_required
@permission_required("cards.view_card", raise_exception=True)
def card_list_view(request):
    status = request.GET.get("status", "")
    if status not in Card.Status.values:
        status = ""
    search, serial = request.GET.get("q", ""), request.GET.get("serial", "")
    cards = card_list(professional=search, status=status, serial=serial)
    page = Paginator(cards, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "personalization/card_list.html",
        {
            "page": page,
            "q": search,
            "serial": serial,
            "status": status,
            "statuses": Card.Status.choices,
        },
    )


@login_required
@permission_required("cards.view_card", raise_exception=True)
def card_detail_view(request, pk: int):
    card = get_object_or_404(card_list(), pk=pk)
    action_requests = list(card_action_requests(card=card)[:20])
    return render(
        request,
        "personalization/card_detail.html",
        {
            "card": card,
            "certificates": card_certificates(card),
            "job": card_job(card),
            "documents": card_documents(card),
            "pin_mailer": card_pin_mailer(card),
            # The card's life (templates/cards/_card_life_panel.html)
            "live": card.status in Card.Status.live_values(),
            "ended_states": (Card.Status.REVOKED, Card.Status.EXPIRED, Card.Status.FAILED),
            "action_requests": action_requests,
            "pending_action": next((r for r in action_requests if r.status == "pending"), None),
            "revocation_reasons": Card.RevocationReason.choices,
            "timeline": card_timeline(card),
            "escrowed_9d": card.escrowed_keys.filter(slot="9D").exists(),
            # A PIN unblock at a station: a card in use whose profile keeps its PUK.
            "unblockable": card.status in (Card.Status.ACTIVE, Card.Status.DELIVERED)
            and puk_managed(card.profile_version.definition),
            "key_recoveries": KeyRecoveryRequest.objects.filter(escrowed_key__card=card)
            .select_related("requested_by", "first_approver", "decided_by")
            .order_by("-requested_at"),
        },
    )


def _document(request, pk: int, kind: str):
    card = get_object_or_404(Card, pk=pk)
    try:
        pdf = card_document_render(card=card, kind=kind, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("card-detail", pk=card.pk)
    return pdf_response(pdf, card=card, kind=kind)


@login_required
@permission_required("cards.download_card_documents", raise_exception=True)
@require_GET
def card_face_download_view(request, pk: int):
    return _document(request, pk, "card-face")


@login_required
@permission_required("cards.download_card_documents", raise_exception=True)
@require_GET
def card_carrier_download_view(request, pk: int):
    return _document(request, pk, "carrier")


@login_required
@permission_required("cards.download_pinmailer", raise_exception=True)
@require_POST
def card_pin_mailer_download_view(request, pk: int):
    card = get_object_or_404(Card, pk=pk)
    try:
        pdf = pin_mailer_download(card=card, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("card-detail", pk=card.pk)
    return pdf_response(pdf, card=card, kind="pin-mailer")
