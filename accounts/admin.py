"""User administration through the account services, audited in the chain.

The user form offers neither direct permissions nor superuser status. Roles, passwords, second
factors and API tokens change through accounts/services/access.py: what would let someone
approve or administer becomes a pending PrivilegedChange that a second administrator approves
(on the "Privileged changes" page below, or through the API).
"""

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import escape
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.lockout import user_unlock
from accounts.models import ApiToken, PrivilegedChange
from accounts.privileges import user_is_privileged
from accounts.services.access import (
    user_api_tokens_revoke,
    user_password_reset,
    user_roles_set,
    user_second_factor_reset,
)
from accounts.services.privileged import privileged_change_approve, privileged_change_reject
from audit.events import EventType
from audit.services import audit_record
from config.admin_base import ReadOnlyAdmin
from config.errors import DomainError

User = get_user_model()
admin.site.unregister(User)
# django-otp's device admin shows a TOTP key (and its QR code) and registers devices for anyone:
# with it an administrator could read or replace an approver's second factor. Not offered.
admin.site.unregister(TOTPDevice)

WAITS = "waits for a second administrator's approval"


def _access(user) -> dict:
    """What the form changes besides roles (those have events of their own)."""
    return {"email": user.email, "is_active": user.is_active, "is_staff": user.is_staff}


def _report(request, user, change) -> None:
    if change is None:
        return
    messages.warning(request, f"{change.get_kind_display()} for {user}: {WAITS} (#{change.pk}).")


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("is_active", "is_staff", "groups")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    filter_horizontal = ("groups",)
    list_filter = ("is_staff", "is_active", "groups")
    actions = [
        "send_set_password_link",
        "reset_second_factor",
        "revoke_api_tokens",
        "unlock_sign_in",
    ]

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

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and user_is_privileged(obj):
            # A privileged user's reset link goes to this address: it is not an admin's to move.
            readonly.append("email")
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        before = _access(obj) if obj is not None else None

        class RememberingForm(form_class):
            _access_before = before

        return RememberingForm

    def save_related(self, request, form, formsets, change):
        user = form.instance
        # Roles go through the services, not the form's many-to-many save.
        roles = form.cleaned_data.pop("groups", None)
        super().save_related(request, form, formsets, change)
        before, after = getattr(form, "_access_before", None), _access(user)
        if after != before:
            audit_record(
                event=EventType.USER_ACCESS_CHANGED,
                actor=request.user,
                obj=user,
                payload={"username": user.get_username(), "before": before, "after": after},
            )
        if roles is None:
            return
        try:
            pending = user_roles_set(user=user, roles=roles, by=request.user)
        except DomainError as error:
            messages.error(request, f"Roles of {user}: {error.message}")
            return
        for change_request in pending:
            messages.warning(
                request, f"Granting {change_request.role} to {user} {WAITS} (#{change_request.pk})."
            )

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404(f"no user with primary key {escape(id)!r}")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if not user_is_privileged(user):
            if request.method == "POST":
                return self._set_password(request, user, form_url)
            return super().user_change_password(request, id, form_url)
        change_url = reverse("admin:auth_user_change", args=(user.pk,))
        if request.method == "POST":
            # Whatever was typed is not used: nobody but the user learns the new password.
            try:
                change = user_password_reset(user=user, by=request.user)
            except DomainError as error:
                messages.error(request, error.message)
                return HttpResponseRedirect(request.get_full_path())
            messages.warning(
                request,
                f"{user} holds a role that approves or administers: the password reset {WAITS} "
                f"(#{change.pk}). Then the old password stops working and {user.email} receives "
                "a single-use link to choose a new one.",
            )
            return HttpResponseRedirect(change_url)
        return TemplateResponse(
            request,
            "admin/accounts/privileged_password_reset.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Reset the password of {user}",
                "original": user,
                "opts": self.opts,
                "change_url": change_url,
            },
        )

    def _set_password(self, request, user, form_url):
        form = self.change_password_form(user, request.POST)
        if not form.is_valid():
            return super().user_change_password(request, str(user.pk), form_url)
        disable = not form.cleaned_data["set_usable_password"]
        with transaction.atomic():
            user_password_reset(
                user=user,
                password=None if disable else form.cleaned_data["password1"],
                disable=disable,
                by=request.user,
            )
        update_session_auth_hash(request, user)
        messages.success(
            request,
            "Password-based authentication was disabled." if disable else "Password changed.",
        )
        if IS_POPUP_VAR in request.POST:
            return HttpResponseRedirect(request.get_full_path())
        return HttpResponseRedirect(reverse("admin:auth_user_change", args=(user.pk,)))

    def _each(self, request, queryset, service, done: str) -> None:
        for user in queryset:
            try:
                change = service(user=user, by=request.user)
            except DomainError as error:
                messages.error(request, f"{user}: {error.message}")
                continue
            if change is None:
                messages.success(request, f"{user}: {done}.")
            _report(request, user, change)

    @admin.action(description="Send a set-password link by e-mail (old password stops working)")
    def send_set_password_link(self, request, queryset):
        self._each(request, queryset, user_password_reset, "set-password link sent")

    @admin.action(description="Reset the second factor (TOTP devices)")
    def reset_second_factor(self, request, queryset):
        self._each(request, queryset, user_second_factor_reset, "second factor reset")

    @admin.action(description="Revoke the API tokens")
    def revoke_api_tokens(self, request, queryset):
        self._each(request, queryset, user_api_tokens_revoke, "API tokens revoked")


@admin.register(PrivilegedChange)
class PrivilegedChangeAdmin(ReadOnlyAdmin):
    """Pending privileged changes: a second administrator approves or rejects them here."""

    list_display = (
        "id",
        "kind",
        "target",
        "role",
        "target_email",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status", "kind")
    list_select_related = ("target", "role", "requested_by", "decided_by")
    actions = ["approve", "reject"]

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("accounts.decide_privilegedchange")

    def _decide(self, request, queryset, service, **kwargs) -> None:
        for change in queryset:
            try:
                service(change=change, by=request.user, **kwargs)
            except DomainError as error:
                messages.error(request, f"#{change.pk}: {error.message}")
            else:
                messages.success(request, f"#{change.pk} {change}: done.")

    @admin.action(description="Approve the selected changes", permissions=["decide"])
    def approve(self, request, queryset):
        self._decide(request, queryset, privileged_change_approve)

    @admin.action(description="Reject the selected changes", permissions=["decide"])
    def reject(self, request, queryset):
        self._decide(request, queryset, privileged_change_reject, reason="rejected in the admin")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens by prefix (the rest is never stored); revoke them from the user list."""

    list_display = ("prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "prefix")
