"""Signed checkpoints of the audit trail, exported outside the database (docs/audit.md).

The chain's hashes are unkeyed: someone who can write the database can edit an event and
recompute every hash after it. A checkpoint anchors the chain where a database administrator
cannot reach: at a fixed cadence the platform's signer states "the trail had `sequence` events
and the last one's hash was `head-hash`", signs that with its audit-signing key (held by the key
backend, an HSM in production) and writes it to a write-once store. Each checkpoint names the
previous one by its file's SHA-256, so a checkpoint removed from the store is noticed too.

The store (CARDFORGE_AUDIT_CHECKPOINT_DIR) holds, per checkpoint, files an auditor can check with
openssl alone:

    000000012345.checkpoint   the statement below: UTF-8 text, one `name: value` per line
    000000012345.sig          the signature over the .checkpoint file's bytes, SHA-256, as
                              `openssl dgst -sha256 -sign` writes it (ECDSA DER or RSA PKCS#1 v1.5)
    certificate-<16 hex>.pem  the signing certificate, then its issuers up to the root

    CardForge audit checkpoint 1
    sequence: 12345
    head-hash: <SHA-256 of event 12345, hex>
    time: 2026-12-03T19:00:00.000000Z
    previous-sequence: 11345                    (0 for the first checkpoint)
    previous-checkpoint-sha256: <hex>           (64 zeros for the first checkpoint)
    certificate-sha256: <the signing certificate's SHA-256 fingerprint, hex>

This module writes and reads the store and verifies checkpoints with `cryptography` alone; the
signing key lives with the PKI (pki/services/audit_checkpoints.py), which calls it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from django.conf import settings

from audit.chain import GENESIS_HASH, canonical_time

FORMAT_LINE = "CardForge audit checkpoint 1"
# RFC 9336: id-kp-documentSigning, which the audit-signing certificate carries.
DOCUMENT_SIGNING_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
_NAME = re.compile(r"^(\d{12})\.checkpoint$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class CheckpointError(Exception):
    """A checkpoint could not be written or read; the message names the file or field."""


@dataclass(frozen=True)
class Checkpoint:
    sequence: int
    head_hash: str
    time: dt.datetime
    previous_sequence: int
    previous_sha256: str
    certificate_sha256: str

    def encode(self) -> bytes:
        lines = [
            FORMAT_LINE,
            f"sequence: {self.sequence}",
            f"head-hash: {self.head_hash}",
            f"time: {canonical_time(self.time)}",
            f"previous-sequence: {self.previous_sequence}",
            f"previous-checkpoint-sha256: {self.previous_sha256}",
            f"certificate-sha256: {self.certificate_sha256}",
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    @property
    def file_name(self) -> str:
        return checkpoint_file_name(self.sequence)


def checkpoint_file_name(sequence: int) -> str:
    return f"{sequence:012d}.checkpoint"


def checkpoint_parse(data: bytes, *, name: str = "checkpoint") -> Checkpoint:
    """The checkpoint `data` states; CheckpointError naming the file and field otherwise."""
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise CheckpointError(f"{name}: not UTF-8 text") from None
    if not lines or lines[0] != FORMAT_LINE or lines[-1] != "":
        raise CheckpointError(f"{name}: not a CardForge audit checkpoint (format 1)")
    fields: dict[str, str] = {}
    for line in lines[1:-1]:
        key, separator, value = line.partition(": ")
        if not separator or key in fields:
            raise CheckpointError(f"{name}: malformed line {line[:60]!r}")
        fields[key] = value
    try:
        checkpoint = Checkpoint(
            sequence=int(fields["sequence"]),
            head_hash=fields["head-hash"],
            time=dt.datetime.strptime(fields["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=dt.UTC
            ),
            previous_sequence=int(fields["previous-sequence"]),
            previous_sha256=fields["previous-checkpoint-sha256"],
            certificate_sha256=fields["certificate-sha256"],
        )
    except KeyError as missing:
        raise CheckpointError(f"{name}: no {missing.args[0]} line") from None
    except ValueError as bad:
        raise CheckpointError(f"{name}: {bad}") from None
    for field_name, value in (
        ("head-hash", checkpoint.head_hash),
        ("previous-checkpoint-sha256", checkpoint.previous_sha256),
        ("certificate-sha256", checkpoint.certificate_sha256),
    ):
        if not _HEX64.match(value):
            raise CheckpointError(f"{name}: {field_name} is not 64 lower-case hex digits")
    if checkpoint.sequence < 1 or not 0 <= checkpoint.previous_sequence < checkpoint.sequence:
        raise CheckpointError(f"{name}: sequence numbers out of order")
    return checkpoint


# --- the store ---------------------------------------------------------------------------------


def store_dir() -> Path:
    return Path(settings.CARDFORGE_AUDIT_CHECKPOINT_DIR)


def certificate_file_name(fingerprint: str) -> str:
    return f"certificate-{fingerprint[:16]}.pem"


def _write_once(path: Path, data: bytes) -> None:
    """Create `path` with `data`, read-only; never replace a file (O_EXCL)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def store_write(checkpoint: Checkpoint, *, signature: bytes, certificate_chain_pem: bytes) -> Path:
    """Write the checkpoint, its signature and (once) its certificate chain to the store;
    CheckpointError if the checkpoint's file exists already. Returns the checkpoint's path."""
    directory = store_dir()
    directory.mkdir(parents=True, exist_ok=True)
    certificate_path = directory / certificate_file_name(checkpoint.certificate_sha256)
    if not certificate_path.exists():
        # Written meanwhile by another checkpoint of the same key: the same certificate.
        with contextlib.suppress(FileExistsError):
            _write_once(certificate_path, certificate_chain_pem)
    path = directory / checkpoint.file_name
    try:
        _write_once(path.with_suffix(".sig"), signature)
        _write_once(path, checkpoint.encode())
    except FileExistsError:
        raise CheckpointError(f"{path.name} exists already in the store") from None
    _fsync_directory(directory)
    return path


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class StoredCheckpoint:
    checkpoint: Checkpoint
    path: Path
    sha256: str  # of the .checkpoint file's bytes: what the next checkpoint names


