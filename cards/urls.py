"""Back office pages of card requests and the dashboard, included at the site root."""

from django.urls import path

from cards.views import card_requests, dashboard

urlpatterns = [
    path("", dashboard.dashboard_view, name="dashboard"),
    path(
        "professionals/<id:professional_pk>/request-card/",
        card_requests.card_request_submit_view,
        name="card-request-submit",
    ),
    path("requests/", card_requests.card_request_list_view, name="card-request-list"),
    path("requests/<id:pk>/", card_requests.card_request_detail_view, name="card-request-detail"),
    path(
        "requests/<id:pk>/approve/",
        card_requests.card_request_approve_view,
        name="card-request-approve",
    ),
    path(
        "requests/<id:pk>/reject/",
        card_requests.card_request_reject_view,
        name="card-request-reject",
    ),
    path(
        "requests/<id:pk>/cancel/",
        card_requests.card_request_cancel_view,
        name="card-request-cancel",
    ),
]
