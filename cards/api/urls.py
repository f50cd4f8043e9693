"""API routes of card requests, included under /api/v1/ by config/urls.py."""

from django.urls import path

from cards.api import card_life, card_requests

urlpatterns = [
    path("card-requests/", card_requests.CardRequestListCreateAPI.as_view()),
    path("card-requests/<id:pk>/", card_requests.CardRequestDetailAPI.as_view()),
    path("card-requests/<id:pk>/approve/", card_requests.CardRequestApproveAPI.as_view()),
    path("card-requests/<id:pk>/reject/", card_requests.CardRequestRejectAPI.as_view()),
    path("card-requests/<id:pk>/cancel/", card_requests.CardRequestCancelAPI.as_view()),
    path("cards/<id:pk>/delivery/", card_life.CardDeliveryAPI.as_view()),
    path("cards/<id:pk>/destruction/", card_life.CardDestructionAPI.as_view()),
    path("cards/<id:pk>/emergency-revocation/", card_life.CardEmergencyRevocationAPI.as_view()),
    path(
        "activation/<str:serial>/challenge/",
        card_life.ActivationChallengeAPI.as_view(),
        name="api-card-activation-challenge",
    ),
    path("activation/<str:serial>/", card_life.ActivationAPI.as_view(), name="api-card-activation"),
    path("card-actions/", card_life.CardActionListCreateAPI.as_view(), name="api-card-action-list"),
    path("card-actions/<id:pk>/", card_life.CardActionDetailAPI.as_view()),
    path("card-actions/<id:pk>/approve/", card_life.CardActionApproveAPI.as_view()),
    path("card-actions/<id:pk>/reject/", card_life.CardActionRejectAPI.as_view()),
    path("card-actions/<id:pk>/cancel/", card_life.CardActionCancelAPI.as_view()),
    path("key-recoveries/", card_life.KeyRecoveryListCreateAPI.as_view()),
    path("key-recoveries/<id:pk>/approve/", card_life.KeyRecoveryApproveAPI.as_view()),
    path("key-recoveries/<id:pk>/reject/", card_life.KeyRecoveryRejectAPI.as_view()),
]
