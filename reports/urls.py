from django.urls import path

from reports import views

urlpatterns = [
    path("", views.report_dashboard_view, name="report-dashboard"),
    path("new/", views.report_request_view, name="report-request"),
    path("<id:pk>/", views.report_detail_view, name="report-detail"),
    path("<id:pk>/report.pdf", views.report_download_view, {"what": "pdf"}, name="report-pdf"),
    path("<id:pk>/tables.zip", views.report_download_view, {"what": "csv"}, name="report-csv"),
]
