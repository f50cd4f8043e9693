from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.views import SetPasswordByLinkView, SetPasswordDoneView

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # "password_reset_confirm" is the name Django's reset machinery knows the link by.
    path(
        "account/set-password/<uidb64>/<token>/",
        SetPasswordByLinkView.as_view(),
        name="password_reset_confirm",
    ),
    path("account/set-password/done/", SetPasswordDoneView.as_view(), name="password_set_done"),
]
