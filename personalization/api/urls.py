"""API routes of personalization, included under /api/v1/ by config/urls.py."""

from django.urls import path

from personalization.api import cards, jobs, stations

urlpatterns = [
    path("stations/", stations.StationListCreateAPI.as_view(), name="api-station-list"),
    path("stations/<id:pk>/", stations.StationDetailAPI.as_view(), name="api-station-detail"),
    path("jobs/", jobs.JobListQueueAPI.as_view(), name="api-job-list"),
    path("jobs/batch/", jobs.JobBatchQueueAPI.as_view(), name="api-job-batch"),
    path("jobs/<id:pk>/", jobs.JobDetailAPI.as_view(), name="api-job-detail"),
    path("jobs/<id:pk>/retry/", jobs.JobRetryAPI.as_view(), name="api-job-retry"),
    path("jobs/<id:pk>/cancel/", jobs.JobCancelAPI.as_view(), name="api-job-cancel"),
    path("jobs/<id:pk>/abandon/", jobs.JobAbandonAPI.as_view(), name="api-job-abandon"),
    path("batches/", jobs.JobBatchListAPI.as_view(), name="api-batch-list"),
    path("batches/<id:pk>/", jobs.JobBatchDetailAPI.as_view(), name="api-batch-detail"),
    path(
        "card-requests/approve/",
        jobs.CardRequestsApproveAPI.as_view(),
        name="api-card-requests-approve",
    ),
    path("cards/", cards.CardListAPI.as_view(), name="api-card-list"),
    path("cards/<id:pk>/", cards.CardDetailAPI.as_view(), name="api-card-detail"),
    path("cards/<id:pk>/card-face.pdf", cards.CardFaceAPI.as_view(), name="api-card-face"),
    path("cards/<id:pk>/carrier.pdf", cards.CardCarrierAPI.as_view(), name="api-card-carrier"),
    path(
        "cards/<id:pk>/pin-mailer.pdf",
        cards.CardPinMailerAPI.as_view(),
        name="api-card-pin-mailer",
    ),
]
