from django.urls import path

from audit import views

urlpatterns = [
    path("", views.audit_event_list_view, name="audit-event-list"),
    path("verify/", views.audit_verify_view, name="audit-verify"),
]
