"""Users and groups are django.contrib.auth's; roles are groups (accounts/roles.py).

This app adds API tokens stored as hashes, and the requests for privileged account changes that
wait for a second administrator (accounts/services/privileged.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from config.four_eyes import FourEyes, four_eyes_constraints

# An attribute the services and views that audit a password change themselves set on the user
# (accounts/services/effects.py, accounts/views.py); any other change (`manage.py
# changepassword`, a shell) is audited by accounts/signals.py. The name of a flag, no secret.
PASSWORD_CHANGE_AUDITED = "_cardforge_password_change_audited"  # noqa: S105


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    """An API token. Only its SHA-256 is stored: the clear token is shown once, when made."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="the token's first characters, to tell")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class PrivilegedChangeQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=PrivilegedChange.Status.PENDING)


PRIVILEGED_CHANGE_FOUR_EYES = FourEyes(
    noun="change",
    asked_by="requested_by",
    decide_permission="accounts.decide_privilegedchange",
    concerned=("target",),
    own_message="you asked for this change, so another administrator decides",
    concerned_message="this change is to your own account: another administrator decides",
)


class PrivilegedChange(models.Model):
    """A change to someone's access that takes effect only when a second administrator approves.

    Nobody decides on a change they asked for or a change to their own account: the service
    refuses it with a clear message and the CHECK constraint below makes sure of it.
    """

    four_eyes = PRIVILEGED_CHANGE_FOUR_EYES

    class Kind(models.TextChoices):
        GRANT_ROLE = "grant_role", "Grant a role"
        RESET_PASSWORD = "reset_password", "Reset the password (link sent by e-mail)"
        RESET_SECOND_FACTOR = "reset_second_factor", "Reset the second factor"
        REVOKE_API_TOKENS = "revoke_api_tokens", "Revoke the API tokens"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="privileged_changes"
    )
    role = models.ForeignKey(
        "auth.Group", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Where a reset link will go: shown to the approver, checked again when the link is sent.
    target_email = models.EmailField(blank=True)
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    objects = PrivilegedChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        permissions = [("decide_privilegedchange", "Approve or reject privileged account changes")]
        constraints = [
            *four_eyes_constraints(PRIVILEGED_CHANGE_FOUR_EYES, name="privileged_change_four_eyes"),
            models.CheckConstraint(
                name="privileged_change_role_iff_grant",
                condition=Q(kind="grant_role", role__isnull=False)
                | (~Q(kind="grant_role") & Q(role__isnull=True)),
            ),
            models.CheckConstraint(
                name="privileged_change_decided_iff_approved_or_rejected",
                condition=Q(status__in=["approved", "rejected"], decided_by__isnull=False)
                | (Q(status__in=["pending", "cancelled"]) & Q(decided_by__isnull=True)),
            ),
        ]

    def __str__(self) -> str:
        what = f"{self.get_kind_display()}"
        if self.role_id:
            what = f"{what} {self.role}"
        return f"#{self.pk} {what} for {self.target}"
