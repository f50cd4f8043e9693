"""API routes of personalization, included under /api/v1/ by config/urls.py."""

from django.urls import path

from personalization.api import cards, jobs, stations

urlpatterns = [
    path("stations/", stations.StationListCreateAPI.as_view(), name="api-station-list"),
    path("stations/<int:pk>/", stations.StationDetailAPI.as_view(), name="api-station-detail"),
    path("jobs/", jobs.JobListQueueAPI.as_view(), name="api-job-list"),
    path("jobs/batch/", jobs.JobBatchQueueAPI.as_view(), name="api-job-batch"),
    path("jobs/<int:pk>/", jobs.JobDetailAPI.as_view(), name="api-job-detail"),
    path("jobs/<int:pk>/retry/", jobs.JobRetryAPI.as_view(), name="api-job-retry"),
    path("jobs/<int:pk>/cancel/", jobs.JobCancelAPI.as_view(), name="api-job-cancel"),
    path("jobs/<int:pk>/abandon/", jobs.JobAbandonAPI.as_view(), name="api-job-abandon"),
    path("batches/", jobs.JobBatchListAPI.as_view(), name="api-batch-list"),
    path("batches/<int:pk>/", jobs.JobBatchDetailAPI.as_view(), name="api-batch-detail"),
    path(
        "card-requests/approve/",
        jobs.CardRequestsApproveAPI.as_view(),
        name="api-card-requests-approve",
    ),
    path("cards/", cards.CardListAPI.as_view(), name="api-card-list"),
    path("cards/<int:pk>/", cards.CardDetailAPI.as_view(), name="api-card-detail"),
    path("cards/<int:pk>/card-face.pdf", cards.CardFaceAPI.as_view(), name="api-card-face"),
    path("cards/<int:pk>/carrier.pdf", cards.CardCarrierAPI.as_view(), name="api-card-carrier"),
    path(
        "cards/<int:pk>/pin-mailer.pdf",
        cards.CardPinMailerAPI.as_view(),
        name="api-card-pin-mailer",
    ),
]
