import datetime as dt

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from cards.selectors import card_action_requests, card_request_list, dashboard_counts
from cards.services.renewals import cards_expiring

EXPIRING_WITHIN_DAYS = (30, 60, 90)


@login_required
def dashboard_view(request):
    user = request.user
    context = {"counts": dashboard_counts()}
    if user.has_perm("cards.decide_cardrequest"):
        # What waits for this officer: requests submitted by someone else.
        context["awaiting_decision"] = (
            card_request_list(status="submitted")
            .exclude(submitted_by=user)
            .order_by("submitted_at")[:10]
        )
    if user.has_perm("cards.add_cardrequest"):
        context["my_requests"] = card_request_list().filter(submitted_by=user)[:10]
    if user.has_perm("cards.decide_cardactionrequest"):
        context["card_actions_awaiting"] = (
            card_action_requests(status="pending")
            .exclude(requested_by=user)
            .order_by("requested_at")[:10]
        )
    if user.has_perm("cards.view_card"):
        longest = dt.timedelta(days=EXPIRING_WITHIN_DAYS[-1])
        expiring = list(cards_expiring(within=longest))
        context["expiring"] = expiring[:10]
        now = timezone.now()
        context["expiring_counts"] = [
            (days, sum(1 for card in expiring if card.expires_at <= now + dt.timedelta(days=days)))
            for days in EXPIRING_WITHIN_DAYS
        ]
    return render(request, "dashboard.html", context)
