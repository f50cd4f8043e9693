"""The page a set-password link (sent after a reset, accounts/services/effects.py) opens."""

from django.contrib.auth import views as auth_views
from django.db import transaction
from django.urls import reverse_lazy

from accounts.models import PASSWORD_CHANGE_AUDITED
from audit.events import EventType
from audit.services import audit_record


class SetPasswordByLinkView(auth_views.PasswordResetConfirmView):
    """Django's single-use link check (PasswordResetTokenGenerator); the new password is the
    user's alone, and setting it is audited (without it)."""

    template_name = "registration/set_password.html"
    success_url = reverse_lazy("password_set_done")

    def form_valid(self, form):
        setattr(form.user, PASSWORD_CHANGE_AUDITED, True)  # by the event below
        with transaction.atomic():
            response = super().form_valid(form)
            audit_record(
                event=EventType.USER_PASSWORD_SET_BY_LINK,
                actor=form.user,
                obj=form.user,
                payload={"username": form.user.get_username()},
            )
        return response


class SetPasswordDoneView(auth_views.PasswordResetCompleteView):
    template_name = "registration/set_password_done.html"
