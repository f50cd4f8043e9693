from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import password_views, views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/code/", views.totp_view, name="login-totp"),
    path("login/enrol/", views.totp_enrol_view, name="login-totp-enrol"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # "password_reset_confirm" is the name Django's reset machinery knows the link by.
    path(
        "account/set-password/<uidb64>/<token>/",
        password_views.SetPasswordByLinkView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "account/set-password/done/",
        password_views.SetPasswordDoneView.as_view(),
        name="password_set_done",
    ),
]
