from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/code/", views.totp_view, name="login-totp"),
    path("login/enrol/", views.totp_enrol_view, name="login-totp-enrol"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
