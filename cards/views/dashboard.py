from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from cards.selectors import card_request_list, dashboard_counts


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
    return render(request, "dashboard.html", context)
