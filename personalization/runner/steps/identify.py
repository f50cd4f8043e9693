"""The personalization steps, in order (shared/DESIGN.md "Personalization, step by step").

Each step is idempotent: run again after a crash (from its start, since its record is written
only when it is done), it leaves the card and the database as one clean run would. A step
returns the detail its journal entry keeps: what later steps need and an operator may read
(public keys, certificate ids), never a secret.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from django.db import IntegrityError, transaction

from cardedge.piv import (
    CardCapabilities,
    CardCapabilityContainer,
    Chuid,
    Discovery,
    KeyAlgorithm,
    KeyHistory,
    Pin,
    PrintedInformation,
    Puk,
    Slot,
)
from cardedge.piv.algorithms import algorithm_of, curve_for, rsa_bits_for
from cardedge.piv.constants import PinPolicy
from cardedge.piv.errors import SecurityStatusNotSatisfied, WrongPin
from cards.models import Card, PinMailer
from cards.services.cards import card_new, card_serial_redraw
from cards.services.secrets import escrowed_key_keep, pin_mailer_seal, pin_mailer_secrets
from config.statements import update_where
from issuance.identity import Identity
from personalization.emulated_cards import emulated_card_blank
from personalization.factory import factory_pin, factory_puk
from personalization.models import EncoderStation
from personalization.runner.approval import approved_identity
from personalization.runner.plan import generate_step_name
from personalization.runner.session import CardSession, WrongCard
from pki.models import Certificate
from pki.services.certificates import (
    CertificateRequest,
    certificates_record,
    certificates_sign,
)
from pki.text import fit_utf8

KEY_ALGORITHMS = {
    "rsa2048": KeyAlgorithm.RSA2048,
    "eccp256": KeyAlgorithm.ECC_P256,
    "eccp384": KeyAlgorithm.ECC_P384,
}
PIN_POLICIES = {"once": PinPolicy.ONCE, "always": PinPolicy.ALWAYS, "never": PinPolicy.NEVER}
ISSUER_IDENTIFICATION = "CARDFORGE"


class QualityCheckFailed(Exception):
    """The card does not hold what was written to it: it must not be marked good."""


@dataclass
class StepContext:
    job: object  # PersonalizationJob
    session: CardSession
    profile: dict
    journal: dict[str, dict]
    # The card's issued certificates by slot, once loaded in this run (see _certificates).
    certificates: dict[str, x509.Certificate] | None = field(default=None, repr=False)
    # The card's PIN and PUK, once sealed in (or read from) its PIN mailer in this run.
    secrets: tuple[Pin, Puk] | None = field(default=None, repr=False)
    # The identity the request was approved for (runner/approval.py), checked at the start of
    # this run; everything the card says about its holder comes from it.
    identity: Identity | None = field(default=None, repr=False)

    @property
    def card(self) -> Card:
        return self.session.card

    @property
    def client(self):
        return self.session.client

    @property
    def slots(self) -> dict[str, dict]:
        return self.profile["slots"]


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[StepContext], dict]
    # Steps that write the database record themselves, in the same transaction as their journal
    # entry (the runner then passes them a `record` callback).
    records_itself: bool = False


# A card serial is drawn again when another card holds it (cards/services/cards.py).
SERIAL_DRAWS = 5


# --- identify ---------------------------------------------------------------------------------


def identify_card(ctx: StepContext, record: Callable[[dict], None]) -> dict:
    """Find the blank card (emulated: make one) and record it as the job's card, in the
    transaction that journals the step: a worker killed before it commits leaves no card row,
    and no blank emulated card, behind. The card is read before that transaction, so the
    database never waits on it."""
    if ctx.card is None:
        emulated, state = None, None
        if ctx.job.station.transport == EncoderStation.Transport.EMULATED:
            emulated, state = emulated_card_blank()
        card = card_new(
            card_request=ctx.job.card_request, station=ctx.job.station, emulated_card=emulated
        )
        ctx.session.attach(card, emulated_state=state)
    capabilities = _checked_capabilities(ctx)
    card = ctx.card
    new_emulated = card.emulated_card is not None and card.emulated_card.pk is None
    for draw in range(1, SERIAL_DRAWS + 1):
        try:
            with transaction.atomic():
                if new_emulated:
                    card.emulated_card.save(force_insert=True)
                card.save()
                update_where(type(ctx.job), {"card_id": card.pk}, {"id": ctx.job.pk})
                detail = {
                    "card_serial": card.serial,
                    "chip_serial": card.chip_serial,
                    "version": (
                        ".".join(map(str, capabilities.version)) if capabilities.version else ""
                    ),
                    "yubico_extensions": capabilities.yubico_extensions,
                }
                record(detail)
            break
        except IntegrityError:
            # Rolled back. If another card has this serial, draw again.
            taken = card.pk is None and Card.objects.filter(serial=card.serial).exists()
            if not taken or draw == SERIAL_DRAWS:
                raise
            card_serial_redraw(card)
            if new_emulated:  # its row was rolled back too: insert it again, and refer to that
                emulated = card.emulated_card
                emulated.pk = None
                card.emulated_card = emulated
    ctx.job.card = card
    return detail


def _checked_capabilities(ctx: StepContext) -> CardCapabilities:
    """What the card in the reader says of itself, once it is known to be the job's card (or a
    blank one); sets the card's chip serial and management key algorithm."""
    card = ctx.card
    capabilities = ctx.client.capabilities()
    chip_serial = str(capabilities.serial) if capabilities.serial is not None else ""
    if card.pk is not None and card.chip_serial and chip_serial != card.chip_serial:
        msg = (
            f"the card in the reader (chip {chip_serial or 'unknown'}) is not the job's card "
            f"(chip {card.chip_serial}); put card {card.serial} back"
        )
        raise QualityCheckFailed(msg)
    if ctx.job.station.transport != EncoderStation.Transport.EMULATED and chip_serial:
        _refuse_a_card_in_use(card, chip_serial)
    card.chip_serial = chip_serial
    card.management_key_algorithm = "aes192" if capabilities.aes_management_key else "3des"
    return capabilities


