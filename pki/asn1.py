"""ASN.1 of the certificate extension `cryptography` has no class for, encoded with asn1crypto:
QCStatements (RFC 3739 §3.2.6, ETSI EN 319 412-5 §4); and the object identifiers the profiles
use. (Admission, 1.3.36.8.3.3, is `cryptography.x509.Admissions`.)"""

from __future__ import annotations

import functools

from asn1crypto import core, x509

# RFC 3739 §3.2.6 / ETSI EN 319 412-1 §5.1: statement identifiers and semantics identifiers.
ID_PE_QC_STATEMENTS = "1.3.6.1.5.5.7.1.3"
ID_QCS_PKIX_QC_SYNTAX_V2 = "1.3.6.1.5.5.7.11.2"
ID_ETSI_QCS_SEMANTICS_ID_NATURAL = "0.4.0.194121.1.1"
# ETSI EN 319 412-5 §4.2.1 QcCompliance, §4.2.2 QcSSCD, §4.2.3 QcType, §4.3.4 QcPDS.
ID_ETSI_QCS_QC_COMPLIANCE = "0.4.0.1862.1.1"
ID_ETSI_QCS_QC_SSCD = "0.4.0.1862.1.4"
ID_ETSI_QCS_QC_PDS = "0.4.0.1862.1.5"
ID_ETSI_QCS_QC_TYPE = "0.4.0.1862.1.6"
ID_ETSI_QCT_ESIGN = "0.4.0.1862.1.6.1"
# ETSI EN 319 411-2 §5.3: QCP-n-qscd, qualified certificate for a natural person on a QSCD.
QCP_N_QSCD = "0.4.0.194112.1.2"
# Common PKI v2.0 Part 1 §3.5.2 / ISIS-MTT: id-isismtt-at-admission.
ID_ISISMTT_AT_ADMISSION = "1.3.36.8.3.3"
# RFC 6960 §4.2.2.2.1: id-pkix-ocsp-nocheck.
ID_PKIX_OCSP_NOCHECK = "1.3.6.1.5.5.7.48.1.5"
# NIST SP 800-73-4 / FIPS 201-3: id-PIV-cardAuth, the EKU of the card authentication key.
ID_PIV_CARD_AUTH = "2.16.840.1.101.3.6.8"


# asn1crypto ships no type hints (no py.typed, no stubs), so mypy sees its classes as Any and
# strict mode refuses a subclass of Any: each class below ignores that one error, [misc].


class SemanticsInformation(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    # RFC 3739 §3.2.6.1
    _fields = [
        ("semantics_identifier", core.ObjectIdentifier, {"optional": True}),
        ("name_registration_authorities", x509.GeneralNames, {"optional": True}),
    ]


class QcType(core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = core.ObjectIdentifier


class PdsLocation(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    # ETSI EN 319 412-5 §4.3.4: url IA5String, language PrintableString (SIZE(2)) (ISO 639-1).
    _fields = [("url", core.IA5String), ("language", core.PrintableString)]


class PdsLocations(core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = PdsLocation


class QcStatement(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [
        ("statement_id", core.ObjectIdentifier),
        ("statement_info", core.Any, {"optional": True}),
    ]


class QcStatements(core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = QcStatement


@functools.lru_cache(maxsize=16)  # the same few bytes for every qualified certificate
def qc_statements_der(
    *, pds_url: str, name_registration_authority: str, pds_language: str = "en"
) -> bytes:
    """The QCStatements of a qualified certificate for a natural person's signature on a QSCD:
    natural-person semantics (EN 319 412-1 §5.1.3; a national identifier scheme names its
    registration authority by URI, NAT-5.1.3-05/06), QcCompliance, QcSSCD, QcType esign, QcPDS.
    Encoding them with asn1crypto took longer than signing the certificate."""
    statements = QcStatements(
        [
            {
                "statement_id": ID_QCS_PKIX_QC_SYNTAX_V2,
                "statement_info": SemanticsInformation(
                    {
                        "semantics_identifier": ID_ETSI_QCS_SEMANTICS_ID_NATURAL,
                        "name_registration_authorities": [
                            x509.GeneralName(
                                name="uniform_resource_identifier",
                                value=name_registration_authority,
                            )
                        ],
                    }
                ),
            },
            {"statement_id": ID_ETSI_QCS_QC_COMPLIANCE},
            {"statement_id": ID_ETSI_QCS_QC_SSCD},
            {"statement_id": ID_ETSI_QCS_QC_TYPE, "statement_info": QcType([ID_ETSI_QCT_ESIGN])},
            {
                "statement_id": ID_ETSI_QCS_QC_PDS,
                "statement_info": PdsLocations([{"url": pds_url, "language": pds_language}]),
            },
        ]
    )
    der: bytes = statements.dump(force=True)  # asn1crypto's Asn1Value.dump() returns bytes
    return der


def parse_qc_statements(der: bytes) -> dict[str, bytes | None]:
    """Statement id -> DER of its statementInfo (None when absent)."""
    return {
        statement["statement_id"].dotted: (
            None
            if isinstance(statement["statement_info"], core.Void)
            else statement["statement_info"].dump()
        )
        for statement in QcStatements.load(der)
    }
