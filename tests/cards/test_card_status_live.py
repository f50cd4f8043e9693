"""What a relying party sees of a card's suspension, resumption and revocation, right after the
operation returns: `openssl ocsp` against the live responder and `openssl crl` on the CRL the
server serves, for the card's authentication (9A) and qualified signature (9C) certificates,
which two CAs issue."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest

from accounts.roles import Role
from cards.models import Card
from cards.services.card_actions import card_action_approve, card_action_request
from pki.models import Certificate
from tests.cards.holder import hand_over_and_activate
from tests.pki.chain import write_pem
from tests.pki.conftest import openssl


class RelyingParty:
    def __init__(self, base_url: str, directory: Path):
        self.base_url, self.directory = base_url, directory

    def _files(self, row: Certificate) -> tuple[Path, Path, Path]:
        ca = row.ca
        issuer = write_pem(self.directory / f"{ca.slug}.pem", bytes(ca.certificate_der))
        root = write_pem(self.directory / "root.pem", bytes(ca.parent.certificate_der))
        trust = self.directory / f"{ca.slug}-trust.pem"
        trust.write_text(issuer.read_text() + root.read_text())
        leaf = write_pem(self.directory / f"{row.card_slot}.pem", bytes(row.der))
        return issuer, trust, leaf

    def ocsp(self, row: Certificate) -> str:
        issuer, trust, leaf = self._files(row)
        result = openssl(
            "ocsp",
            *("-issuer", str(issuer), "-cert", str(leaf), "-CAfile", str(trust)),
            *("-url", f"{self.base_url}/pki/ocsp/{row.ca.slug}/", "-timeout", "20"),
            check=False,
        )
        output = (result.stdout + result.stderr).decode()
        assert result.returncode == 0, output
        assert "Response verify OK" in output, output
        return output.split(f"{leaf}: ", 1)[1]

    def crl(self, row: Certificate) -> str:
        """The text of the CRL the server serves for the certificate's CA, its signature
        checked against the CA."""
        issuer, _, _ = self._files(row)
        path = self.directory / f"{row.ca.slug}.crl"
        with urllib.request.urlopen(f"{self.base_url}/pki/crl/{row.ca.slug}.crl") as response:
            path.write_bytes(response.read())
        result = subprocess.run(
            [
                "openssl",
                "crl",
                "-inform",
                "DER",
                "-in",
                str(path),
                "-CAfile",
                str(issuer),
                "-noout",
                "-text",
            ],
            capture_output=True,
            check=False,
        )
        output = (result.stdout + result.stderr).decode()
        assert result.returncode == 0, output
        assert "verify OK" in output, output
        return output


def _entry(crl_text: str, serial: str) -> str | None:
    """The CRL entry of `serial` (its lines up to the next entry), or None."""
    marker = f"Serial Number: {serial.upper()}"
    if marker not in crl_text:
        return None
    return crl_text.split(marker, 1)[1].split("Serial Number:", 1)[0]


@pytest.fixture
def signer_answers_here():
    """The CRL regeneration each change queues on commit runs in this process, as the signer's
    worker would run it on its queue (tests hold the signer's secrets)."""
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.mark.django_db(transaction=True)
def test_suspend_resume_revoke_are_seen_by_ocsp_and_the_crl_at_once(
    live_server, personalized, users, tmp_path, request
):
    card = hand_over_and_activate(personalized(), officer=users[Role.ENCODING_OPERATOR])
    request.getfixturevalue("signer_answers_here")  # from here on (the job above ran by hand)
    rows = [
        Certificate.objects.for_card(card).select_related("ca__parent").get(card_slot=slot)
        for slot in ("9A", "9C")
    ]
    assert rows[0].ca != rows[1].ca
    party = RelyingParty(live_server.url, tmp_path)
    officer, approver = users[Role.ENROLMENT_OFFICER], users[Role.APPROVING_OFFICER]

    def act(action: str, reason: str = "") -> None:
        asked = card_action_request(card=card, action=action, reason=reason, by=officer)
        card_action_approve(card_action=asked, by=approver)

    for row in rows:
        assert party.ocsp(row).startswith("good")
        assert _entry(party.crl(row), row.serial) is None

    act("suspend")
    for row in rows:
        status = party.ocsp(row)
        assert status.startswith("revoked"), status
        assert "Reason: certificateHold" in status, status
        assert "Certificate Hold" in (_entry(party.crl(row), row.serial) or ""), row.serial

    act("resume")
    for row in rows:
        assert party.ocsp(row).startswith("good")
        assert _entry(party.crl(row), row.serial) is None

    act("revoke", "stolen")
    card.refresh_from_db()
    assert (card.status, card.revocation_reason) == (Card.Status.REVOKED, "stolen")
    for row in rows:
        status = party.ocsp(row)
        assert status.startswith("revoked"), status
        assert "Reason: keyCompromise" in status, status
        assert "Key Compromise" in (_entry(party.crl(row), row.serial) or ""), row.serial
