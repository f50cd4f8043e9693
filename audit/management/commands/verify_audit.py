from django.core.management.base import BaseCommand, CommandError

from audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain. Exits 0 and prints how many events were checked "
        "when it is intact; exits 1 naming the first broken sequence number otherwise."
    )

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if not report.intact:
            msg = (
                f"audit chain broken at event {report.broken_at}: {report.reason} "
                f"({report.checked} events before it are intact)"
            )
            raise CommandError(msg, returncode=1)
        last = f", last hash {report.last_hash}" if report.last_hash else ""
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} events{last}"))
