"""Back-office buttons of a card's life (docs/card-lifecycle.md): delivery, the four-eyes card
action requests, the administrator's emergency revocation, destruction, and the queue of
requests waiting for a second officer. Each is one service call; the card's page shows them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cards.forms import CardActionForm, CommentForm, EmergencyRevocationForm
from cards.models import Card, CardActionRequest, EscrowedKey, KeyRecoveryRequest
from cards.selectors import card_action_requests
from cards.services.card_actions import (
    card_action_approve,
    card_action_cancel,
    card_action_reject,
    card_action_request,
    card_revoke_emergency,
)
from cards.services.cards import card_deliver, card_destroy
from cards.services.key_recovery import (
    key_recovery_approve,
    key_recovery_reject,
    key_recovery_request,
)
from config.views import button

PAGE_SIZE = 25


def _back(card_pk: int):
    return redirect("card-detail", pk=card_pk)


def _comment(request) -> str:
    form = CommentForm(request.POST)
    return form.cleaned_data["comment"] if form.is_valid() else ""


@login_required
@permission_required("cards.deliver_card", raise_exception=True)
@require_POST
def card_deliver_view(request, pk: int):
    card = get_object_or_404(Card, pk=pk)
    return button(
        request,
        lambda: card_deliver(card=card, by=request.user, comment=_comment(request)),
        done=f"Card {card.serial} recorded as delivered; its holder activates it with the card.",
        back=_back(card.pk),
    )


@login_required
@permission_required("cards.destroy_card", raise_exception=True)
@require_POST
def card_destroy_view(request, pk: int):
    card = get_object_or_404(Card, pk=pk)
    return button(
        request,
        lambda: card_destroy(card=card, by=request.user, comment=_comment(request)),
        done=f"Card {card.serial} recorded as destroyed.",
        back=_back(card.pk),
    )


@login_required
@permission_required("cards.request_cardaction", raise_exception=True)
@require_POST
def card_action_request_view(request, pk: int):
    card = get_object_or_404(Card, pk=pk)
    form = CardActionForm(request.POST)
    form.is_valid()  # the service names what is wrong with what was sent
    data = form.cleaned_data
    return button(
        request,
        lambda: card_action_request(
            card=card,
            action=data.get("action") or request.POST.get("action", ""),
            reason=data.get("reason", ""),
            comment=data.get("comment", ""),
            by=request.user,
        ),
        done=lambda row: (
            f"{row.get_action_display()} of card {card.serial} asked (request #{row.pk}); "
            "another officer must approve it."
        ),
        back=_back(card.pk),
    )


@login_required
@permission_required("cards.revoke_card_emergency", raise_exception=True)
@require_POST
def card_emergency_revoke_view(request, pk: int):
    card = get_object_or_404(Card, pk=pk)
    form = EmergencyRevocationForm(request.POST)
    form.is_valid()
    return button(
        request,
        lambda: card_revoke_emergency(
            card=card,
            reason=form.cleaned_data.get("reason", ""),
            comment=form.cleaned_data.get("comment", ""),
            by=request.user,
        ),
        done=f"Card {card.serial} revoked (emergency: flagged in the audit trail).",
        back=_back(card.pk),
    )


def _decide(request, pk: int, service, done: str):
    row = get_object_or_404(CardActionRequest.objects.select_related("card"), pk=pk)
    comment = {} if service is card_action_cancel else {"comment": _comment(request)}
    back = request.POST.get("next") == "queue"
    return button(
        request,
        lambda: service(card_action=row, by=request.user, **comment),
        done=f"{row.get_action_display()} of card {row.card.serial} (request #{row.pk}) {done}.",
        back=redirect("card-action-list") if back else _back(row.card_id),
    )


@login_required
@permission_required("cards.decide_cardactionrequest", raise_exception=True)
@require_POST
def card_action_approve_view(request, pk: int):
    return _decide(request, pk, card_action_approve, "approved, and done")


@login_required
@permission_required("cards.decide_cardactionrequest", raise_exception=True)
@require_POST
def card_action_reject_view(request, pk: int):
    return _decide(request, pk, card_action_reject, "rejected")


@login_required
@permission_required("cards.request_cardaction", raise_exception=True)
@require_POST
def card_action_cancel_view(request, pk: int):
    return _decide(request, pk, card_action_cancel, "withdrawn")


@login_required
@permission_required("cards.view_cardactionrequest", raise_exception=True)
def card_action_list_view(request):
    status = request.GET.get("status", CardActionRequest.Status.PENDING)
    if status not in CardActionRequest.Status.values:
        status = ""
    page = Paginator(card_action_requests(status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "cards/card_action_list.html",
        {"page": page, "status": status, "statuses": CardActionRequest.Status.choices},
    )


# --- key recovery to anyone but the holder's new card ------------------------------------------


@login_required
@permission_required("cards.request_keyrecovery", raise_exception=True)
@require_POST
def key_recovery_request_view(request, pk: int):
    card = get_object_or_404(Card, pk=pk)
    escrowed = get_object_or_404(EscrowedKey, card=card, slot="9D")
    return button(
        request,
        lambda: key_recovery_request(
            escrowed_key=escrowed,
            recipient=request.POST.get("recipient", ""),
            reason=request.POST.get("reason", ""),
            by=request.user,
        ),
        done=lambda row: (
            f"Recovery of the encryption key of card {card.serial} asked (request #{row.pk}); "
            "two other officers must approve it."
        ),
        back=_back(card.pk),
    )


def _recovery_decision(request, pk: int, service, done: str):
    row = get_object_or_404(KeyRecoveryRequest.objects.select_related("escrowed_key"), pk=pk)
    return button(
        request,
        lambda: service(key_recovery=row, by=request.user, comment=_comment(request)),
        done=f"Key recovery request #{row.pk} {done}.",
        back=_back(row.escrowed_key.card_id),
    )


@login_required
@permission_required("cards.decide_keyrecovery", raise_exception=True)
@require_POST
def key_recovery_approve_view(request, pk: int):
    return _recovery_decision(request, pk, key_recovery_approve, "approved")


@login_required
@permission_required("cards.decide_keyrecovery", raise_exception=True)
@require_POST
def key_recovery_reject_view(request, pk: int):
    return _recovery_decision(request, pk, key_recovery_reject, "rejected")
