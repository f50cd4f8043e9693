"""Cryptography shared by the client and the emulator, all through `cryptography`.

* Card management key (9B): one block of 3DES or AES in ECB, as mutual authentication uses it
  (SP 800-73-4 Part 2 §3.2.4; SP 800-78-4 §3.1).
* Asymmetric keys: the public key template in GENERATE's response (SP 800-73-4 Part 2 §3.3.2,
  Table 11): RSA as `81` modulus then `82` exponent, ECC as `86` uncompressed point.
"""

from __future__ import annotations

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cardedge.apdu.tlv import decode_all, encode_tlv, unique_map
from cardedge.piv.constants import KeyAlgorithm, ManagementKeyAlgorithm

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

RSA_PUBLIC_EXPONENT = 65537
RSA_MODULUS_TAG = 0x81
RSA_EXPONENT_TAG = 0x82
EC_POINT_TAG = 0x86

_CURVES: dict[KeyAlgorithm, ec.EllipticCurve] = {
    KeyAlgorithm.ECC_P256: ec.SECP256R1(),
    KeyAlgorithm.ECC_P384: ec.SECP384R1(),
}
_RSA_BITS = {KeyAlgorithm.RSA2048: 2048}


def _block_cipher(algorithm: ManagementKeyAlgorithm, key: bytes) -> Cipher[modes.ECB]:
    if len(key) != algorithm.key_length:
        msg = f"a {algorithm.name} management key has {algorithm.key_length} bytes"
        raise ValueError(msg)
    primitive = TripleDES(key) if algorithm is ManagementKeyAlgorithm.TDES else algorithms.AES(key)
    # SP 800-73-4 Part 2 §3.2.4: the witness and challenge are one cipher block each, so the
    # single-block ECB mode here is the protocol's, not a choice of mode for bulk data.
    return Cipher(primitive, modes.ECB())  # noqa: S305


def encrypt_block(algorithm: ManagementKeyAlgorithm, key: bytes, block: bytes) -> bytes:
    if len(block) != algorithm.block_size:
        msg = f"{algorithm.name} works on {algorithm.block_size}-byte blocks"
        raise ValueError(msg)
    encryptor = _block_cipher(algorithm, key).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def decrypt_block(algorithm: ManagementKeyAlgorithm, key: bytes, block: bytes) -> bytes:
    if len(block) != algorithm.block_size:
        msg = f"{algorithm.name} works on {algorithm.block_size}-byte blocks"
        raise ValueError(msg)
    decryptor = _block_cipher(algorithm, key).decryptor()
    return decryptor.update(block) + decryptor.finalize()


def curve_for(algorithm: KeyAlgorithm) -> ec.EllipticCurve:
    return _CURVES[algorithm]


def rsa_bits_for(algorithm: KeyAlgorithm) -> int:
    return _RSA_BITS[algorithm]


def field_length(algorithm: KeyAlgorithm) -> int:
    """Bytes of an ECC field element, or of an RSA modulus."""
    if algorithm.is_rsa:
        return rsa_bits_for(algorithm) // 8
    return (curve_for(algorithm).key_size + 7) // 8


def algorithm_of(key: PublicKey | PrivateKey) -> KeyAlgorithm:
    """The PIV algorithm identifier of a `cryptography` key; ValueError if the card has none."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        for algorithm, bits in _RSA_BITS.items():
            if key.key_size == bits:
                return algorithm
    elif isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        for algorithm, curve in _CURVES.items():
            if key.curve.name == curve.name:
                return algorithm
    msg = f"no PIV algorithm for a {type(key).__name__} of this size or curve"
    raise ValueError(msg)


def generate_private_key(algorithm: KeyAlgorithm) -> PrivateKey:
    if algorithm.is_rsa:
        return rsa.generate_private_key(RSA_PUBLIC_EXPONENT, rsa_bits_for(algorithm))
    return ec.generate_private_key(curve_for(algorithm))


def encode_public_key(public_key: PublicKey) -> bytes:
    """The inside of the 7F49 template: `81 n 82 e` (in that order, libykpiv parses by position)
    or `86 04||X||Y`."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        modulus = numbers.n.to_bytes((public_key.key_size + 7) // 8, "big")
        exponent = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return encode_tlv(RSA_MODULUS_TAG, modulus) + encode_tlv(RSA_EXPONENT_TAG, exponent)
    point = public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return encode_tlv(EC_POINT_TAG, point)


def decode_public_key(algorithm: KeyAlgorithm, template: bytes) -> PublicKey:
    """Parse the inside of a 7F49 template for `algorithm`; ValueError if it does not fit."""
    fields = unique_map(decode_all(template))
    if algorithm.is_rsa:
        if RSA_MODULUS_TAG not in fields or RSA_EXPONENT_TAG not in fields:
            msg = "an RSA public key template needs tags 81 and 82"
            raise ValueError(msg)
        modulus = int.from_bytes(fields[RSA_MODULUS_TAG], "big")
        exponent = int.from_bytes(fields[RSA_EXPONENT_TAG], "big")
        key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
        if key.key_size != rsa_bits_for(algorithm):
            msg = f"expected a {rsa_bits_for(algorithm)}-bit modulus, got {key.key_size} bits"
            raise ValueError(msg)
        return key
    if EC_POINT_TAG not in fields:
        msg = "an ECC public key template needs tag 86"
        raise ValueError(msg)
    return ec.EllipticCurvePublicKey.from_encoded_point(curve_for(algorithm), fields[EC_POINT_TAG])
