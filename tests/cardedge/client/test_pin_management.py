"""VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER through the client, on both transports."""

from __future__ import annotations

import pytest

from cardedge.piv import AuthenticationBlocked, Pin, PinStatus, PivClient, Puk, WrongPin

DEFAULT_PIN, DEFAULT_PUK = Pin("123456"), Puk("12345678")


def test_wrong_pins_count_down_then_block(client: PivClient) -> None:
    assert client.pin_status() == PinStatus(verified=False, retries_left=3, blocked=False)
    answers = []
    for _ in range(3):
        with pytest.raises(WrongPin) as caught:
            client.verify_pin(Pin("654321"))
        answers.append((caught.value.sw, caught.value.retries_left))
    assert answers == [(0x63C2, 2), (0x63C1, 1), (0x63C0, 0)]
    with pytest.raises(AuthenticationBlocked) as blocked:
        client.verify_pin(DEFAULT_PIN)  # even the right PIN: blocked is blocked
    assert blocked.value.sw == 0x6983
    assert client.pin_status().blocked


def test_a_correct_pin_restores_the_tries_and_logout_forgets_it(client: PivClient) -> None:
    with pytest.raises(WrongPin):
        client.verify_pin(Pin("000000"))
    client.verify_pin(DEFAULT_PIN)
    assert client.pin_status() == PinStatus(verified=True, retries_left=None, blocked=False)
    client.logout()
    assert client.pin_status() == PinStatus(verified=False, retries_left=3, blocked=False)


def test_reselecting_the_application_forgets_the_pin(client: PivClient) -> None:
    client.verify_pin(DEFAULT_PIN)
    client.select()
    assert not client.pin_status().verified


def test_change_pin(client: PivClient) -> None:
    with pytest.raises(WrongPin) as caught:
        client.change_pin(Pin("999999"), Pin("24681357"))
    assert caught.value.retries_left == 2
    client.change_pin(DEFAULT_PIN, Pin("24681357"))
    with pytest.raises(WrongPin):
        client.verify_pin(DEFAULT_PIN)
    client.verify_pin(Pin("24681357"))


def test_unblock_pin_with_the_puk(client: PivClient) -> None:
    for _ in range(3):
        with pytest.raises(WrongPin):
            client.verify_pin(Pin("000000"))
    with pytest.raises(WrongPin) as wrong_puk:
        client.unblock_pin(Puk("87654321"), Pin("112233"))
    assert wrong_puk.value.retries_left == 2
    client.unblock_pin(DEFAULT_PUK, Pin("112233"))
    assert client.pin_status().retries_left == 3
    client.verify_pin(Pin("112233"))


def test_change_puk_and_block_it(client: PivClient) -> None:
    client.change_puk(DEFAULT_PUK, Puk("31415926"))
    for expected in (2, 1, 0):
        with pytest.raises(WrongPin) as caught:
            client.change_puk(DEFAULT_PUK, Puk("27182818"))
        assert caught.value.retries_left == expected
    with pytest.raises(AuthenticationBlocked):
        client.unblock_pin(Puk("31415926"), Pin("123456"))
