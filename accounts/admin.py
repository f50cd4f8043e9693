"""User administration, audited: granting or removing a role is recorded with who did it."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.lockout import user_unlock
from audit.events import EventType
from audit.services import audit_record

User = get_user_model()
admin.site.unregister(User)
# django-otp's device admin shows a TOTP key (and its QR code) and registers devices for anyone:
# with it an administrator could read or replace an approver's second factor. Not offered.
admin.site.unregister(TOTPDevice)


def _access(user) -> dict:
    return {
        "roles": sorted(user.groups.values_list("name", flat=True)),
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    }


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    actions = ["unlock_sign_in"]

    @admin.action(description="Unlock sign-in (forget failed attempts)", permissions=["change"])
    def unlock_sign_in(self, request, queryset):
        for user in queryset:
            cleared = user_unlock(user=user, by=request.user)
            self.message_user(
                request,
                f"Sign-in unlocked for {user.get_username()} "
                f"({cleared} failed-attempt record{'s' if cleared != 1 else ''} cleared)",
            )

    def has_delete_permission(self, request, obj=None):
        # Users are deactivated, never deleted: the audit trail and requests refer to them.
        return False

    def save_related(self, request, form, formsets, change):
        with transaction.atomic():
            user = form.instance
            before = getattr(form, "_access_before", None)
            super().save_related(request, form, formsets, change)
            after = _access(user)
            if after != before:
                audit_record(
                    event=EventType.USER_ACCESS_CHANGED,
                    actor=request.user,
                    obj=user,
                    payload={"username": user.get_username(), "before": before, "after": after},
                )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        before = _access(obj) if obj is not None else None

        class RememberingForm(form_class):
            _access_before = before

        return RememberingForm
