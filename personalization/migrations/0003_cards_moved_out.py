"""Card, PinMailer and EscrowedKey moved to the cards app with their tables (cards 0001).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cards', '0001_moved_in'),
        ('personalization', '0002_job_abandon_permission'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay as they are: only Django's idea of which app owns them moves.
            state_operations=[
                migrations.AlterField(
                    model_name='personalizationjob',
                    name='card',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='jobs', to='cards.card'),
                ),
                migrations.RemoveField(
                    model_name='pinmailer',
                    name='card',
                ),
                migrations.RemoveField(
                    model_name='escrowedkey',
                    name='card',
                ),
                migrations.RemoveField(
                    model_name='pinmailer',
                    name='downloaded_by',
                ),
                migrations.AlterField(
                    model_name='personalizationjob',
                    name='card_request',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='personalization_jobs', to='cards.cardrequest'),
                ),
                migrations.DeleteModel(
                    name='Card',
                ),
                migrations.DeleteModel(
                    name='EscrowedKey',
                ),
                migrations.DeleteModel(
                    name='PinMailer',
                ),
            ],
            database_operations=[],
        ),
    ]
