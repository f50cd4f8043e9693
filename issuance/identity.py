"""The identity a card request is approved for: a snapshot taken at submission.

Everything the card carries about its holder — printed on its face and in its PIV printed
information, written into its certificates, or used to mail its carrier and PIN mailer — comes
from this snapshot, never from the live registry record. The approver sees the snapshot and the
approval records its SHA-256, so an edit of the registry after approval cannot send an approved
card to somebody else (shared/THREATS.md, "an officer after approval").

The hash is over a canonical JSON encoding (sorted keys, no whitespace, UTF-8), the same recipe
as the audit chain's, so anybody can recompute it from the stored snapshot.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

# The registry fields a snapshot copies. While a request is open (submitted or approved), an
# edit or import that changes one of them is refused: cancel or reject the request first.
SNAPSHOT_FIELDS = (
    "rpps",
    "last_name",
    "first_name",
    "profession",
    "specialty",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "organisation",
    "photo",
)
SNAPSHOT_VERSION = 1


def postal_address_lines(holder) -> list[str]:
    """The lines of a holder's postal address (a Professional or an Identity), name first."""
    locality = " ".join(part for part in (holder.postal_code, holder.city) if part)
    lines = [holder.full_name, holder.address_line1, holder.address_line2, locality]
    return [line for line in lines if line]


@dataclass(frozen=True)
class Identity:
    """What a card says about its holder, as approved. Attribute names match the registry's
    Professional where they mean the same, so certificate and document code reads the same."""

    rpps: str
    last_name: str
    first_name: str
    profession: int
    profession_label: str
    specialty: str
    email: str
    phone: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    country: str
    organisation_name: str
    organisation_finess: str
    photo_name: str  # the stored file the card face uses; it must still hash to photo_sha256
    photo_sha256: str
    profile: str
    profile_version: int
    profile_sha256: str
    version: int = SNAPSHOT_VERSION

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def postal_address_lines(self) -> list[str]:
        return postal_address_lines(self)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Identity:
        names = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            msg = f"identity snapshot has unknown fields: {', '.join(unknown)}"
            raise ValueError(msg)
        return cls(**data)

    @property
    def sha256(self) -> str:
        return identity_sha256(self.as_json())


def identity_sha256(data: dict[str, Any]) -> str:
    """SHA-256 (hex) of a snapshot's canonical JSON encoding."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def photo_sha256(photo) -> str:
    """SHA-256 of a stored photo's bytes ("" without a photo)."""
    if not photo:
        return ""
    with photo.open("rb") as handle:
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()


class PhotoMismatch(Exception):
    """The stored photo is gone or is not the one the snapshot approved."""


def approved_photo(identity: Identity) -> bytes | None:
    """The bytes of the photo the snapshot approved (None without one). Raises PhotoMismatch
    when the stored file is gone or no longer hashes to the approved photo: it is never shown
    or printed in its place."""
    if not identity.photo_name:
        return None
    from django.core.files.storage import default_storage

    try:
        with default_storage.open(identity.photo_name, "rb") as handle:
            content = handle.read()
    except OSError:
        msg = "the photo this identity was approved with is no longer stored"
        raise PhotoMismatch(msg) from None
    if hashlib.sha256(content).hexdigest() != identity.photo_sha256:
        msg = "the stored photo is not the one this identity was approved with"
        raise PhotoMismatch(msg)
    return content


def approved_photo_uri(identity: Identity) -> str | None:
    """The approved photo as a data: URI (PNG or JPEG), for a page or a document; None without
    one. Raises PhotoMismatch as `approved_photo` does."""
    content = approved_photo(identity)
    if content is None:
        return None
    kind = "image/png" if content[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return f"data:{kind};base64,{base64.b64encode(content).decode('ascii')}"


def identity_of(professional, profile_version=None) -> Identity:
    """The snapshot of `professional` (its organisation loaded) for a card of
    `profile_version` (None: for a certificate outside any card request, as the PKI's own
    tests issue)."""
    organisation = professional.organisation
    return Identity(
        rpps=professional.rpps,
        last_name=professional.last_name,
        first_name=professional.first_name,
        profession=int(professional.profession),
        profession_label=str(professional.get_profession_display()),
        specialty=professional.specialty,
        email=professional.email,
        phone=professional.phone,
        address_line1=professional.address_line1,
        address_line2=professional.address_line2,
        postal_code=professional.postal_code,
        city=professional.city,
        country=professional.country,
        organisation_name=organisation.name if organisation else "",
        organisation_finess=organisation.finess if organisation else "",
        photo_name=professional.photo.name if professional.photo else "",
        photo_sha256=photo_sha256(professional.photo),
        profile=profile_version.profile.name if profile_version else "",
        profile_version=profile_version.number if profile_version else 0,
        profile_sha256=profile_version.digest if profile_version else "",
    )