def _refuse_a_card_in_use(card: Card, chip_serial: str) -> None:
    """A reader may hold a card issued earlier, or one another job is making (moved from another
    station's reader): never start on it. (An emulated card is made for its job.)"""
    other = (
        Card.objects.filter(
            chip_serial=chip_serial,
            status__in=[Card.Status.PERSONALIZING, Card.Status.PERSONALIZED],
        )
        .exclude(pk=card.pk)
        .first()
    )
    if other is not None:
        msg = (
            f"the card in the reader (chip {chip_serial}) is card {other.serial}, "
            f"{other.get_status_display().lower()}; insert a blank card"
        )
        raise WrongCard(msg)


def authenticate(ctx: StepContext) -> dict:
    ctx.session.ensure_admin()
    return {"management_key": "derived" if ctx.session.rotated else "factory"}


# --- PIN and PUK ------------------------------------------------------------------------------


def _mailer_secrets(ctx: StepContext) -> tuple[Pin, Puk]:
    """The card's new PIN and PUK, sealed in its PIN mailer before the card learns them, so a
    crash after the change cannot lose them. Kept in the context for the rest of the run (the
    quality check verifies the PIN), read back from the mailer when the job resumes."""
    if ctx.secrets is None:
        ctx.secrets = _mailer_secrets_load(ctx)
    return ctx.secrets


def _mailer_secrets_load(ctx: StepContext) -> tuple[Pin, Puk]:
    card = ctx.card
    mailer = PinMailer.objects.filter(card=card).first()
    if mailer is None:
        pin = Pin.generate(ctx.profile["pin"]["length"])
        puk = Puk.generate(ctx.profile["puk"]["length"])
        pin_mailer_seal(card=card, pin=pin, puk=puk)
        return pin, puk
    mailer.card = card  # the same row: no second query for the serial the seal is bound to
    return pin_mailer_secrets(mailer)


def set_pin_puk(ctx: StepContext) -> dict:
    client = ctx.client
    pin, puk = _mailer_secrets(ctx)
    retries_set = False
    try:
        client.verify_pin(factory_pin())
    except WrongPin:
        # Resumed after a crash: the card already took the new PIN; prove it.
        client.verify_pin(pin)
    else:
        if client.capabilities().yubico_extensions:
            ctx.session.ensure_admin()
            # Yubico SET PIN RETRIES resets PIN and PUK to the factory values: do it first.
            client.set_pin_retries(ctx.profile["pin"]["retries"], ctx.profile["puk"]["retries"])
            retries_set = True
            client.verify_pin(factory_pin())
        client.change_pin(factory_pin(), pin)
    try:
        client.change_puk(factory_puk(), puk)
    except WrongPin:
        # The card already holds the new PUK: RESET RETRY COUNTER with it proves it.
        client.unblock_pin(puk, pin)
    return {
        "pin_length": ctx.profile["pin"]["length"],
        "pin_retries": ctx.profile["pin"]["retries"] if retries_set else "card default",
        "puk_retries": ctx.profile["puk"]["retries"] if retries_set else "card default",
    }


