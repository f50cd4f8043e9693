"""An encoder station's own key, on its own host: generated into a PEM file only its user can
read, loaded from it, and the certificate signing request that enrols it
(pki.services.stations.station_certificate_issue).

The key is the station's identity to the signer (pki/envelopes.py): it never leaves the host,
is never sent, logged or stored in the database. Plain Python: no Django, so a station host's
tools can use it before any settings exist.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Read and write for the owner only: a key readable by a group or others is refused.
KEY_FILE_MODE = 0o600
# A PEM PKCS#8 P-256 key is about 240 bytes; anything much larger is not one.
MAX_KEY_FILE_BYTES = 16 * 1024


class StationKeyError(Exception):
    """The station's key file cannot be created or used; the message names the file, never its
    content."""


def station_key_generate(path: str | os.PathLike[str]) -> ec.EllipticCurvePrivateKey:
    """A new EC P-256 key, written to `path` as PEM (PKCS#8, unencrypted: the file's permissions,
    0600, protect it) and returned. Never overwrites: a file already at `path`, whatever its
    permissions, is refused, so a station cannot lose the key its certificate names."""
    path = Path(path)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # O_EXCL: created here or refused (also refuses a symbolic link planted at `path`).
        descriptor = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, KEY_FILE_MODE
        )
    except FileExistsError:
        detail = _wider_than_allowed(path)
        msg = f"{path} already exists{detail}; a station key is never overwritten"
        raise StationKeyError(msg) from None
    except OSError as exc:
        msg = f"{path}: cannot create the station key file ({exc.strerror})"
        raise StationKeyError(msg) from None
    try:
        os.fchmod(descriptor, KEY_FILE_MODE)  # whatever the umask
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return key


def _wider_than_allowed(path: Path) -> str:
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
    except OSError:
        return ""
    return f" with permissions {mode:04o}, wider than {KEY_FILE_MODE:04o}" if mode & 0o077 else ""


def station_key_load(path: str | os.PathLike[str]) -> ec.EllipticCurvePrivateKey:
    """The station's EC P-256 key from its PEM file. Refuses a file that is not a regular file,
    that its group or others may read or write, or that holds anything but an unencrypted EC
    P-256 private key."""
    path = Path(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        msg = f"{path}: cannot open the station key file ({exc.strerror})"
        raise StationKeyError(msg) from None
    with os.fdopen(descriptor, "rb") as file:
        # The permissions of the file opened, not of whatever the path names a moment later.
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            msg = f"{path} is not a regular file"
            raise StationKeyError(msg)
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077:
            msg = (
                f"{path} has permissions {mode:04o}, wider than {KEY_FILE_MODE:04o}: "
                f"run `chmod 600 {path}` if no one else could have read it, else enrol the "
                "station again with a new key and have its certificate revoked"
            )
            raise StationKeyError(msg)
        data = file.read(MAX_KEY_FILE_BYTES + 1)
    if len(data) > MAX_KEY_FILE_BYTES:
        msg = f"{path} is too large to be a station key"
        raise StationKeyError(msg)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # The reason stays out of the message: a parser's error may quote the file.
        msg = f"{path} does not hold an unencrypted PEM private key"
        raise StationKeyError(msg) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        msg = f"{path} does not hold an EC P-256 key"
        raise StationKeyError(msg)
    return key


def station_csr_build(key: ec.EllipticCurvePrivateKey, station_name: str) -> bytes:
    """The PEM certificate signing request (PKCS#10) that enrols the station: its name as the
    only attribute of the subject, signed ECDSA with SHA-256 by its key."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)
