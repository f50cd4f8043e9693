"""`openssl ocsp` as a relying party's client against the responder on a live test server."""

from __future__ import annotations

import pytest

from pki.services.certificates import certificate_issue
from pki.services.revocation import certificate_revoke
from tests.pki.chain import write_pem
from tests.pki.conftest import openssl

BACKENDS = [
    pytest.param("software", id="software"),
    pytest.param("pkcs11", id="pkcs11", marks=pytest.mark.softhsm),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_openssl_ocsp_client_sees_good_then_revoked(
    backend, live_server, pki, professional, subject_keys, tmp_path
):
    hierarchy = pki.for_backend(backend)
    ca = hierarchy.authentication
    valid = certificate_issue(
        public_key=subject_keys["ec"].public_key(),
        profile="hp-authentication",
        professional=professional,
        ca=ca,
    )
    revoked = certificate_issue(
        public_key=subject_keys["rsa"].public_key(),
        profile="hp-card-authentication",
        professional=professional,
        ca=ca,
    )
    certificate_revoke(certificate=revoked, reason="keyCompromise", emergency=True)

    issuer = write_pem(tmp_path / "issuer.pem", bytes(ca.certificate_der))
    trust = tmp_path / "trust.pem"
    trust.write_text(
        (tmp_path / "issuer.pem").read_text()
        + write_pem(tmp_path / "root.pem", bytes(ca.parent.certificate_der)).read_text()
    )
    url = f"{live_server.url}/pki/ocsp/{ca.slug}/"

    def ask(row, name: str) -> str:
        leaf = write_pem(tmp_path / name, bytes(row.der))
        result = openssl(
            "ocsp",
            "-issuer",
            str(issuer),
            "-cert",
            str(leaf),
            "-url",
            url,
            "-CAfile",
            str(trust),
            "-timeout",
            "20",
            check=False,
        )
        output = (result.stdout + result.stderr).decode()
        assert result.returncode == 0, output
        assert "Response verify OK" in output, output
        assert "WARNING" not in output, output  # e.g. "no nonce in response"
        return output

    assert f"{tmp_path / 'valid.pem'}: good" in ask(valid, "valid.pem")
    output = ask(revoked, "revoked.pem")
    assert f"{tmp_path / 'revoked.pem'}: revoked" in output
    assert "Reason: keyCompromise" in output
