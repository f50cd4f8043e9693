"""What the signer makes for a job's card (docs/signer.md): its certificates, its centrally
generated keys (escrowed), its PIN and PUK (sealed in the PIN mailer) and its management key.

Made in memory first (key generation and signatures outside any transaction, which would hold
the database meanwhile), then recorded by `making_record` in the signer's transaction, all or
none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cardedge.piv import KeyAlgorithm, ManagementKey, Pin, Puk
from cardedge.piv.algorithms import curve_for, rsa_bits_for
from cardprofiles.schema import puk_managed
from cards.services.secrets import (
    EarlierKey,
    escrowed_key_keep,
    escrowed_keys_of_holder,
    managed_puk_keep,
    managed_puk_open,
    pin_mailer_renew,
    pin_mailer_seal,
)
from config.errors import Conflict
from personalization.deliveries import MANAGEMENT_KEY_ALGORITHMS, delivery_store
from personalization.models import PersonalizationJob
from personalization.runner.attestation import attestation_trust, journal_attestations_verify
from personalization.runner.plan import (
    central_slots,
    generate_step_name,
    on_card_slots,
    receives_retired_keys,
)
from personalization.runner.steps.keys import KEY_ALGORITHMS  # the profile's names, once
from pki.models import Certificate
from pki.services.certificates import (
    CertificateRequest,
    SignedCertificates,
    certificates_record,
    certificates_sign,
)
from pki.services.keys import card_management_key_derive


def _public_pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _central_key(algorithm: KeyAlgorithm):
    if algorithm.is_rsa:
        return rsa.generate_private_key(65537, rsa_bits_for(algorithm))
    return ec.generate_private_key(curve_for(algorithm))


@dataclass
class Making:
    """One card's making, before it is recorded. Its secrets never reach a repr."""

    attestations: dict[str, dict | None]  # by slot: what each verified attestation says
    signed: SignedCertificates
    central: dict[str, tuple[bytes, str]] = field(repr=False)  # slot -> (PKCS#8 DER, public PEM)
    pin: Pin = field(repr=False)
    puk: Puk = field(repr=False)
    management_key: ManagementKey = field(repr=False)
    # The holder's earlier escrowed encryption keys for the retired slots, with what the journal
    # says of each (public: the slot, the card, its 9D certificate and public key).
    retired: list[tuple[EarlierKey, dict]] = field(repr=False, default_factory=list)

    def signed_der(self) -> dict[str, bytes]:
        """The card's certificates (public), DER by slot."""
        return {row.card_slot: bytes(row.der) for row, _ in self.signed.pairs}


def _retired(card) -> list[tuple[EarlierKey, dict]]:
    """The holder's earlier escrowed 9D keys, each with its card's 9D certificate, in the
    order of the retired slots (82 first: the newest)."""
    retired = []
    for earlier in escrowed_keys_of_holder(card=card):
        certificate = (
            Certificate.objects.for_card(earlier.card)
            .filter(card_slot=earlier.slot)
            .order_by("-pk")
            .only("pk", "serial", "der")
            .first()
        )
        if certificate is None:  # an escrowed key is certified in the same transaction
            continue
        private_key = serialization.load_der_private_key(earlier.private_der, password=None)
        retired.append(
            (
                earlier,
                {
                    "slot": f"{0x82 + len(retired):02X}",
                    "from_card": earlier.card.serial,
                    "certificate": certificate.pk,
                    "certificate_serial": certificate.serial,
                    "public_key": _public_pem(private_key.public_key()),
                },
            )
        )
    return retired


