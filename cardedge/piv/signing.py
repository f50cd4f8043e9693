"""Host-side preparation of what the card signs (the card only does raw private-key math).

RSA: EMSA-PKCS1-v1_5 (RFC 8017 §9.2) — `00 01 FF…FF 00 DigestInfo` to the modulus length; the
card's raw `m^d mod n` of that block is a standard PKCS#1 v1.5 signature. ECDSA: the hash,
truncated to the field length (FIPS 186-4 §6.4 uses the leftmost bits).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

# RFC 8017 §9.2 note 1: DER of DigestInfo up to the digest itself.
_DIGEST_INFO_PREFIX: dict[str, bytes] = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha224": bytes.fromhex("302d300d06096086480165030402040500041c"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
MIN_PADDING = 8  # RFC 8017 §9.2 step 3: at least eight FF bytes


def digest(message: bytes, algorithm: hashes.HashAlgorithm) -> bytes:
    context = hashes.Hash(algorithm)
    context.update(message)
    return context.finalize()


def pkcs1v15_signature_block(
    digest_value: bytes, algorithm: hashes.HashAlgorithm, size: int
) -> bytes:
    """The EMSA-PKCS1-v1_5 encoded message of `size` bytes for a precomputed digest."""
    prefix = _DIGEST_INFO_PREFIX.get(algorithm.name)
    if prefix is None:
        msg = f"PKCS#1 v1.5 signing with {algorithm.name} is not supported"
        raise ValueError(msg)
    if len(digest_value) != algorithm.digest_size:
        msg = f"a {algorithm.name} digest has {algorithm.digest_size} bytes"
        raise ValueError(msg)
    digest_info = prefix + digest_value
    padding = size - len(digest_info) - 3
    if padding < MIN_PADDING:
        msg = "the modulus is too short for this digest"
        raise ValueError(msg)
    return b"\x00\x01" + b"\xff" * padding + b"\x00" + digest_info


def ecdsa_input(digest_value: bytes, field_length: int) -> bytes:
    """The leftmost field-length bytes of the digest (exact for P-256 and P-384)."""
    return digest_value[:field_length]