def store_latest() -> StoredCheckpoint | None:
    """The newest checkpoint in the store (by its file name), read and parsed, not verified."""
    names = sorted(name for name in _names(store_dir()))
    if not names:
        return None
    path = store_dir() / names[-1]
    data = path.read_bytes()
    return StoredCheckpoint(
        checkpoint_parse(data, name=path.name), path, hashlib.sha256(data).hexdigest()
    )


def _names(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return [entry.name for entry in os.scandir(directory) if _NAME.match(entry.name)]


# --- verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """A verified checkpoint: the trail had `sequence` events, the last one hashed `head_hash`."""

    sequence: int
    head_hash: str
    time: dt.datetime
    file_sha256: str
    root_sha256: str


@dataclass(frozen=True)
class StoreReport:
    anchors: tuple[Anchor, ...]
    problem: str = ""
    problem_at: int | None = None  # the sequence number of the checkpoint concerned


def _verify_signature(public_key, signature: bytes, data: bytes) -> None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise InvalidSignature


def _chain(
    directory: Path, fingerprint: str, checked: dict | None = None
) -> tuple[x509.Certificate, str]:
    """`_chain_check` once per certificate in a verification (`checked` remembers them): a
    store holds thousands of checkpoints signed under a handful of certificates."""
    if checked is None:
        return _chain_check(directory, fingerprint)
    if fingerprint not in checked:
        checked[fingerprint] = _chain_check(directory, fingerprint)
    return checked[fingerprint]


def _chain_check(directory: Path, fingerprint: str) -> tuple[x509.Certificate, str]:
    """The signing certificate named by `fingerprint`, its chain checked up to a self-signed
    root; (certificate, the root's SHA-256). CheckpointError otherwise."""
    path = directory / certificate_file_name(fingerprint)
    if not path.exists():
        raise CheckpointError(f"its signing certificate {path.name} is missing from the store")
    chain = x509.load_pem_x509_certificates(path.read_bytes())
    signing = chain[0]
    if signing.fingerprint(hashes.SHA256()).hex() != fingerprint:
        raise CheckpointError(f"{path.name} does not hold the certificate the checkpoint names")
    try:
        usages = signing.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = []
    if DOCUMENT_SIGNING_OID not in usages:
        raise CheckpointError(f"{path.name}: the certificate is not for document signing")
    for child, parent in itertools.pairwise(chain):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            raise CheckpointError(f"{path.name}: its chain does not verify") from None
    root = chain[-1]
    try:
        root.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise CheckpointError(
            f"{path.name}: its chain does not end at a self-signed root"
        ) from None
    return signing, root.fingerprint(hashes.SHA256()).hex()


def store_verify(recorded: dict[int, str]) -> StoreReport:
    """Every checkpoint of the store: signature, certificate chain, and the links between them.
    `recorded` maps the checkpoints the database lists (sequence -> file SHA-256): one missing
    from the store is a problem too (the newest one has no successor to name it)."""
    directory = store_dir()
    anchors: list[Anchor] = []
    previous: Anchor | None = None
    checked: dict = {}
    for name in sorted(_names(directory)):
        path = directory / name
        data = path.read_bytes()
        sequence = int(name.split(".")[0])
        try:
            checkpoint = _verified(directory, path, data, checked)
        except CheckpointError as error:
            return StoreReport(tuple(anchors), f"checkpoint file {name}: {error}", sequence)
        expected = (previous.sequence, previous.file_sha256) if previous else (0, GENESIS_HASH)
        if (checkpoint.previous_sequence, checkpoint.previous_sha256) != expected:
            if checkpoint.previous_sequence > expected[0]:
                problem = (
                    f"the checkpoint at event {checkpoint.previous_sequence} is missing from the "
                    f"store (the checkpoint at event {checkpoint.sequence} names it)"
                )
                return StoreReport(tuple(anchors), problem, checkpoint.previous_sequence)
            problem = (
                f"the checkpoint at event {checkpoint.sequence} does not name the checkpoint "
                f"before it (event {expected[0]}) as its predecessor"
            )
            return StoreReport(tuple(anchors), problem, checkpoint.sequence)
        _signing, root = _chain(directory, checkpoint.certificate_sha256, checked)
        previous = Anchor(
            checkpoint.sequence,
            checkpoint.head_hash,
            checkpoint.time,
            hashlib.sha256(data).hexdigest(),
            root,
        )
        anchors.append(previous)
    stored = {anchor.sequence: anchor.file_sha256 for anchor in anchors}
    for sequence in sorted(recorded):
        if sequence not in stored:
            problem = (
                f"the checkpoint at event {sequence} is recorded in the database but missing "
                "from the store"
            )
            return StoreReport(tuple(anchors), problem, sequence)
        if stored[sequence] != recorded[sequence]:
            problem = (
                f"the checkpoint at event {sequence} in the store is not the one the database "
                "recorded"
            )
            return StoreReport(tuple(anchors), problem, sequence)
    return StoreReport(tuple(anchors))


def _verified(directory: Path, path: Path, data: bytes, checked: dict) -> Checkpoint:
    """The checkpoint in `path`, its signature verified; CheckpointError otherwise."""
    signature_path = path.with_suffix(".sig")
    if not signature_path.exists():
        raise CheckpointError(f"its signature {signature_path.name} is missing")
    try:
        checkpoint = checkpoint_parse(data, name=path.name)
    except CheckpointError:
        checkpoint = None
    # The signature first: an edited file is reported as such, whatever it now says.
    fingerprint = checkpoint.certificate_sha256 if checkpoint else _fingerprint_in(data)
    signing, _root = _chain(directory, fingerprint, checked)
    try:
        _verify_signature(signing.public_key(), signature_path.read_bytes(), data)
    except InvalidSignature:
        raise CheckpointError("its signature does not verify: the file was changed") from None
    if checkpoint is None:
        checkpoint = checkpoint_parse(data, name=path.name)
    if checkpoint.file_name != path.name:
        raise CheckpointError(f"it states sequence {checkpoint.sequence}, not its file's")
    if not signing.not_valid_before_utc <= checkpoint.time <= signing.not_valid_after_utc:
        raise CheckpointError("it was signed outside its certificate's validity")
    return checkpoint


def _fingerprint_in(data: bytes) -> str:
    match = re.search(rb"^certificate-sha256: ([0-9a-f]{64})$", data, re.MULTILINE)
    if match is None:
        raise CheckpointError("it names no signing certificate")
    return match.group(1).decode()


def certificate_pem_chain(certificates: list[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certificates)
