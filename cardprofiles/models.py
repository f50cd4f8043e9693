from django.conf import settings
from django.db import models


class ProfileVersionLocked(RuntimeError):
    """A card profile version that card requests use is frozen; edits make a new version."""


class CardProfile(models.Model):
    """A named kind of card (e.g. `hpc-physician`); what goes on it lives in its versions."""

    name = models.SlugField(max_length=64, unique=True)
    display_name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def current_version(self) -> "CardProfileVersion | None":
        return self.versions.order_by("-number").first()


class CardProfileVersionQuerySet(models.QuerySet):
    def current(self):
        """The newest version of each profile."""
        latest = CardProfileVersion.objects.filter(profile=models.OuterRef("profile")).order_by(
            "-number"
        )
        return self.filter(pk=models.Subquery(latest.values("pk")[:1]))


class CardProfileVersion(models.Model):
    """One immutable definition of a card profile, validated against cardprofiles/schema.py."""

    profile = models.ForeignKey(CardProfile, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    digest = models.CharField(max_length=64, help_text="SHA-256 of the canonical definition.")
    source = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = CardProfileVersionQuerySet.as_manager()

    class Meta:
        ordering = ["profile__name", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "number"], name="card_profile_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile.name} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding and self.is_in_use:
            msg = f"{self} is used by card requests and cannot change; edit to make a new version"
            raise ProfileVersionLocked(msg)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_in_use:
            msg = f"{self} is used by card requests and cannot be deleted"
            raise ProfileVersionLocked(msg)
        return super().delete(*args, **kwargs)

    @property
    def is_in_use(self) -> bool:
        return self.card_requests.exists()

    # Typed access to the definition, for templates and services.
    @property
    def slots(self) -> dict:
        return self.definition["slots"]

    @property
    def validity_days(self) -> int:
        return self.definition["validity_days"]
