from django.core.management.base import BaseCommand, CommandError

from audit.chain import canonical_time
from audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Check the audit trail: its hash chain, its head, and every signed checkpoint of the "
        "store outside the database (docs/audit.md). Exits 0 and says what was checked when it "
        "is intact; exits 1 naming the first problem otherwise."
    )

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if not report.intact:
            msg = (
                f"audit chain broken at event {report.broken_at}: {report.reason} "
                f"({report.checked} events checked)"
            )
            raise CommandError(msg, returncode=1)
        last = f", last hash {report.last_hash}" if report.last_hash else ""
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} events{last}"))
        if not report.checkpoints:
            self.stdout.write(
                "no signed checkpoint yet: nothing anchors the trail outside the database"
            )
            return
        newest = report.checkpoints[-1]
        roots = sorted({anchor.root_sha256 for anchor in report.checkpoints})
        self.stdout.write(
            f"{len(report.checkpoints)} signed checkpoints verified, the last at event "
            f"{newest.sequence} ({canonical_time(newest.time)}), hash {newest.head_hash}; "
            f"{report.checked - newest.sequence} events since are not anchored yet"
        )
        self.stdout.write(f"signed under the root CA with SHA-256 {', '.join(roots)}")
