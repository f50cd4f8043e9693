"""Certificate profiles, as code: what each kind of certificate contains, in one place.

| profile                | issued by              | key usage (critical)         | EKU             |
|------------------------|------------------------|------------------------------|-----------------|
| root-ca                | itself                 | keyCertSign, cRLSign         | -               |
| issuing-ca             | root                   | keyCertSign, cRLSign         | -               |
| ocsp-responder         | issuing CA             | digitalSignature             | OCSPSigning     |
| hp-authentication      | authentication CA      | digitalSignature             | clientAuth      |
| hp-qualified-signature | qualified signature CA | nonRepudiation               | -               |
| hp-encryption          | authentication CA      | keyEncipherment (RSA key)    | -               |
|                        |                        | or keyAgreement (EC key)     |                 |
| hp-card-authentication | authentication CA      | digitalSignature             | id-PIV-cardAuth |
| encoder-station        | authentication CA      | digitalSignature,            | clientAuth      |
|                        |                        | keyAgreement (EC P-256 key)  |                 |

Every certificate carries SKI and (except the root) AKI; every end-entity certificate a CRL
distribution point and AIA (OCSP, caIssuers) under settings.CARDFORGE_PKI_BASE_URL and the
platform's certificate policy. The qualified signature profile adds QCStatements, the policy
QCP-n-qscd and the admission extension. An encoder station's certificate names the station, not
a person, and carries the station policy instead of the platform's (`station_policy_oid`).
docs/pki.md shows the same table for relying parties.

One module over 400 lines on purpose: the table above and the code that builds each row sit
together, so a profile is read, reviewed and changed in one place (pkilint checks the result).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from django.conf import settings
from django.urls import reverse

from pki import asn1
from pki.conf import required_setting
from pki.key_backends.base import KeyAlgorithm, SupportedPublicKey
from pki.text import first_grapheme, fit_utf8, utf8_length

if TYPE_CHECKING:
    from issuance.identity import Identity

# ETSI EN 319 412-1 §5.1.3 item 6: a national identifier scheme ("two characters ... followed by
# ':'"), the country of the register and the identifier: RP = the French RPPS register.
RPPS_IDENTIFIER_PREFIX = "RP:FR-"
RPPS_NAMING_AUTHORITY = "RPPS - Repertoire partage des professionnels de sante"
# The register's public directory, named as the scheme's registration authority (NAT-5.1.3-06).
RPPS_REGISTRATION_AUTHORITY_URL = "https://annuaire.sante.fr"
# X.520 upper bounds (RFC 5280 Appendix A.1): ub-common-name and ub-organization-name, counted
# here in bytes of UTF-8 (pki/text.py): `cryptography` refuses a commonName over 64 bytes, and
# pkilint counts characters, so a value within 64 bytes passes both.
UB_COMMON_NAME = 64
UB_ORGANIZATION_NAME = 64
# surname and givenName are X520name, up to ub-name (32768) characters; this platform holds them
# to 64 bytes like the common name, so a certificate's subject stays small whatever the record
# holds (enrolment's name rule, issuance/names.py, keeps names to 62 bytes: never cut).
UB_NAME_BYTES = 64
# Common PKI / ISIS-MTT admission syntax: professionItems are DirectoryString (SIZE (1..128)).
UB_PROFESSION_ITEM = 128
# Certificates are dated a minute back so a relying party whose clock is slightly behind does
# not see a certificate that is not yet valid.
BACKDATE = dt.timedelta(minutes=1)

_ALL_END_ENTITY_ALGORITHMS = frozenset(KeyAlgorithm)


@dataclass(frozen=True)
class IssuerContext:
    """What a profile needs to know of the CA that signs."""

    slug: str
    name: x509.Name
    public_key: SupportedPublicKey
    not_after: dt.datetime
    parent_slug: str | None = None  # for CA certificates: the CA that signs them


@dataclass(frozen=True, kw_only=True)
class CertificateProfile:
    name: str
    description: str
    ca_purpose: str | None  # the CertificateAuthority.Purpose of the issuing CA, if any
    slot: str = ""
    key_usage: Callable[[SupportedPublicKey], x509.KeyUsage] = field(repr=False)
    extended_key_usage: tuple[ObjectIdentifier, ...] = ()
    is_ca: bool = False
    path_length: int | None = None
    qualified: bool = False
    ocsp_no_check: bool = False
    for_professional: bool = True
    for_station: bool = False
    for_platform: bool = False  # a key of the platform itself (pki/services/platform_signers.py)
    key_algorithms: frozenset[KeyAlgorithm] = _ALL_END_ENTITY_ALGORITHMS

    def validity_days(self) -> int:
        if self.name == OCSP_RESPONDER:
            return settings.PKI_OCSP_RESPONDER_VALIDITY_DAYS
        if self.for_station or self.for_platform:
            return settings.PKI_STATION_CERTIFICATE_VALIDITY_DAYS
        if self.is_ca:
            msg = "CA certificates take their validity from PKI_HIERARCHY"
            raise ValueError(msg)
        return settings.PKI_CERTIFICATE_VALIDITY_DAYS


def _key_usage(**bits: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    flags.update(bits)
    return x509.KeyUsage(**flags)


def _encryption_key_usage(public_key: SupportedPublicKey) -> x509.KeyUsage:
    # RFC 5480 §3 / RFC 8813: an EC key agrees keys, it does not encipher them.
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return _key_usage(key_agreement=True)
    return _key_usage(key_encipherment=True)


ROOT_CA = "root-ca"
ISSUING_CA = "issuing-ca"
OCSP_RESPONDER = "ocsp-responder"
HP_AUTHENTICATION = "hp-authentication"
HP_QUALIFIED_SIGNATURE = "hp-qualified-signature"
HP_ENCRYPTION = "hp-encryption"
HP_CARD_AUTHENTICATION = "hp-card-authentication"
ENCODER_STATION = "encoder-station"
AUDIT_SIGNING = "audit-signing"
DOCUMENT_SIGNING = "document-signing"
# RFC 9336: id-kp-documentSigning, for the platform's own signatures on its documents.
DOCUMENT_SIGNING_EKU = ObjectIdentifier("1.3.6.1.5.5.7.3.36")

PROFILES: dict[str, CertificateProfile] = {
    profile.name: profile
    for profile in (
        CertificateProfile(
            name=ROOT_CA,
            description="Self-signed root of the hierarchy",
            ca_purpose=None,
            key_usage=lambda _key: _key_usage(key_cert_sign=True, crl_sign=True),
            is_ca=True,
            for_professional=False,
        ),
        CertificateProfile(
            name=ISSUING_CA,
            description="Issuing CA under the root; issues end-entity certificates only",
            ca_purpose=None,
            key_usage=lambda _key: _key_usage(key_cert_sign=True, crl_sign=True),
            is_ca=True,
            path_length=0,
            for_professional=False,
        ),
        CertificateProfile(
            name=OCSP_RESPONDER,
            description="Delegated OCSP responder of an issuing CA (RFC 6960 §4.2.2.2)",
            ca_purpose=None,
            key_usage=lambda _key: _key_usage(digital_signature=True),
            extended_key_usage=(ExtendedKeyUsageOID.OCSP_SIGNING,),
            ocsp_no_check=True,
            for_professional=False,
        ),
        CertificateProfile(
            name=HP_AUTHENTICATION,
            description="Authentication of the professional to health services (PIV 9A)",
            ca_purpose="authentication",
            slot="9A",
            key_usage=lambda _key: _key_usage(digital_signature=True),
            extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
        ),
        CertificateProfile(
            name=HP_QUALIFIED_SIGNATURE,
            description="Qualified electronic signature, key on a QSCD (PIV 9C)",
            ca_purpose="qualified-signature",
            slot="9C",
            # ETSI EN 319 412-2 NAT-4.3.2-3: type A, nonRepudiation alone.
            key_usage=lambda _key: _key_usage(content_commitment=True),
            qualified=True,
        ),
        CertificateProfile(
            name=HP_ENCRYPTION,
            description="Encryption / key management (PIV 9D)",
            ca_purpose="authentication",
            slot="9D",
            key_usage=_encryption_key_usage,
        ),
        CertificateProfile(
            name=HP_CARD_AUTHENTICATION,
            description="Card authentication, e.g. physical access (PIV 9E)",
            ca_purpose="authentication",
            slot="9E",
            key_usage=lambda _key: _key_usage(digital_signature=True),
            extended_key_usage=(ObjectIdentifier(asn1.ID_PIV_CARD_AUTH),),
        ),
        CertificateProfile(
            name=ENCODER_STATION,
            description="An encoder station, to the signer: signs its requests (clientAuth) and "
            "receives what is encrypted for it (ECDH, keyAgreement)",
            # The authentication CA already issues clientAuth certificates and publishes a CRL
            # and OCSP; the station policy (and the profile of the certificate's row, which
            # pki.envelopes checks) tell a station from a professional's 9A certificate.
            ca_purpose="authentication",
            key_usage=lambda _key: _key_usage(digital_signature=True, key_agreement=True),
            extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
            for_professional=False,
            for_station=True,
            key_algorithms=frozenset({KeyAlgorithm.EC_P256}),
        ),
        *(
            CertificateProfile(
                name=name,
                description=description,
                ca_purpose="authentication",
                key_usage=lambda _key: _key_usage(digital_signature=True, content_commitment=True),
                extended_key_usage=(DOCUMENT_SIGNING_EKU,),
                for_professional=False,
                for_platform=True,
            )
            for name, description in (
                (AUDIT_SIGNING, "The platform's signature on the audit trail's checkpoints"),
                (DOCUMENT_SIGNING, "The platform's signature on its auditor reports (PAdES)"),
            )
        ),
    )
}
END_ENTITY_PROFILES = (
    HP_AUTHENTICATION,
    HP_QUALIFIED_SIGNATURE,
    HP_ENCRYPTION,
    HP_CARD_AUTHENTICATION,
)


def get_profile(name: str) -> CertificateProfile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(END_ENTITY_PROFILES)
        msg = f"unknown certificate profile {name!r} (use one of {known})"
        raise ValueError(msg) from None


# --- names -----------------------------------------------------------------------------------


def _fit(text: str, limit: int) -> str:
    """`text` with its whitespace collapsed, in at most `limit` bytes of UTF-8 (pki/text.py)."""
    return fit_utf8(" ".join(unicodedata.normalize("NFC", text).split()), limit)


def ca_name(common_name: str) -> x509.Name:
    """A CA's (or OCSP responder's) name as ETSI EN 319 412-2 §4.2.3.1 wants of an issuer:
    countryName, organizationName, organizationIdentifier where there is one, commonName."""
    organization = required_setting("PKI_ORGANIZATION", settings.PKI_ORGANIZATION)
    attributes = [
        x509.NameAttribute(
            NameOID.COUNTRY_NAME, required_setting("PKI_COUNTRY", settings.PKI_COUNTRY)
        ),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(organization, UB_ORGANIZATION_NAME)),
    ]
    organization_identifier = settings.PKI_ORGANIZATION_IDENTIFIER
    if organization_identifier:
        attributes.append(
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, organization_identifier)
        )
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, _fit(common_name, UB_COMMON_NAME)))
    return x509.Name(attributes)


# A station's name as its certificate carries it: the alphabet of a station's name (a slug: its
# Celery queue is `station.<name>`), within ub-common-name. Nothing is fitted or cut: the common
# name is the station's identity, so a name that does not fit is refused, never shortened.
STATION_NAME_PATTERN = re.compile(r"[-A-Za-z0-9_]{1,64}")


def check_station_name(station_name: str) -> str:
    """`station_name` if a station certificate can carry it as is; ValueError otherwise."""
    if not isinstance(station_name, str) or not STATION_NAME_PATTERN.fullmatch(station_name):
        msg = "a station name is 1 to 64 letters, digits, '-' or '_'"
        raise ValueError(msg)
    return station_name


def station_subject(station_name: str) -> x509.Name:
    """The subject of an encoder station's certificate: the platform's organizationName and the
    station's name as commonName."""
    organization = required_setting("PKI_ORGANIZATION", settings.PKI_ORGANIZATION)
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(organization, UB_ORGANIZATION_NAME)),
            x509.NameAttribute(NameOID.COMMON_NAME, check_station_name(station_name)),
        ]
    )


