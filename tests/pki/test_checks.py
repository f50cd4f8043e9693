"""Start-up checks refuse a software key backend without a KEK and flag demo identities."""

from __future__ import annotations

from pki.checks import check_key_backends, check_production_identity


def test_software_backend_without_kek_is_an_error_in_the_signer(settings):
    settings.CARDFORGE_IS_SIGNER = True
    assert check_key_backends(None) == []
    settings.CARDFORGE_KEK = None
    assert [problem.id for problem in check_key_backends(None)] == ["pki.E001"]


def test_the_web_and_stations_need_no_kek(settings):
    """Only the signer holds key material (docs/signer.md)."""
    settings.CARDFORGE_IS_SIGNER = False
    settings.CARDFORGE_KEK = None
    assert check_key_backends(None) == []


def test_pkcs11_backend_without_pin_is_an_error(settings):
    settings.CARDFORGE_IS_SIGNER = True
    settings.PKI_KEY_BACKENDS = {
        "hsm": {
            "BACKEND": "pki.key_backends.pkcs11.Pkcs11KeyBackend",
            "OPTIONS": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "x"},
        }
    }
    (problem,) = check_key_backends(None)
    assert problem.id == "pki.E002"
    assert "user_pin" in problem.msg


def test_deploy_check_flags_example_policy_and_local_urls(settings):
    settings.CARDFORGE_PKI_BASE_URL = "http://localhost:8000"
    settings.PKI_POLICY_OID = "1.3.6.1.4.1.32473.1.1"
    assert {problem.id for problem in check_production_identity(None)} == {"pki.W001", "pki.W002"}
    settings.CARDFORGE_PKI_BASE_URL = "http://pki.cards.example.org"
    settings.PKI_POLICY_OID = "1.2.250.1.999.1"
    assert check_production_identity(None) == []
