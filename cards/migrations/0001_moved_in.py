"""CardRequest (from issuance) and Card, PinMailer, EscrowedKey (from personalization) move to
this app with their tables, rows, constraints, indexes and triggers kept: the models name their
old tables (db_table), and nothing is done to the database but renaming their content types,
so that the permissions granted on them (roles), and the certificates that point at a card
(pki.Certificate.card_content_type), keep pointing at them.
"""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models

MOVED = [("issuance", "cardrequest"), *(("personalization", m) for m in ("card", "pinmailer", "escrowedkey"))]


def _move(apps, pairs):
    content_type = apps.get_model("contenttypes", "ContentType")
    for (old_app, model), new_app in pairs:
        # A database migrated before contenttypes had rows (a fresh one) has nothing to move.
        if not content_type.objects.filter(app_label=new_app, model=model).exists():
            content_type.objects.filter(app_label=old_app, model=model).update(app_label=new_app)


def content_types_move(apps, schema_editor):
    _move(apps, [(pair, "cards") for pair in MOVED])


def content_types_move_back(apps, schema_editor):
    _move(apps, [(("cards", model), old_app) for old_app, model in MOVED])


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('cardprofiles', '0001_initial'),
        ('issuance', '0003_cardrequest_identity_snapshot'),
        ('personalization', '0002_job_abandon_permission'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(content_types_move, content_types_move_back),
        migrations.SeparateDatabaseAndState(
            # The tables stay as they are: only Django's idea of which app owns them moves.
            state_operations=[
                migrations.CreateModel(
                    name='CardRequest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reason', models.CharField(choices=[('new', 'New card'), ('renewal', 'Renewal'), ('replacement', 'Replacement')], default='new', max_length=16)),
                        ('status', models.CharField(choices=[('submitted', 'Submitted'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('cancelled', 'Cancelled'), ('completed', 'Card personalized')], default='submitted', max_length=16)),
                        ('comment', models.TextField(blank=True)),
                        ('submitted_at', models.DateTimeField()),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('decision_reason', models.TextField(blank=True)),
                        ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                        ('identity', models.JSONField(editable=False)),
                        ('identity_sha256', models.CharField(editable=False, max_length=64)),
                        ('approved_identity_sha256', models.CharField(blank=True, editable=False, max_length=64)),
                        ('cancelled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('card_profile', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='card_requests', to='cardprofiles.cardprofile')),
                        ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('professional', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='card_requests', to='issuance.professional')),
                        ('profile_version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='card_requests', to='cardprofiles.cardprofileversion')),
                        ('submitted_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'issuance_cardrequest',
                        'ordering': ['-submitted_at', '-pk'],
                        'permissions': [('decide_cardrequest', 'Can approve or reject card requests of others'), ('cancel_cardrequest', 'Can cancel submitted card requests')],
                    },
                ),
                migrations.CreateModel(
                    name='Card',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('serial', models.CharField(help_text='Printed on the card.', max_length=20, unique=True)),
                        ('uuid', models.UUIDField(default=uuid.uuid4, help_text='The CHUID GUID.', unique=True, verbose_name='card UUID')),
                        ('chip_serial', models.CharField(blank=True, max_length=40)),
                        ('status', models.CharField(choices=[('personalizing', 'Personalizing'), ('personalized', 'Personalized'), ('failed', 'Failed (certificates revoked)'), ('replaced', 'Replaced by a newer card (certificates revoked)')], default='personalizing', max_length=16)),
                        ('management_key_algorithm', models.CharField(blank=True, max_length=16)),
                        ('issued_at', models.DateTimeField(blank=True, null=True)),
                        ('expires_at', models.DateTimeField()),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('card_profile', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cards', to='cardprofiles.cardprofile')),
                        ('emulated_card', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='card', to='personalization.emulatedcard')),
                        ('professional', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cards', to='issuance.professional')),
                        ('profile_version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cards', to='cardprofiles.cardprofileversion')),
                        ('station', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cards', to='personalization.encoderstation')),
                        ('card_request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cards', to='cards.cardrequest')),
                    ],
                    options={
                        'db_table': 'personalization_card',
                        'ordering': ['-created_at', '-pk'],
                        'permissions': [('download_card_documents', 'Can download card faces and carriers')],
                    },
                ),
                migrations.CreateModel(
                    name='EscrowedKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('slot', models.CharField(max_length=2)),
                        ('sealed_private_key', models.BinaryField()),
                        ('public_key_sha256', models.CharField(max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('card', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='escrowed_keys', to='cards.card')),
                    ],
                    options={
                        'db_table': 'personalization_escrowedkey',
                    },
                ),
                migrations.CreateModel(
                    name='PinMailer',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('sealed', models.BinaryField(null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('downloaded_at', models.DateTimeField(blank=True, null=True)),
                        ('card', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='pin_mailer', to='cards.card')),
                        ('downloaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'personalization_pinmailer',
                        'permissions': [('download_pinmailer', 'Can download a PIN mailer (once)')],
                    },
                ),
                migrations.AddIndex(
                    model_name='cardrequest',
                    index=models.Index(fields=['status', '-submitted_at'], name='issuance_ca_status_977f4c_idx'),
                ),
                migrations.AddConstraint(
                    model_name='cardrequest',
                    constraint=models.CheckConstraint(condition=models.Q(('decided_by__isnull', True), models.Q(('decided_by', models.F('submitted_by')), _negated=True), _connector='OR'), name='card_request_decider_is_not_submitter', violation_error_message='The submitter of a card request cannot decide on it.'),
                ),
                migrations.AddConstraint(
                    model_name='cardrequest',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['approved', 'rejected']), _negated=True), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False)), _connector='OR'), name='card_request_decision_has_decider'),
                ),
                migrations.AddConstraint(
                    model_name='cardrequest',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'completed'), _negated=True), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False)), _connector='OR'), name='card_request_completion_has_decider'),
                ),
                migrations.AddConstraint(
                    model_name='cardrequest',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['approved', 'completed']), _negated=True), ('approved_identity_sha256', models.F('identity_sha256')), _connector='OR'), name='card_request_approval_covers_snapshot'),
                ),
                migrations.AddConstraint(
                    model_name='cardrequest',
                    constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['submitted', 'approved'])), fields=('professional', 'card_profile'), name='card_request_one_open_per_professional_and_profile', violation_error_message='This professional already has an open request for this card profile.'),
                ),
                migrations.AddConstraint(
                    model_name='card',
                    constraint=models.UniqueConstraint(condition=models.Q(('status', 'personalized')), fields=('professional', 'card_profile'), name='one_personalized_card_per_professional_and_profile'),
                ),
                migrations.AddConstraint(
                    model_name='card',
                    constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['personalizing', 'personalized'])), fields=('card_request',), name='one_live_card_per_request'),
                ),
                migrations.AddConstraint(
                    model_name='escrowedkey',
                    constraint=models.UniqueConstraint(fields=('card', 'slot'), name='one_escrowed_key_per_slot'),
                ),
                migrations.AddConstraint(
                    model_name='pinmailer',
                    constraint=models.CheckConstraint(condition=models.Q(('downloaded_at__isnull', True), ('sealed__isnull', True), _connector='OR'), name='pin_mailer_destroyed_once_downloaded'),
                ),
            ],
            database_operations=[],
        ),
    ]