def station_policy_oid() -> str:
    """The policy of encoder stations' certificates: arc 1 under the platform's policy OID
    (CARDFORGE_PKI_POLICY_OID). The platform owns the arc under its own policy, so the station
    policy needs no setting of its own, and no professional's certificate carries it."""
    return required_setting("PKI_POLICY_OID", settings.PKI_POLICY_OID) + ".1"


def platform_policy_oid() -> str:
    """The policy of the platform's own signing certificates (audit checkpoints, reports): arc 2
    under the platform's policy OID, as stations have arc 1."""
    return required_setting("PKI_POLICY_OID", settings.PKI_POLICY_OID) + ".2"


def professional_common_name(first_name: str, last_name: str) -> str:
    """The common name: "First Last" if it fits ub-common-name's 64 bytes, else "F. Last" (the
    first grapheme of the first name), else the last name alone, cut to 64 bytes only if it is
    longer (enrolment keeps names to 62 bytes, so an enrolled name is never cut)."""
    first, last = _fit(first_name, UB_NAME_BYTES), _fit(last_name, UB_NAME_BYTES)
    full = f"{first} {last}".strip()
    if utf8_length(full) <= UB_COMMON_NAME:
        return full
    initial = first_grapheme(first)
    abbreviated = f"{initial}. {last}" if initial else last
    if utf8_length(abbreviated) <= UB_COMMON_NAME:
        return abbreviated
    return _fit(last, UB_COMMON_NAME)