# --- keys -------------------------------------------------------------------------------------


def _public_pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _central_key(algorithm: KeyAlgorithm):
    if algorithm.is_rsa:
        return rsa.generate_private_key(65537, rsa_bits_for(algorithm))
    return ec.generate_private_key(curve_for(algorithm))


def generate_key_step(slot_name: str) -> Step:
    def generate(ctx: StepContext) -> dict:
        spec = ctx.slots[slot_name]
        slot = Slot(int(slot_name, 16))
        algorithm = KEY_ALGORITHMS[spec["algorithm"]]
        policy = PIN_POLICIES[spec["pin_policy"]]
        ctx.session.ensure_admin()
        if spec["key_generation"] == "central":
            private_key = _central_key(algorithm)
            der = private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            public_pem = _public_pem(private_key.public_key())
            with transaction.atomic():
                escrowed_key_keep(
                    card=ctx.card, slot=slot_name, private_der=der, public_pem=public_pem
                )
            ctx.client.import_key(slot, private_key, pin_policy=policy)
            origin = "central, escrowed"
        else:
            public_pem = _public_pem(ctx.client.generate_key(slot, algorithm, pin_policy=policy))
            origin = "card"
        return {
            "slot": slot_name,
            "algorithm": spec["algorithm"],
            "origin": origin,
            "public_key": public_pem,
        }

    return Step(generate_step_name(slot_name), generate)


def _sha256(text: str) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(text.encode())
    return digest.finalize().hex()


# --- certificates -----------------------------------------------------------------------------


def issue_certificates(ctx: StepContext, record: Callable[[dict], None]) -> dict:
    """One certificate per slot, for the public key the card returned; recorded and journalled
    in one transaction, so a crash cannot leave certificates the journal does not know."""
    requests = []
    for slot_name, spec in sorted(ctx.slots.items()):
        generated = ctx.journal[generate_step_name(slot_name)]
        requests.append(
            CertificateRequest(
                public_key=generated["public_key"],
                profile=spec["certificate_profile"],
                slot=slot_name,
            )
        )
    # The approval is checked again right before signing, from the database as it is now, and
    # the certificates say what it covers. Signed before the transaction, which then holds the
    # database (SQLite: every writer) for the writes alone.
    ctx.identity = approved_identity(ctx.job.card_request_id)
    signed = certificates_sign(
        requests=requests, professional=ctx.card.professional, identity=ctx.identity, card=ctx.card
    )
    with transaction.atomic():
        issued = certificates_record(signed)
        detail = {
            "certificates": {cert.card_slot: cert.pk for cert in issued},
            "serials": {cert.card_slot: cert.serial for cert in issued},
        }
        record(detail)
    ctx.certificates = {
        cert.card_slot: x509.load_der_x509_certificate(bytes(cert.der)) for cert in issued
    }
    return detail


def _certificates(ctx: StepContext) -> dict[str, x509.Certificate]:
    """The certificates the journal says were issued, loaded once per run (they never change:
    writing them and checking them read back compare with the same DER)."""
    if ctx.certificates is None:
        ids = ctx.journal["issue_certificates"]["certificates"]
        rows = Certificate.objects.in_bulk(ids.values())
        ctx.certificates = {
            slot: x509.load_der_x509_certificate(bytes(rows[pk].der)) for slot, pk in ids.items()
        }
    return ctx.certificates


