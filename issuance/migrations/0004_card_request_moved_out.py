"""CardRequest moved to the cards app with its table (cards 0001).
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('issuance', '0003_cardrequest_identity_snapshot'),
        ('personalization', '0003_cards_moved_out'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay as they are: only Django's idea of which app owns them moves.
            state_operations=[
                migrations.DeleteModel(
                    name='CardRequest',
                ),
            ],
            database_operations=[],
        ),
    ]
