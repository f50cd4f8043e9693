"""Back office pages of personalization, included at the site root by config/urls.py."""

from django.urls import path

from personalization.views import cards, jobs, stations

urlpatterns = [
    path("stations/", stations.station_list_view, name="station-list"),
    path("stations/new/", stations.station_create_view, name="station-create"),
    path("stations/<int:pk>/edit/", stations.station_edit_view, name="station-edit"),
    path("stations/<int:pk>/disable/", stations.station_disable_view, name="station-disable"),
    path("stations/<int:pk>/enable/", stations.station_enable_view, name="station-enable"),
    path("jobs/", jobs.job_list_view, name="job-list"),
    path("jobs/<int:pk>/", jobs.job_detail_view, name="job-detail"),
    path("jobs/<int:pk>/progress/", jobs.job_progress_view, name="job-progress"),
    path("jobs/<int:pk>/retry/", jobs.job_retry_view, name="job-retry"),
    path("jobs/<int:pk>/cancel/", jobs.job_cancel_view, name="job-cancel"),
    path("jobs/<int:pk>/abandon/", jobs.job_abandon_view, name="job-abandon"),
    path("batches/", jobs.batch_list_view, name="batch-list"),
    path("batches/<int:pk>/", jobs.batch_detail_view, name="batch-detail"),
    path("batches/<int:pk>/progress/", jobs.batch_progress_view, name="batch-progress"),
    path("requests/<int:pk>/queue/", jobs.card_request_queue_view, name="card-request-queue"),
    path("requests/approve/", jobs.card_requests_approve_view, name="card-requests-approve"),
    path("requests/queue/", jobs.card_requests_queue_view, name="card-requests-queue"),
    path("cards/", cards.card_list_view, name="card-list"),
    path("cards/<int:pk>/", cards.card_detail_view, name="card-detail"),
    path("cards/<int:pk>/card-face.pdf", cards.card_face_download_view, name="card-face"),
    path("cards/<int:pk>/carrier.pdf", cards.card_carrier_download_view, name="card-carrier"),
    path(
        "cards/<int:pk>/pin-mailer.pdf",
        cards.card_pin_mailer_download_view,
        name="card-pin-mailer",
    ),
]
