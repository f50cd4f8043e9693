"""PDF documents signed by the platform (PAdES B-B, with pyHanko) with its reports key
(pki/services/platform_signers.py): an auditor checks a report came from the platform
unchanged with any PAdES validator (pyHanko, poppler's pdfsig, Adobe Reader). The key stays in
its backend: pyHanko asks this module for the raw signature, the backend makes it."""

from __future__ import annotations

import io

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from pki.key_backends.base import supported_public_key
from pki.models import PlatformSigner
from pki.services.platform_signers import (
    platform_certificate_chain,
    platform_signer_current,
    platform_signing_key,
    sha256_signature,
)


class _BackendSigner(signers.Signer):
    """A pyHanko signer whose private key is the platform signer's, in its key backend."""

    def __init__(self, platform_signer: PlatformSigner) -> None:
        chain = [
            asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
            for certificate in platform_certificate_chain(platform_signer)
        ]
        public_key = supported_public_key(
            platform_certificate_chain(platform_signer)[0].public_key()
        )
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            mechanism = "sha256_ecdsa"
            # The longest DER ECDSA signature: two integers of the curve's size, plus headers.
            self._size = 2 * ((public_key.key_size + 7) // 8 + 3) + 3
        else:
            mechanism = "sha256_rsa"
            self._size = (public_key.key_size + 7) // 8
        registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]  # pyhanko-certvalidator leaves __init__ unannotated
        registry.register_multiple(chain[1:])
        super().__init__(
            signing_cert=chain[0],
            cert_registry=registry,
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": mechanism}),
            embed_roots=True,
        )
        # Loaded here, in the caller's synchronous context: pyHanko signs inside an event loop,
        # where Django refuses database queries (the software backend reads its key's row).
        self._key = platform_signing_key(platform_signer)

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != "sha256":
            msg = f"the platform signs with SHA-256, not {digest_algorithm}"
            raise ValueError(msg)
        if dry_run:
            return bytes(self._size)
        return sha256_signature(self._key, data)


def pdf_sign(pdf: bytes, *, reason: str, field_name: str = "CardForge") -> bytes:
    """`pdf` with a PAdES signature of the platform's current reports key (an incremental
    update: the signed bytes are the document as rendered)."""
    signer = platform_signer_current(PlatformSigner.Purpose.REPORTS)
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        name=signer.certificate.subject,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out: io.BytesIO = signers.PdfSigner(metadata, signer=_BackendSigner(signer)).sign_pdf(writer)
    return out.getvalue()
