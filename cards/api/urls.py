"""API routes of card requests, included under /api/v1/ by config/urls.py."""

from django.urls import path

from cards.api import card_requests

urlpatterns = [
    path("card-requests/", card_requests.CardRequestListCreateAPI.as_view()),
    path("card-requests/<id:pk>/", card_requests.CardRequestDetailAPI.as_view()),
    path("card-requests/<id:pk>/approve/", card_requests.CardRequestApproveAPI.as_view()),
    path("card-requests/<id:pk>/reject/", card_requests.CardRequestRejectAPI.as_view()),
    path("card-requests/<id:pk>/cancel/", card_requests.CardRequestCancelAPI.as_view()),
]
