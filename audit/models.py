from django.conf import settings
from django.db import models

from audit.events import EventType
from audit.labels import labels_of_model


class AppendOnlyError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet):
    def for_object(self, obj) -> "AuditEventQuerySet":
        """Its events, including those written before its model moved app (audit/labels.py)."""
        return self.filter(object_type__in=labels_of_model(type(obj)), object_id=str(obj.pk))

    def update(self, **kwargs):
        msg = "audit events are append-only"
        raise AppendOnlyError(msg)

    def delete(self):
        msg = "audit events are append-only"
        raise AppendOnlyError(msg)


class AuditEvent(models.Model):
    """One entry of the hash-chained, append-only audit trail. Written only by audit.services."""

    sequence = models.BigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False, db_index=True)
    actor = models.CharField(
        max_length=150, blank=True, editable=False, help_text="Username at the time, or empty."
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # No `choices`: the codes live in audit/events.py and grow without a migration each time.
    event = models.PositiveSmallIntegerField(editable=False)
    object_type = models.CharField(max_length=100, blank=True, editable=False)
    object_id = models.CharField(max_length=64, blank=True, editable=False)
    payload = models.JSONField(default=dict, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    # Not indexed: prev_hash (unique) already links each hash once; verification streams rows.
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        constraints = [
            # Two writers that read the same head cannot both link to it: the chain cannot fork.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_event_prev_hash_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.event_type.label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            msg = "audit events are append-only"
            raise AppendOnlyError(msg)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        msg = "audit events are append-only"
        raise AppendOnlyError(msg)

    @property
    def event_type(self) -> EventType:
        return EventType(self.event)

    @property
    def event_label(self) -> str:
        return self.event_type.label

    @property
    def payload_summary(self) -> str:
        """The payload as `key: value` pairs, for tables."""
        return " · ".join(f"{key}: {value}" for key, value in self.payload.items())


class AuditChainHead(models.Model):
    """The last sequence number and hash of the chain: one row, locked by every writer.

    Locking it serialises writers (so the chain cannot fork) and lets verification notice
    events deleted from the end of the chain.
    """

    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit chain head at {self.sequence}"


class AuditCheckpoint(models.Model):
    """A signed checkpoint written to the store outside the database (audit/checkpoints.py):
    listed here for reports and so that a checkpoint file removed from the store is noticed.
    The store, not this table, is what verification trusts."""

    sequence = models.BigIntegerField(unique=True, editable=False)
    head_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(editable=False)
    file_name = models.CharField(max_length=40, editable=False)
    file_sha256 = models.CharField(max_length=64, editable=False)
    certificate_sha256 = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"audit checkpoint at event {self.sequence}"

    @property
    def path(self):
        from audit.checkpoints import store_dir

        return store_dir() / self.file_name
