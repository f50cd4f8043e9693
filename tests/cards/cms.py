"""Opening a CMS envelope (`openssl cms -encrypt` to an EC certificate) with a card doing the
ECDH: what a relying party's mail client does with the holder's card. RFC 5652 EnvelopedData,
RFC 5753 key agreement (X9.63 KDF over ECC-CMS-SharedInfo, AES key wrap), AES-CBC content."""

from __future__ import annotations

from collections.abc import Callable

from asn1crypto import cms
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

KDF_HASHES = {
    "1.3.133.16.840.63.0.2": hashes.SHA1(),  # dhSinglePass-stdDH-sha1kdf-scheme
    "1.3.132.1.11.0": hashes.SHA224(),
    "1.3.132.1.11.1": hashes.SHA256(),
    "1.3.132.1.11.2": hashes.SHA384(),
    "1.3.132.1.11.3": hashes.SHA512(),
}
WRAP_KEY_LENGTHS = {
    "2.16.840.1.101.3.4.1.5": 16,  # aes128-wrap
    "2.16.840.1.101.3.4.1.25": 24,
    "2.16.840.1.101.3.4.1.45": 32,
}


def _der(tag: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([tag, len(body)]) + body


def envelope_recipients(envelope_der: bytes) -> list[str]:
    """The serial numbers (hex) of the certificates the envelope was made for."""
    enveloped = cms.ContentInfo.load(envelope_der)["content"]
    serials = []
    for info in enveloped["recipient_infos"]:
        for encrypted_key in info.chosen["recipient_encrypted_keys"]:
            rid = encrypted_key["rid"].chosen
            serials.append(f"{rid['serial_number'].native:X}")
    return serials


def envelope_open(envelope_der: bytes, ecdh: Callable[[ec.EllipticCurvePublicKey], bytes]) -> bytes:
    """The content of an EnvelopedData with one key-agreement recipient; `ecdh(peer)` is the
    card's ECDH of the recipient's key with the originator's ephemeral key (the shared X)."""
    enveloped = cms.ContentInfo.load(envelope_der)["content"]
    recipient = enveloped["recipient_infos"][0]
    assert recipient.name == "kari", recipient.name
    kari = recipient.chosen
    originator = kari["originator"].chosen
    peer = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), originator["public_key"].native
    )
    shared = ecdh(peer)

    scheme = kari["key_encryption_algorithm"]
    wrap_der = scheme["parameters"].dump()  # the key-wrap AlgorithmIdentifier, as sent
    wrap_oid = cms.KeyEncryptionAlgorithm.load(wrap_der)["algorithm"].dotted
    key_length = WRAP_KEY_LENGTHS[wrap_oid]
    ukm = kari["ukm"].native if kari["ukm"].native is not None else None
    shared_info = wrap_der
    if ukm:
        shared_info += _der(0xA0, _der(0x04, ukm))
    shared_info += _der(0xA2, _der(0x04, (key_length * 8).to_bytes(4, "big")))
    shared_info = _der(0x30, shared_info)
    kek = X963KDF(KDF_HASHES[scheme["algorithm"].dotted], key_length, shared_info).derive(shared)
    content_key = aes_key_unwrap(kek, kari["recipient_encrypted_keys"][0]["encrypted_key"].native)

    content = enveloped["encrypted_content_info"]
    iv = content["content_encryption_algorithm"]["parameters"].native
    decryptor = Cipher(algorithms.AES(content_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(content["encrypted_content"].native) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()
