"""Card requests carry the identity snapshot their approval covers (issuance/identity.py).

Requests made before this migration get the snapshot of their professional as it is now (the
best that can be known), and their approval, where there is one, is taken to cover it. The
triggers make the submitter, the snapshot, the professional, the profile and a recorded decision
immutable after insert, so an UPDATE cannot walk around four eyes.
"""

from django.db import migrations, models
from django.db.models import F, Q

POSTGRES_TRIGGER = """
CREATE OR REPLACE FUNCTION issuance_cardrequest_immutable() RETURNS trigger AS $$
BEGIN
    IF NEW.submitted_by_id IS DISTINCT FROM OLD.submitted_by_id
       OR NEW.professional_id IS DISTINCT FROM OLD.professional_id
       OR NEW.card_profile_id IS DISTINCT FROM OLD.card_profile_id
       OR NEW.profile_version_id IS DISTINCT FROM OLD.profile_version_id
       OR NEW.identity IS DISTINCT FROM OLD.identity
       OR NEW.identity_sha256 IS DISTINCT FROM OLD.identity_sha256
       OR (OLD.approved_identity_sha256 <> ''
           AND NEW.approved_identity_sha256 IS DISTINCT FROM OLD.approved_identity_sha256)
       OR (OLD.decided_by_id IS NOT NULL AND NEW.decided_by_id IS DISTINCT FROM OLD.decided_by_id)
    THEN
        RAISE EXCEPTION 'card request %%: its submitter, professional, profile, identity snapshot and decision cannot change once recorded', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER issuance_cardrequest_immutable BEFORE UPDATE ON issuance_cardrequest
    FOR EACH ROW EXECUTE FUNCTION issuance_cardrequest_immutable();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS issuance_cardrequest_immutable ON issuance_cardrequest;
DROP FUNCTION IF EXISTS issuance_cardrequest_immutable();
"""
SQLITE_TRIGGER = """
CREATE TRIGGER issuance_cardrequest_immutable BEFORE UPDATE ON issuance_cardrequest
WHEN NEW.submitted_by_id IS NOT OLD.submitted_by_id
  OR NEW.professional_id IS NOT OLD.professional_id
  OR NEW.card_profile_id IS NOT OLD.card_profile_id
  OR NEW.profile_version_id IS NOT OLD.profile_version_id
  OR NEW.identity IS NOT OLD.identity
  OR NEW.identity_sha256 IS NOT OLD.identity_sha256
  OR (OLD.approved_identity_sha256 <> ''
      AND NEW.approved_identity_sha256 IS NOT OLD.approved_identity_sha256)
  OR (OLD.decided_by_id IS NOT NULL AND NEW.decided_by_id IS NOT OLD.decided_by_id)
BEGIN
  SELECT RAISE(ABORT, 'card request: its submitter, professional, profile, identity snapshot and decision cannot change once recorded');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS issuance_cardrequest_immutable;"


def snapshot_existing(apps, schema_editor):
    from issuance.identity import identity_of

    card_request_model = apps.get_model("issuance", "CardRequest")
    queryset = card_request_model.objects.select_related(
        "professional__organisation", "profile_version__profile"
    )
    for card_request in queryset.iterator():
        try:
            identity = identity_of(card_request.professional, card_request.profile_version)
        except OSError:  # a photo file that is gone: the snapshot says there is none
            card_request.professional.photo = ""
            identity = identity_of(card_request.professional, card_request.profile_version)
        card_request.identity = identity.as_json()
        card_request.identity_sha256 = identity.sha256
        if card_request.decided_by_id and card_request.status in ("approved", "completed"):
            card_request.approved_identity_sha256 = identity.sha256
        card_request.save(
            update_fields=["identity", "identity_sha256", "approved_identity_sha256"]
        )


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_TRIGGER)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


def drop_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("issuance", "0002_alter_cardrequest_status"),
        ("cardprofiles", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="cardrequest",
            name="identity",
            field=models.JSONField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="cardrequest",
            name="identity_sha256",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="cardrequest",
            name="approved_identity_sha256",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(snapshot_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="cardrequest",
            name="identity",
            field=models.JSONField(editable=False),
        ),
        migrations.AddConstraint(
            model_name="cardrequest",
            constraint=models.CheckConstraint(
                condition=~Q(status="completed")
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="card_request_completion_has_decider",
            ),
        ),
        migrations.AddConstraint(
            model_name="cardrequest",
            constraint=models.CheckConstraint(
                condition=~Q(status__in=["approved", "completed"])
                | Q(approved_identity_sha256=F("identity_sha256")),
                name="card_request_approval_covers_snapshot",
            ),
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
