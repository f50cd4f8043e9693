"""The slots' asymmetric keys (SP 800-73-4 Part 2 §§3.2.4, 3.3.2): generated on the card (or
imported, Yubico FE), attested (Yubico F9), and used by the card for signatures and ECDH through
GENERAL AUTHENTICATE. The host prepares what the card signs (`cardedge.piv.signing`)."""

from __future__ import annotations

import logging

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cardedge.apdu.status import StatusWord
from cardedge.apdu.tlv import encode_tlv
from cardedge.piv import signing
from cardedge.piv.algorithms import (
    PrivateKey,
    PublicKey,
    algorithm_of,
    decode_public_key,
    field_length,
)
from cardedge.piv.client.session import CHALLENGE, EXPONENTIATION, RESPONSE, PivSession
from cardedge.piv.constants import Ins, KeyAlgorithm, PinPolicy, Slot, TouchPolicy
from cardedge.piv.errors import MalformedCardResponse, UnsupportedCapability

logger = logging.getLogger(__name__)

_PUBLIC_KEY_TEMPLATE = 0x7F49


class KeyCommands(PivSession):
    def generate_key(
        self,
        slot: Slot,
        algorithm: KeyAlgorithm,
        *,
        pin_policy: PinPolicy = PinPolicy.DEFAULT,
        touch_policy: TouchPolicy = TouchPolicy.DEFAULT,
    ) -> PublicKey:
        """GENERATE ASYMMETRIC KEY PAIR on the card; returns the public key."""
        items = encode_tlv(0x80, bytes([algorithm]))
        if pin_policy is not PinPolicy.DEFAULT:  # Yubico tags; a plain PIV card may refuse them
            items += encode_tlv(0xAA, bytes([pin_policy]))
        if touch_policy is not TouchPolicy.DEFAULT:
            items += encode_tlv(0xAB, bytes([touch_policy]))
        command = "GENERATE ASYMMETRIC KEY PAIR"
        data = self._send(
            command, Ins.GENERATE_ASYMMETRIC_KEY_PAIR, 0x00, slot, encode_tlv(0xAC, items), le=256
        )
        template = self._parse(command, data, _PUBLIC_KEY_TEMPLATE)
        try:
            public_key = decode_public_key(algorithm, template)
        except ValueError as exc:
            msg = f"{command}: the public key template is malformed ({exc})"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command=command) from None
        logger.info("generated a %s key in slot %02X", algorithm.name, slot)
        return public_key

    def import_key(
        self,
        slot: Slot,
        private_key: PrivateKey,
        *,
        pin_policy: PinPolicy = PinPolicy.DEFAULT,
        touch_policy: TouchPolicy = TouchPolicy.DEFAULT,
    ) -> None:
        """Yubico IMPORT KEY (FE), e.g. an escrowed key-management key; chained for RSA."""
        if not self.capabilities().import_key:
            msg = "the card has no standard command to import a key (no Yubico FE)"
            raise UnsupportedCapability(msg, command="IMPORT KEY")
        algorithm = algorithm_of(private_key)
        if isinstance(private_key, rsa.RSAPrivateKey):
            numbers = private_key.private_numbers()
            half = field_length(algorithm) // 2
            values = (numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp)
            data = b"".join(
                encode_tlv(tag, value.to_bytes(half, "big"))
                for tag, value in zip(range(1, 6), values, strict=True)
            )
        else:
            scalar = private_key.private_numbers().private_value
            data = encode_tlv(0x06, scalar.to_bytes(field_length(algorithm), "big"))
        if pin_policy is not PinPolicy.DEFAULT:
            data += encode_tlv(0xAA, bytes([pin_policy]))
        if touch_policy is not TouchPolicy.DEFAULT:
            data += encode_tlv(0xAB, bytes([touch_policy]))
        self._send_optional("IMPORT KEY", Ins.IMPORT_KEY, algorithm, slot, data)
        logger.info("imported a %s key into slot %02X", algorithm.name, slot)

    def attest(self, slot: Slot) -> x509.Certificate:
        """Yubico ATTEST (F9): a certificate, signed by the card, for a key it generated."""
        if not self.capabilities().attestation:
            msg = "the card cannot attest its keys (no Yubico F9)"
            raise UnsupportedCapability(msg, command="ATTEST")
        data = self._send_optional("ATTEST", Ins.ATTEST, slot, 0x00)
        return self._decode("attestation", x509.load_der_x509_certificate, data)

    def private_key_operation(self, slot: Slot, algorithm: KeyAlgorithm, data: bytes) -> bytes:
        """GENERAL AUTHENTICATE `{82 ∅, 81 data}`: raw RSA or ECDSA of `data` by the card."""
        fields = self._general_authenticate(
            "GENERAL AUTHENTICATE",
            algorithm,
            slot,
            encode_tlv(RESPONSE, b"") + encode_tlv(CHALLENGE, data),
        )
        if RESPONSE not in fields:
            msg = "GENERAL AUTHENTICATE: the card's answer has no response (82)"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command="GENERAL AUTHENTICATE")
        return fields[RESPONSE]

    def sign(
        self,
        slot: Slot,
        message: bytes,
        *,
        algorithm: KeyAlgorithm,
        hash_algorithm: hashes.HashAlgorithm | None = None,
    ) -> bytes:
        """A signature of `message`: PKCS#1 v1.5 for RSA, DER ECDSA for ECC (SHA-256 default).

        The PIN must have been verified (just before, for 9C).
        """
        hash_algorithm = hash_algorithm or hashes.SHA256()
        return self.sign_digest(
            slot,
            signing.digest(message, hash_algorithm),
            algorithm=algorithm,
            hash_algorithm=hash_algorithm,
        )

    def sign_digest(
        self,
        slot: Slot,
        digest: bytes,
        *,
        algorithm: KeyAlgorithm,
        hash_algorithm: hashes.HashAlgorithm,
    ) -> bytes:
        size = field_length(algorithm)
        if algorithm.is_rsa:
            block = signing.pkcs1v15_signature_block(digest, hash_algorithm, size)
            return self.private_key_operation(slot, algorithm, block)
        return self.private_key_operation(slot, algorithm, signing.ecdsa_input(digest, size))

    def ecdh(self, slot: Slot, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        """Key agreement with the slot's ECC key: the shared secret (X coordinate)."""
        algorithm = algorithm_of(peer_public_key)
        point = peer_public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        fields = self._general_authenticate(
            "GENERAL AUTHENTICATE",
            algorithm,
            slot,
            encode_tlv(RESPONSE, b"") + encode_tlv(EXPONENTIATION, point),
        )
        if RESPONSE not in fields:
            msg = "GENERAL AUTHENTICATE: the card's answer has no shared secret (82)"
            raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command="GENERAL AUTHENTICATE")
        return fields[RESPONSE]