def professional_name(professional: Identity) -> x509.Name:
    """The subject of a professional's certificate (ETSI EN 319 412-2 §4.2.4): countryName,
    organizationName where known, surname, givenName, serialNumber (EN 319 412-1 §5.1.3:
    the RPPS number in the national-scheme form) and commonName. Every text attribute is fitted
    by its encoded length (UB_* above). `professional` is the identity an approved card request
    carries (issuance.identity.Identity)."""
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, professional.country)]
    if professional.organisation_name:
        attributes.append(
            x509.NameAttribute(
                NameOID.ORGANIZATION_NAME,
                _fit(professional.organisation_name, UB_ORGANIZATION_NAME),
            )
        )
    attributes += [
        x509.NameAttribute(NameOID.SURNAME, _fit(professional.last_name, UB_NAME_BYTES)),
        x509.NameAttribute(NameOID.GIVEN_NAME, _fit(professional.first_name, UB_NAME_BYTES)),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, RPPS_IDENTIFIER_PREFIX + professional.rpps),
        x509.NameAttribute(
            NameOID.COMMON_NAME,
            professional_common_name(professional.first_name, professional.last_name),
        ),
    ]
    return x509.Name(attributes)


# --- URLs ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _url(base: str, name: str, slug: str) -> str:
    return base + reverse(name, kwargs={"slug": slug})


