"""`cryptography` private-key objects whose signing is done by a key backend.

cryptography's certificate, CRL and OCSP builders accept any subclass of its private-key ABCs and
call its `sign()`; these subclasses route that call to the backend (a software key decrypted in
memory, or an HSM through PKCS#11) and refuse every way of getting the private key out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeAlias

from cryptography import utils
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo, Prehashed

from pki.key_backends.base import NonExportableKeyMixin

# What RSAPrivateKey.sign() takes as its hash: a hash, a digest computed elsewhere, or no
# DigestInfo at all (raw PKCS#1 v1.5).
RsaSignatureHash: TypeAlias = hashes.HashAlgorithm | Prehashed | NoDigestInfo
EcSigner: TypeAlias = Callable[[bytes, ec.EllipticCurveSignatureAlgorithm], bytes]
RsaSigner: TypeAlias = Callable[[bytes, AsymmetricPadding, RsaSignatureHash], bytes]


class BackendEllipticCurvePrivateKey(NonExportableKeyMixin, ec.EllipticCurvePrivateKey):
    def __init__(
        self,
        *,
        backend_alias: str,
        handle: str,
        public_key: ec.EllipticCurvePublicKey,
        signer: EcSigner,
    ) -> None:
        self._backend_alias = backend_alias
        self._handle = handle
        self._public_key = public_key
        self._signer = signer

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public_key.curve

    @property
    def key_size(self) -> int:
        return self._public_key.key_size

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public_key

    def sign(
        self, data: utils.Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm
    ) -> bytes:
        return self._signer(bytes(data), signature_algorithm)

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> NoReturn:
        self._refuse("ECDH key agreement")


class BackendRSAPrivateKey(NonExportableKeyMixin, rsa.RSAPrivateKey):
    def __init__(
        self,
        *,
        backend_alias: str,
        handle: str,
        public_key: rsa.RSAPublicKey,
        signer: RsaSigner,
    ) -> None:
        self._backend_alias = backend_alias
        self._handle = handle
        self._public_key = public_key
        self._signer = signer

    @property
    def key_size(self) -> int:
        return self._public_key.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public_key

    def sign(
        self,
        data: bytes,
        padding: AsymmetricPadding,
        algorithm: RsaSignatureHash,
    ) -> bytes:
        return self._signer(data, padding, algorithm)

    def decrypt(self, ciphertext: bytes, padding: AsymmetricPadding) -> NoReturn:
        self._refuse("decryption")