def _fit(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8 (printed information, SP 800-73-4 Part 1 Table 13), cut
    between graphemes: never inside a character or between a letter and its combining marks."""
    return fit_utf8(" ".join(text.split()), limit)


# --- data objects -----------------------------------------------------------------------------


def _objects(ctx: StepContext) -> tuple[Chuid, CardCapabilityContainer, PrintedInformation]:
    card = ctx.card
    holder = ctx.identity  # the approved snapshot, never the live registry record
    expiry = card.expires_at.date()
    chuid = Chuid(guid=card.uuid, expiry=expiry)
    ccc = CardCapabilityContainer.for_card(card.uuid.bytes[:14])
    printed = PrintedInformation(
        name=_fit(holder.full_name, 125),
        employee_affiliation=_fit(holder.profession_label, 20),
        expiry=expiry,
        agency_card_serial_number=card.serial,
        issuer_identification=ISSUER_IDENTIFICATION,
        organization_affiliation_line_1=(
            _fit(holder.organisation_name, 20) if holder.organisation_name else None
        ),
    )
    return chuid, ccc, printed


def write_objects(ctx: StepContext) -> dict:
    ctx.session.ensure_admin()
    client = ctx.client
    for slot_name, certificate in sorted(_certificates(ctx).items()):
        client.write_certificate(Slot(int(slot_name, 16)), certificate)
    chuid, ccc, printed = _objects(ctx)
    client.write_chuid(chuid)
    client.write_card_capability_container(ccc)
    client.write_discovery(Discovery())
    client.write_key_history(KeyHistory())
    client.write_printed_information(printed)
    return {"objects": ["certificates", "CHUID", "CCC", "discovery", "key history", "printed"]}


# --- management key ---------------------------------------------------------------------------


def rotate_management_key(ctx: StepContext) -> dict:
    """Replace the factory key with the card's derived key, then prove the card holds it."""
    session = ctx.session
    session.ensure_admin()
    if not session.rotated:
        new_key = session.derived_key()
        ctx.client.set_management_key(new_key)
        session.rotated = True
    session.reauthenticate()
    return {"management_key": "derived", "algorithm": ctx.card.management_key_algorithm}


# --- quality check ----------------------------------------------------------------------------


def _verify(public_key, signature: bytes, message: bytes) -> None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    else:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def quality_check(ctx: StepContext) -> dict:
    """Read every object back, verify the PIN, sign a fresh challenge with every key and check
    each signature against its certificate. Any difference fails the job."""
    client = ctx.client
    certificates = _certificates(ctx)
    for slot_name, certificate in certificates.items():
        on_card = client.read_certificate(Slot(int(slot_name, 16)))
        if on_card is None or on_card != certificate:
            msg = f"the certificate in slot {slot_name} did not read back"
            raise QualityCheckFailed(msg)
    chuid, ccc, printed = _objects(ctx)
    checks = {
        "CHUID": client.read_chuid() == chuid,
        "CCC": client.read_card_capability_container() == ccc,
        "discovery": client.read_discovery() == Discovery(),
    }
    pin, _ = _mailer_secrets(ctx)
    client.verify_pin(pin)
    checks["printed information"] = client.read_printed_information() == printed
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        msg = f"{', '.join(failed)} did not read back"
        raise QualityCheckFailed(msg)
    signed = []
    for slot_name, certificate in sorted(certificates.items()):
        slot = Slot(int(slot_name, 16))
        public_key = certificate.public_key()
        algorithm = algorithm_of(public_key)
        challenge = os.urandom(32)
        if ctx.slots[slot_name]["pin_policy"] == "always":
            client.verify_pin(pin)  # SP 800-73-4: the signature key wants the PIN every time
        try:
            signature = client.sign(slot, challenge, algorithm=algorithm)
            _verify(public_key, signature, challenge)
        except SecurityStatusNotSatisfied:
            msg = f"the key in slot {slot_name} refused to sign with the PIN verified"
            raise QualityCheckFailed(msg) from None
        except InvalidSignature:
            msg = f"the key in slot {slot_name} does not match its certificate"
            raise QualityCheckFailed(msg) from None
        signed.append(slot_name)
    client.logout()
    return {"read_back": ["certificates", *checks], "signed": signed}


def plan(profile: dict) -> list[Step]:
    return [
        Step("identify_card", identify_card, records_itself=True),
        Step("authenticate", authenticate),
        Step("set_pin_puk", set_pin_puk),
        *(generate_key_step(slot) for slot in sorted(profile["slots"])),
        Step("issue_certificates", issue_certificates, records_itself=True),
        Step("write_objects", write_objects),
        Step("rotate_management_key", rotate_management_key),
        Step("quality_check", quality_check),
    ]