def crl_url(slug: str) -> str:
    return _url(settings.CARDFORGE_PKI_BASE_URL, "pki:crl", slug)


def ca_certificate_url(slug: str) -> str:
    return _url(settings.CARDFORGE_PKI_BASE_URL, "pki:ca-certificate", slug)


def ocsp_url(slug: str) -> str:
    return _url(settings.CARDFORGE_PKI_BASE_URL, "pki:ocsp", slug)


# --- building --------------------------------------------------------------------------------


def build_certificate(
    profile: CertificateProfile,
    *,
    subject: x509.Name,
    public_key: SupportedPublicKey,
    serial: int,
    issuer: IssuerContext | None,
    now: dt.datetime,
    professional: Identity | None = None,
    validity_days: int | None = None,
) -> x509.CertificateBuilder:
    """An unsigned certificate of `profile`. `issuer` None means self-signed (the root);
    `validity_days` overrides the profile's (CA certificates take theirs from PKI_HIERARCHY);
    `professional` is the holder a qualified certificate's admission names."""
    not_before = now.replace(microsecond=0) - BACKDATE
    not_after = not_before + dt.timedelta(days=validity_days or profile.validity_days())
    if issuer is not None:
        # RFC 5280 §6.1.3 does not forbid outliving the issuer, but relying parties reject it.
        not_after = min(not_after, issuer.not_after)
    issuer_name = issuer.name if issuer is not None else subject
    issuer_key = issuer.public_key if issuer is not None else public_key

    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if profile.is_ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=profile.path_length), critical=True
        )
    builder = builder.add_extension(profile.key_usage(public_key), critical=True)
    if profile.extended_key_usage:
        # ETSI EN 319 412-2 GEN-4.3.10-1: not critical.
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(profile.extended_key_usage)), critical=False
        )
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
        )
        builder = _add_revocation_pointers(builder, profile, issuer)
    if profile.for_professional or profile.for_station or profile.for_platform:
        builder = builder.add_extension(_policies(profile), critical=False)
    if profile.ocsp_no_check:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    if profile.qualified:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(
                ObjectIdentifier(asn1.ID_PE_QC_STATEMENTS),
                asn1.qc_statements_der(
                    pds_url=settings.PKI_QCPDS_URL,
                    name_registration_authority=RPPS_REGISTRATION_AUTHORITY_URL,
                ),
            ),
            critical=False,  # EN 319 412-5 QCS-4.1-02
        )
        if professional is None:
            msg = f"a {profile.name} certificate names its holder's profession: give professional"
            raise ValueError(msg)
        builder = builder.add_extension(_admission(professional), critical=False)
    return builder


