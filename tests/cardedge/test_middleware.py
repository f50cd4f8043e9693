"""Real middleware on an emulated card prepared by the client over PC/SC.

OpenSC 0.23 (opensc-tool, pkcs15-tool, the PKCS#11 module through pkcs11-tool) and
yubico-piv-tool 2.2 talk to `manage.py emulate_card` through the private pcscd; the signatures
they make are checked with the `openssl` command line against the certificates on the card.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from cardedge.piv import Pin, PivClient, Puk, Slot
from cardedge.transports.pcsc import PcscTransport
from tests.cardedge.cards import factory_reset
from tests.cardedge.certificates import ThrowawayCa
from tests.cardedge.pcsc_harness import PcscCardHarness
from tests.cardedge.preparation import PreparedCard, prepare_card

pytestmark = pytest.mark.pcsc

PIN = "246810"
OPENSC_PKCS11 = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
MESSAGE = b"e-prescription 2026-11-29: amoxicillin 1 g three times a day for 7 days\n"


@pytest.fixture(scope="module")
def prepared_card(pcsc_harness: PcscCardHarness, test_ca: ThrowawayCa) -> Iterator[PreparedCard]:
    transport = PcscTransport(pcsc_harness.reader_name)
    transport.connect()
    try:
        client = PivClient.connect(transport)
        factory_reset(client)
        client.select()
        yield prepare_card(client, test_ca, pin=Pin(PIN), puk=Puk("13572468"))
    finally:
        transport.disconnect()


def _run(harness: PcscCardHarness, *args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        list(args),
        env=harness.pcscd.env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
    )
    assert result.returncode == 0, (
        f"{args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr


def test_opensc_names_a_piv_card(
    pcsc_harness: PcscCardHarness, prepared_card: PreparedCard
) -> None:
    assert "Personal Identity Verification Card" in _run(pcsc_harness, "opensc-tool", "--name")


def test_pkcs15_tool_lists_the_certificates(
    pcsc_harness: PcscCardHarness, prepared_card: PreparedCard
) -> None:
    out = _run(pcsc_harness, "pkcs15-tool", "--list-certificates")
    for label in (
        "Certificate for PIV Authentication",
        "Certificate for Digital Signature",
        "Certificate for Key Management",
        "Certificate for Card Authentication",
    ):
        assert f"X.509 Certificate [{label}]" in out
    # and the bytes OpenSC reads are the certificate the client wrote
    pem = _run(pcsc_harness, "pkcs15-tool", "--read-certificate", "01")
    expected = (
        prepared_card.certificates[Slot.PIV_AUTHENTICATION].public_bytes(Encoding.PEM).decode()
    )
    assert expected.strip() in pem


@pytest.mark.parametrize(
    ("slot", "key_id", "mechanism", "extra"),
    [
        (Slot.PIV_AUTHENTICATION, "01", "SHA256-RSA-PKCS", []),
        (Slot.DIGITAL_SIGNATURE, "02", "ECDSA-SHA256", ["--signature-format", "openssl"]),
    ],
    ids=["9A-RSA-PKCS1", "9C-ECDSA-PIN-always"],
)
def test_pkcs11_signature_verifies_with_openssl(
    pcsc_harness: PcscCardHarness,
    prepared_card: PreparedCard,
    tmp_path: Path,
    slot: Slot,
    key_id: str,
    mechanism: str,
    extra: list[str],
) -> None:
    (tmp_path / "message").write_bytes(MESSAGE)
    (tmp_path / "cert.pem").write_bytes(prepared_card.certificates[slot].public_bytes(Encoding.PEM))
    _run(
        pcsc_harness,
        "pkcs11-tool",
        "--module",
        OPENSC_PKCS11,
        "--login",
        "--pin",
        PIN,
        "--sign",
        "--id",
        key_id,
        "--mechanism",
        mechanism,
        *extra,
        "--input-file",
        "message",
        "--output-file",
        "signature",
        cwd=tmp_path,
    )
    public_key = _run(
        pcsc_harness, "openssl", "x509", "-in", "cert.pem", "-pubkey", "-noout", cwd=tmp_path
    )
    (tmp_path / "public.pem").write_text(public_key)
    verified = _run(
        pcsc_harness,
        "openssl",
        "dgst",
        "-sha256",
        "-verify",
        "public.pem",
        "-signature",
        "signature",
        "message",
        cwd=tmp_path,
    )
    assert "Verified OK" in verified


def test_pkcs11_random_numbers_come_from_the_card(
    pcsc_harness: PcscCardHarness, prepared_card: PreparedCard, tmp_path: Path
) -> None:
    """OpenSC draws randomness with GENERAL AUTHENTICATE 00 87 00 9B 7C{81 00} (piv-brief §11)."""
    _run(
        pcsc_harness,
        "pkcs11-tool",
        "--module",
        OPENSC_PKCS11,
        "--generate-random",
        "64",
        "--output-file",
        "random",
        cwd=tmp_path,
    )
    random = (tmp_path / "random").read_bytes()
    assert len(random) == 64
    assert len(set(random)) > 16


def test_pkcs11_login_with_a_wrong_pin_fails(
    pcsc_harness: PcscCardHarness, prepared_card: PreparedCard
) -> None:
    result = subprocess.run(
        ["pkcs11-tool", "--module", OPENSC_PKCS11, "--login", "--pin", "999999", "--list-objects"],
        env=pcsc_harness.pcscd.env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "CKR_PIN_INCORRECT" in result.stderr
    # undo the wrong try so later tests keep their full count
    transport = PcscTransport(pcsc_harness.reader_name)
    transport.connect()
    try:
        PivClient.connect(transport).verify_pin(Pin(PIN))
    finally:
        transport.disconnect()


def test_yubico_piv_tool_prints_the_chuid_and_certificates(
    pcsc_harness: PcscCardHarness, prepared_card: PreparedCard
) -> None:
    out = _run(pcsc_harness, "yubico-piv-tool", "-r", "Virtual PCD", "-a", "status")
    assert "Version:\t5.4.3" in out
    assert "CHUID:\t" + prepared_card.chuid.encode().hex() in out  # GUID and expiry included
    expected = {
        "9a": (Slot.PIV_AUTHENTICATION, "RSA2048"),
        "9c": (Slot.DIGITAL_SIGNATURE, "ECCP256"),
        "9d": (Slot.KEY_MANAGEMENT, "ECCP384"),
        "9e": (Slot.CARD_AUTHENTICATION, "ECCP256"),
    }
    blocks = {chunk[:2]: chunk for chunk in out.split("Slot ")[1:]}
    assert set(blocks) == set(expected)
    for name, (slot, algorithm) in expected.items():
        certificate = prepared_card.certificates[slot]
        common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
        assert f"Algorithm:\t{algorithm}" in blocks[name]
        assert f"Subject DN:\tO=CardForge tests, CN={common_name}" in blocks[name]
        assert f"Fingerprint:\t{fingerprint}" in blocks[name]
    assert "PIN tries left:\t3" in out
