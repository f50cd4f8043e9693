"""pkilint in-process (shared/reference/dependencies.md): findings at WARNING or above."""

from __future__ import annotations

import functools

from pkilint import finding_filter, loader
from pkilint.etsi import create_decoding_validators as etsi_decoding_validators
from pkilint.etsi import create_etsi_finding_filters, create_validators, determine_certificate_type
from pkilint.pkix import certificate, extension, name
from pkilint.validation import ValidationFindingSeverity

THRESHOLD = ValidationFindingSeverity.WARNING


def _findings(results) -> list[str]:
    found = []
    for result in results:
        for description in result.finding_descriptions:
            if description.finding.severity <= THRESHOLD:
                found.append(
                    f"{description.finding.code} ({description.finding.severity}) at "
                    f"{result.node.path}: {description.message or ''}"
                )
    return found


@functools.cache
def _pkix_validator():
    return certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(
            name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
        ),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )


def lint_pkix_cert(der: bytes) -> list[str]:
    """RFC 5280 findings of severity WARNING or worse (as `lint_pkix_cert lint -s WARNING`)."""
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    return _findings(_pkix_validator().validate(document.root))


def lint_etsi_cert(der: bytes) -> tuple[str, list[str]]:
    """(detected ETSI certificate type, findings of severity WARNING or worse), as
    `lint_etsi_cert lint -d -s WARNING`."""
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    certificate_type = determine_certificate_type(document)
    validator = certificate.create_pkix_certificate_validator_container(
        etsi_decoding_validators(certificate_type), create_validators(certificate_type)
    )
    results = validator.validate(document.root)
    results, _ = finding_filter.filter_results(
        create_etsi_finding_filters(certificate_type), results
    )
    return certificate_type.to_option_str, _findings(results)


def lint_crl(der: bytes) -> list[str]:
    """As `lint_crl lint -t CRL -p PKIX -s WARNING` (the PKIX profile treats ARLs alike)."""
    from pkilint import pkix
    from pkilint.pkix import crl

    validator = crl.create_pkix_crl_validator_container(
        [
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [
            crl.create_issuer_validator_container([]),
            crl.create_validity_validator_container([]),
            crl.create_extensions_validator_container([]),
        ],
    )
    document = loader.RFC5280CertificateListDocumentLoader().load_der_document(der, "crl")
    return _findings(validator.validate(document.root))


def lint_ocsp_response(der: bytes) -> list[str]:
    """As `lint_ocsp_response lint -s WARNING`."""
    from pkilint import pkix
    from pkilint.pkix import ocsp

    validator = ocsp.create_pkix_ocsp_response_validator_container(
        [
            ocsp.create_response_decoder(),
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [],
    )
    document = loader.RFC6960OCSPResponseDocumentLoader().load_der_document(der, "response")
    return _findings(validator.validate(document.root))
