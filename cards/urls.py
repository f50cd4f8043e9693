"""Back office pages of card requests and the dashboard, included at the site root."""

from django.urls import path

from cards.views import card_life, card_requests, dashboard

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
    path("cards/<id:pk>/deliver/", card_life.card_deliver_view, name="card-deliver"),
    path("cards/<id:pk>/destroy/", card_life.card_destroy_view, name="card-destroy"),
    path("cards/<id:pk>/ask/", card_life.card_action_request_view, name="card-action-request"),
    path(
        "cards/<id:pk>/emergency-revocation/",
        card_life.card_emergency_revoke_view,
        name="card-emergency-revoke",
    ),
    path("card-actions/", card_life.card_action_list_view, name="card-action-list"),
    path(
        "card-actions/<id:pk>/approve/",
        card_life.card_action_approve_view,
        name="card-action-approve",
    ),
    path(
        "card-actions/<id:pk>/reject/", card_life.card_action_reject_view, name="card-action-reject"
    ),
    path(
        "card-actions/<id:pk>/cancel/", card_life.card_action_cancel_view, name="card-action-cancel"
    ),
    path(
        "cards/<id:pk>/key-recovery/",
        card_life.key_recovery_request_view,
        name="key-recovery-request",
    ),
    path(
        "key-recoveries/<id:pk>/approve/",
        card_life.key_recovery_approve_view,
        name="key-recovery-approve",
    ),
    path(
        "key-recoveries/<id:pk>/reject/",
        card_life.key_recovery_reject_view,
        name="key-recovery-reject",
    ),
]
