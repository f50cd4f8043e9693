"""Writing chains to files and running `openssl verify` on them."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization

from pki.models import CertificateAuthority
from pki.x509util import der_to_pem
from tests.pki.conftest import openssl


def write_pem(path: Path, der: bytes, label: str = "CERTIFICATE") -> Path:
    path.write_text(der_to_pem(der, label))
    return path


def write_chain(directory: Path, issuing: CertificateAuthority) -> tuple[Path, Path]:
    """(root file, intermediate file) for `openssl verify -CAfile root -untrusted issuing`."""
    root = write_pem(
        directory / f"{issuing.parent.slug}.pem", bytes(issuing.parent.certificate_der)
    )
    intermediate = write_pem(directory / f"{issuing.slug}.pem", bytes(issuing.certificate_der))
    return root, intermediate


def openssl_verify(directory: Path, issuing: CertificateAuthority, leaf_der: bytes, purpose=None):
    root, intermediate = write_chain(directory, issuing)
    leaf = write_pem(directory / "leaf.pem", leaf_der)
    args = ["verify", "-x509_strict", "-CAfile", str(root), "-untrusted", str(intermediate)]
    if purpose:
        args += ["-purpose", purpose]
    return openssl(*args, str(leaf), check=False)


def public_pem(private_key) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