def making_prepare(job: PersonalizationJob, journal: dict[str, dict], identity) -> Making:
    """Sign the certificates of the keys the card generated (the public keys its journal
    recorded), make the central keys and sign theirs, make PIN, PUK and the management key."""
    profile = job.card_request.profile_version.definition
    card = job.card
    slots = profile["slots"]
    # Never a second certificate for a slot of this card (its journal entry would say so, but a
    # row written another way must not be doubled either).
    issued = sorted(
        Certificate.objects.for_card(card)
        .filter(card_slot__in=slots)
        .values_list("card_slot", flat=True)
    )
    if issued:
        msg = f"card {card.serial} already has certificates for slots {', '.join(issued)}"
        raise Conflict(msg, code="already_issued")
    # Nothing is signed unless every key the card made is attested as the profile asks.
    attestations = journal_attestations_verify(
        journal=journal, profile=profile, trust=attestation_trust()
    )
    central: dict[str, tuple[bytes, str]] = {}
    for slot in central_slots(profile):
        private_key = _central_key(KEY_ALGORITHMS[slots[slot]["algorithm"]])
        der = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        central[slot] = (der, _public_pem(private_key.public_key()))
    requests = [
        CertificateRequest(
            public_key=journal[generate_step_name(slot)]["public_key"]
            if slot in on_card_slots(profile)
            else central[slot][1],
            profile=slots[slot]["certificate_profile"],
            slot=slot,
        )
        for slot in sorted(slots)
    ]
    signed = certificates_sign(
        requests=requests, professional=card.professional, identity=identity, card=card
    )
    algorithm = MANAGEMENT_KEY_ALGORITHMS[card.management_key_algorithm]
    management_key = ManagementKey(
        algorithm,
        card_management_key_derive(card_identity=card.uuid.bytes, length=algorithm.key_length),
    )
    return Making(
        attestations=attestations,
        signed=signed,
        central=central,
        pin=Pin.generate(profile["pin"]["length"]),
        puk=Puk.generate(profile["puk"]["length"]),
        management_key=management_key,
        retired=_retired(card) if receives_retired_keys(profile) else [],
    )


def making_record(job: PersonalizationJob, making: Making) -> dict:
    """In the signer's transaction: the certificates, the escrowed keys, the PIN mailer and the
    station's delivery. The journal detail of the signer's step (public data only)."""
    card = job.card
    issued = certificates_record(making.signed)
    for slot, (der, public_pem) in making.central.items():
        escrowed_key_keep(card=card, slot=slot, private_der=der, public_pem=public_pem)
    if puk_managed(job.card_request.profile_version.definition):
        managed_puk_keep(card=card, puk=making.puk)
        pin_mailer_seal(card=card, pin=making.pin, puk=None)  # the PUK is never printed
    else:
        pin_mailer_seal(card=card, pin=making.pin, puk=making.puk)
    delivery_store(
        job=job,
        pin=making.pin,
        puk=making.puk,
        management_key=making.management_key,
        management_key_algorithm=card.management_key_algorithm,
        central_keys={slot: der for slot, (der, _) in making.central.items()},
        retired_keys=[earlier.private_der for earlier, _ in making.retired],
    )
    return {
        "certificates": {cert.card_slot: cert.pk for cert in issued},
        "serials": {cert.card_slot: cert.serial for cert in issued},
        "central_public_keys": {slot: pem for slot, (_, pem) in making.central.items()},
        "attestations": making.attestations,
        "retired": [said for _, said in making.retired],
    }


@dataclass
class Unblocking:
    """What the signer makes for an approved PIN unblock: a new PIN, and the card's managed PUK
    and management key, for the station only. Its secrets never reach a repr."""

    pin: Pin = field(repr=False)
    puk: Puk = field(repr=False)
    management_key: ManagementKey = field(repr=False)


def unblocking_prepare(job: PersonalizationJob) -> Unblocking:
    card = job.card
    algorithm = MANAGEMENT_KEY_ALGORITHMS[card.management_key_algorithm]
    return Unblocking(
        pin=Pin.generate(card.profile_version.definition["pin"]["length"]),
        puk=managed_puk_open(card),
        management_key=ManagementKey(
            algorithm,
            card_management_key_derive(card_identity=card.uuid.bytes, length=algorithm.key_length),
        ),
    )


def unblocking_record(job: PersonalizationJob, unblocking: Unblocking) -> dict:
    """In the signer's transaction: the card's new PIN mailer (the PIN only) and the station's
    delivery. The journal detail (public)."""
    card = job.card
    pin_mailer_renew(card=card, pin=unblocking.pin)
    delivery_store(
        job=job,
        pin=unblocking.pin,
        puk=unblocking.puk,
        management_key=unblocking.management_key,
        management_key_algorithm=card.management_key_algorithm,
        central_keys={},
    )
    return {"card": card.serial, "pin_mailer": "renewed"}
