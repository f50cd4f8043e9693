from django.urls import path

from cardprofiles import views

urlpatterns = [
    path("", views.card_profile_list_view, name="card-profile-list"),
    path("<slug:name>/", views.card_profile_detail_view, name="card-profile-detail"),
]
