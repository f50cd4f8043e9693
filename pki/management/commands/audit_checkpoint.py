"""Write a signed checkpoint of the audit trail now (docs/audit.md): where the signer's secrets
are, as the signer's worker does every 30 seconds when one is due."""

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import CheckpointError
from audit.services import AuditChainHeadMissing
from config.errors import DomainError
from pki.key_backends.base import KeyBackendError
from pki.services.audit_checkpoints import audit_checkpoint_write


class Command(BaseCommand):
    help = (
        "Anchor the audit trail now: a checkpoint of its head, signed with the platform's "
        "audit-signing key, written to CARDFORGE_AUDIT_CHECKPOINT_DIR. Run where the signer's "
        "secrets are (the KEK or the HSM PIN)."
    )

    def handle(self, *args: object, **options: object) -> None:
        try:
            checkpoint = audit_checkpoint_write(force=True)
        except (CheckpointError, AuditChainHeadMissing, KeyBackendError) as error:
            raise CommandError(str(error)) from None
        except DomainError as error:
            raise CommandError(error.message) from None
        if checkpoint is None:
            self.stdout.write("nothing to anchor: no event since the last checkpoint")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"checkpoint at event {checkpoint.sequence} written to {checkpoint.path}"
            )
        )
