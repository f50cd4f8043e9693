"""Card management key (9B): mutual authentication with each algorithm, SET MANAGEMENT KEY."""

from __future__ import annotations

import pytest

from cardedge.piv import (
    ManagementKey,
    ManagementKeyAlgorithm,
    ManagementKeyAuthenticationFailed,
    PivClient,
    SecurityStatusNotSatisfied,
    Slot,
    UnsupportedCapability,
)
from cardedge.piv.constants import KeyAlgorithm
from cardedge.piv.secrets import default_management_key


def test_default_3des_key_authenticates(client: PivClient) -> None:
    client.authenticate(default_management_key())
    metadata = client.get_management_key_metadata()
    assert metadata.algorithm is ManagementKeyAlgorithm.TDES
    assert metadata.is_default


def test_a_wrong_key_is_refused(client: PivClient) -> None:
    wrong = ManagementKey(ManagementKeyAlgorithm.TDES, bytes(range(24)))
    with pytest.raises(ManagementKeyAuthenticationFailed) as caught:
        client.authenticate(wrong)
    assert caught.value.sw == 0x6982
    with pytest.raises(SecurityStatusNotSatisfied):
        client.generate_key(Slot.PIV_AUTHENTICATION, KeyAlgorithm.ECC_P256)


def test_the_wrong_algorithm_is_refused(client: PivClient) -> None:
    aes = ManagementKey(ManagementKeyAlgorithm.AES192, bytes(24))
    with pytest.raises(ManagementKeyAuthenticationFailed) as caught:
        client.authenticate(aes)
    assert caught.value.sw == 0x6A80


@pytest.mark.parametrize("algorithm", list(ManagementKeyAlgorithm), ids=lambda a: a.name)
def test_set_and_use_a_new_management_key(
    client: PivClient, algorithm: ManagementKeyAlgorithm
) -> None:
    new_key = ManagementKey.generate(algorithm)
    client.authenticate(default_management_key())
    client.set_management_key(new_key)
    client.select()  # drop the session's authentication
    with pytest.raises(ManagementKeyAuthenticationFailed):
        client.authenticate(default_management_key())
    client.authenticate(new_key)
    metadata = client.get_management_key_metadata()
    assert metadata.algorithm is algorithm
    assert not metadata.is_default
    client.generate_key(Slot.KEY_MANAGEMENT, KeyAlgorithm.ECC_P256)  # the new key grants admin


def test_changing_the_key_needs_the_current_one(client: PivClient) -> None:
    with pytest.raises(SecurityStatusNotSatisfied):
        client.set_management_key(ManagementKey.generate(ManagementKeyAlgorithm.AES256))


def test_a_plain_piv_card_reports_missing_capabilities(plain_piv_client: PivClient) -> None:
    capabilities = plain_piv_client.capabilities()
    assert capabilities.version is None
    assert not capabilities.set_management_key
    plain_piv_client.authenticate(default_management_key())
    with pytest.raises(UnsupportedCapability):
        plain_piv_client.set_management_key(ManagementKey.generate(ManagementKeyAlgorithm.TDES))
    # the standard card edge still works
    plain_piv_client.generate_key(Slot.PIV_AUTHENTICATION, KeyAlgorithm.ECC_P256)
