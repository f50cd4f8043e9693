"""A station's key file: created 0600 and never overwritten, refused when others may read it,
and the certificate request that enrols the station."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from pki.station_keys import (
    StationKeyError,
    station_csr_build,
    station_key_generate,
    station_key_load,
)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_key_is_p256_owner_only_and_loads_back(tmp_path):
    path = tmp_path / "station.pem"
    previous = os.umask(0)  # a careless umask changes nothing
    try:
        key = station_key_generate(path)
    finally:
        os.umask(previous)
    assert _mode(path) == 0o600
    assert isinstance(key.curve, ec.SECP256R1)
    assert station_key_load(path).private_numbers() == key.private_numbers()


@pytest.mark.parametrize("mode", [0o600, 0o644])
def test_an_existing_file_is_never_overwritten(tmp_path, mode):
    path = tmp_path / "station.pem"
    path.write_bytes(b"the key a certificate names")
    path.chmod(mode)
    with pytest.raises(StationKeyError, match="never overwritten") as raised:
        station_key_generate(path)
    if mode == 0o644:
        assert "permissions 0644, wider than 0600" in str(raised.value)
    assert path.read_bytes() == b"the key a certificate names"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o666])
def test_a_key_others_may_read_is_refused(tmp_path, mode):
    path = tmp_path / "station.pem"
    station_key_generate(path)
    path.chmod(mode)
    with pytest.raises(StationKeyError, match=f"permissions {mode:04o}, wider than 0600"):
        station_key_load(path)


def test_a_symbolic_link_is_refused(tmp_path):
    target = tmp_path / "real.pem"
    station_key_generate(target)
    link = tmp_path / "station.pem"
    link.symlink_to(target)
    with pytest.raises(StationKeyError, match="cannot open"):
        station_key_load(link)
    with pytest.raises(StationKeyError, match="never overwritten"):
        station_key_generate(link)


def _write_owner_only(path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def test_other_keys_and_garbage_are_refused_without_echoing_the_file(tmp_path):
    path = tmp_path / "station.pem"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_owner_only(
        path,
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    with pytest.raises(StationKeyError, match="not hold an EC P-256 key"):
        station_key_load(path)

    p384 = ec.generate_private_key(ec.SECP384R1())
    path.unlink()
    _write_owner_only(
        path,
        p384.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    with pytest.raises(StationKeyError, match="not hold an EC P-256 key"):
        station_key_load(path)

    path.unlink()
    _write_owner_only(
        path, b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXN0dWZm\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(StationKeyError) as raised:
        station_key_load(path)
    assert "c2VjcmV0LXN0dWZm" not in str(raised.value)


def test_the_request_names_the_station_alone_and_is_signed_by_its_key(tmp_path):
    key = station_key_generate(tmp_path / "station.pem")
    csr = x509.load_pem_x509_csr(station_csr_build(key, "bureau-lyon-1"))
    assert csr.is_signature_valid
    assert csr.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bureau-lyon-1")])
    assert csr.public_key() == key.public_key()
