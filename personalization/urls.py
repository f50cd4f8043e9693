"""Back office pages of personalization, included at the site root by config/urls.py."""

from django.urls import path

from personalization.views import cards, jobs, stations

urlpatterns = [
    path("stations/", stations.station_list_view, name="station-list"),
    path("stations/new/", stations.station_create_view, name="station-create"),
    path("stations/<id:pk>/edit/", stations.station_edit_view, name="station-edit"),
    path("stations/<id:pk>/disable/", stations.station_disable_view, name="station-disable"),
    path("stations/<id:pk>/enable/", stations.station_enable_view, name="station-enable"),
    path("jobs/", jobs.job_list_view, name="job-list"),
    path("jobs/<id:pk>/", jobs.job_detail_view, name="job-detail"),
    path("jobs/<id:pk>/progress/", jobs.job_progress_view, name="job-progress"),
    path("jobs/<id:pk>/retry/", jobs.job_retry_view, name="job-retry"),
    path("jobs/<id:pk>/cancel/", jobs.job_cancel_view, name="job-cancel"),
    path("jobs/<id:pk>/abandon/", jobs.job_abandon_view, name="job-abandon"),
    path("batches/", jobs.batch_list_view, name="batch-list"),
    path("batches/<id:pk>/", jobs.batch_detail_view, name="batch-detail"),
    path("batches/<id:pk>/progress/", jobs.batch_progress_view, name="batch-progress"),
    path("requests/<id:pk>/queue/", jobs.card_request_queue_view, name="card-request-queue"),
    path("requests/approve/", jobs.card_requests_approve_view, name="card-requests-approve"),
    path("requests/queue/", jobs.card_requests_queue_view, name="card-requests-queue"),
    path("cards/", cards.card_list_view, name="card-list"),
    path("cards/<id:pk>/", cards.card_detail_view, name="card-detail"),
    path("cards/<id:pk>/card-face.pdf", cards.card_face_download_view, name="card-face"),
    path("cards/<id:pk>/carrier.pdf", cards.card_carrier_download_view, name="card-carrier"),
    path(
        "cards/<id:pk>/pin-mailer.pdf",
        cards.card_pin_mailer_download_view,
        name="card-pin-mailer",
    ),
]
