"""Private-key operations the card performs for GENERAL AUTHENTICATE and IMPORT KEY.

* RSA: the host sends a block of exactly the modulus length, already padded (PKCS#1 v1.5, PSS,
  OAEP are all the host's business); the card computes the raw `m^d mod n` (SP 800-73-4 Part 2
  §3.2.4, piv-brief §7).
* ECDSA: the host sends the hash, at most the field length; the card returns DER
  `SEQUENCE { r, s }` (SP 800-73-4 Part 2 Table 7 note; OpenSC converts to r||s itself).
* ECDH: the host sends the peer's uncompressed point; the card returns the shared X coordinate
  (SP 800-73-4 Part 2 §3.2.4 key agreement; SP 800-56A Cofactor DH = plain DH on P-256/P-384).

Every function raises ValueError on input the card must refuse (the caller answers `6A 80`).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from cardedge.piv.algorithms import (
    RSA_PUBLIC_EXPONENT,
    PrivateKey,
    curve_for,
    field_length,
    rsa_bits_for,
)
from cardedge.piv.constants import KeyAlgorithm

# The prehash wrapper only tells cryptography the input length; 32 bytes → SHA-256-sized.
_PREHASH_FOR_LENGTH = {32: hashes.SHA256(), 48: hashes.SHA384()}


def rsa_private_operation(key: rsa.RSAPrivateKey, block: bytes) -> bytes:
    """Raw RSA with the CRT parameters: `block^d mod n`, as many bytes as the modulus."""
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    size = (key.key_size + 7) // 8
    if len(block) != size:
        msg = f"the RSA input must be {size} bytes"
        raise ValueError(msg)
    message = int.from_bytes(block, "big")
    if message >= n:
        msg = "the RSA input is not smaller than the modulus"
        raise ValueError(msg)
    m1 = pow(message, numbers.dmp1, numbers.p)
    m2 = pow(message, numbers.dmq1, numbers.q)
    h = (numbers.iqmp * (m1 - m2)) % numbers.p
    return (m2 + h * numbers.q).to_bytes(size, "big")


def ecdsa_sign_hash(key: ec.EllipticCurvePrivateKey, digest: bytes) -> bytes:
    """ECDSA over a hash of at most the field length; a shorter hash is taken as its integer
    value (left-padding with zeros keeps it, FIPS 186-4 §6.4)."""
    size = (key.curve.key_size + 7) // 8
    if not 0 < len(digest) <= size:
        msg = f"the ECDSA input must be 1 to {size} bytes"
        raise ValueError(msg)
    padded = digest.rjust(size, b"\x00")
    return key.sign(padded, ec.ECDSA(Prehashed(_PREHASH_FOR_LENGTH[size])))


def ecdh_shared_secret(key: ec.EllipticCurvePrivateKey, peer_point: bytes) -> bytes:
    size = (key.curve.key_size + 7) // 8
    if len(peer_point) != 1 + 2 * size or peer_point[0] != 0x04:
        msg = "the peer key must be an uncompressed point on the card key's curve"
        raise ValueError(msg)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, peer_point)
    return key.exchange(ec.ECDH(), peer)


def private_operation(algorithm: KeyAlgorithm, key: PrivateKey, data: bytes) -> bytes:
    """Sign (ECDSA) or raw-RSA the input, per the key's algorithm."""
    if algorithm.is_rsa:
        return rsa_private_operation(key, data)  # type: ignore[arg-type]
    return ecdsa_sign_hash(key, data)  # type: ignore[arg-type]


def import_rsa_key(algorithm: KeyAlgorithm, fields: dict[int, bytes]) -> rsa.RSAPrivateKey:
    """Yubico IMPORT KEY, RSA: 01 p, 02 q, 03 dP, 04 dQ, 05 qInv; e is 65537."""
    try:
        p, q, dmp1, dmq1, iqmp = (int.from_bytes(fields[tag], "big") for tag in (1, 2, 3, 4, 5))
    except KeyError:
        msg = "an RSA key needs tags 01 to 05"
        raise ValueError(msg) from None
    n = p * q
    if n.bit_length() != rsa_bits_for(algorithm) or min(p, q) < 3:
        msg = "p and q do not make a modulus of the algorithm's size"
        raise ValueError(msg)
    e = RSA_PUBLIC_EXPONENT
    d = pow(e, -1, (p - 1) * (q - 1))  # ValueError if e is not invertible
    numbers = rsa.RSAPrivateNumbers(
        p=p, q=q, d=d, dmp1=dmp1, dmq1=dmq1, iqmp=iqmp, public_numbers=rsa.RSAPublicNumbers(e, n)
    )
    if (dmp1, dmq1, iqmp) != (d % (p - 1), d % (q - 1), pow(q, -1, p)):
        msg = "the CRT parameters do not belong to p and q"
        raise ValueError(msg)
    return numbers.private_key()  # OpenSSL's RSA_check_key: primes, consistency


def import_ec_key(algorithm: KeyAlgorithm, fields: dict[int, bytes]) -> ec.EllipticCurvePrivateKey:
    """Yubico IMPORT KEY, ECC: 06 private scalar (field length)."""
    scalar = fields.get(0x06)
    if scalar is None or len(scalar) != field_length(algorithm):
        msg = "an ECC key needs tag 06 with the private scalar"
        raise ValueError(msg)
    return ec.derive_private_key(int.from_bytes(scalar, "big"), curve_for(algorithm))