def _add_revocation_pointers(
    builder: x509.CertificateBuilder, profile: CertificateProfile, issuer: IssuerContext
) -> x509.CertificateBuilder:
    """CRL distribution point (RFC 5280 §4.2.1.13) and AIA (§4.2.2.1) at this platform."""
    access = [
        x509.AccessDescription(
            x509.AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier(ca_certificate_url(issuer.slug)),
        )
    ]
    if not profile.is_ca and not profile.ocsp_no_check:
        access.insert(
            0,
            x509.AccessDescription(
                x509.AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(ocsp_url(issuer.slug)),
            ),
        )
    builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    if profile.ocsp_no_check:
        # RFC 6960 §4.2.2.2.1: a responder certificate with id-pkix-ocsp-nocheck is not checked
        # for revocation, so it points at no CRL.
        return builder
    return builder.add_extension(
        x509.CRLDistributionPoints(
            [
                x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(crl_url(issuer.slug))],
                    relative_name=None,
                    reasons=None,
                    crl_issuer=None,
                )
            ]
        ),
        critical=False,  # ETSI EN 319 412-2 GEN-4.3.11-5
    )


def _admission(professional: Identity) -> x509.Admissions:
    """Common PKI / ISIS-MTT admission (1.3.36.8.3.3), as the German eHBA carries it: the
    profession and the registration number under the register that assigned it."""
    return x509.Admissions(
        authority=None,
        admissions=[
            x509.Admission(
                admission_authority=None,
                naming_authority=x509.NamingAuthority(
                    id=None, url=RPPS_REGISTRATION_AUTHORITY_URL, text=RPPS_NAMING_AUTHORITY
                ),
                profession_infos=[
                    x509.ProfessionInfo(
                        naming_authority=None,
                        profession_items=[_fit(professional.profession_label, UB_PROFESSION_ITEM)],
                        profession_oids=None,
                        registration_number=professional.rpps,
                        add_profession_info=None,
                    )
                ],
            )
        ],
    )


def _policies(profile: CertificateProfile) -> x509.CertificatePolicies:
    if profile.for_platform:
        return x509.CertificatePolicies(
            [x509.PolicyInformation(ObjectIdentifier(platform_policy_oid()), None)]
        )
    if profile.for_station:
        return x509.CertificatePolicies(
            [x509.PolicyInformation(ObjectIdentifier(station_policy_oid()), None)]
        )
    policies = []
    if profile.qualified:
        policies.append(x509.PolicyInformation(ObjectIdentifier(asn1.QCP_N_QSCD), None))
    policy_oid = required_setting("PKI_POLICY_OID", settings.PKI_POLICY_OID)
    policies.append(x509.PolicyInformation(ObjectIdentifier(policy_oid), None))
    return x509.CertificatePolicies(policies)


def check_public_key(profile: CertificateProfile, public_key: PublicKeyTypes) -> KeyAlgorithm:
    """The key's algorithm if the profile accepts it; ValueError otherwise."""
    algorithm = KeyAlgorithm.of(public_key)
    if algorithm not in profile.key_algorithms:
        msg = f"{profile.name} does not accept {algorithm} keys"
        raise ValueError(msg)
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.public_numbers().e != 65537:
        msg = "RSA public exponent must be 65537"
        raise ValueError(msg)
    return algorithm
