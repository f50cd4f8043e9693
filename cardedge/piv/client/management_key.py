"""The card management key (9B): mutual authentication by GENERAL AUTHENTICATE (SP 800-73-4
Part 2 §3.2.4) and its change by Yubico SET MANAGEMENT KEY (FF). The key's bytes are used for
the call and never logged."""

from __future__ import annotations

import hmac
import logging
import os

from cardedge.apdu.status import StatusWord
from cardedge.apdu.tlv import encode_tlv
from cardedge.piv.algorithms import decrypt_block, encrypt_block
from cardedge.piv.client.session import CHALLENGE, RESPONSE, WITNESS, PivSession
from cardedge.piv.constants import MANAGEMENT_KEY_REF, Ins, ManagementKeyAlgorithm
from cardedge.piv.errors import (
    IncorrectData,
    IncorrectParameters,
    MalformedCardResponse,
    ManagementKeyAuthenticationFailed,
    SecurityStatusNotSatisfied,
    UnsupportedCapability,
)
from cardedge.piv.secrets import ManagementKey

logger = logging.getLogger(__name__)


class ManagementKeyCommands(PivSession):
    def authenticate(self, key: ManagementKey) -> None:
        """Mutual authentication with the 9B key: each side proves it holds the key.

        ManagementKeyAuthenticationFailed if the card refuses the key or its algorithm, or if
        the card's own answer shows it holds another key.
        """
        algorithm = key.algorithm
        block = algorithm.block_size
        command = "GENERAL AUTHENTICATE (management key)"
        with self.channel.transaction():
            try:
                step1 = self._general_authenticate(
                    command, algorithm, MANAGEMENT_KEY_REF, encode_tlv(WITNESS, b"")
                )
            except (IncorrectData, IncorrectParameters) as exc:
                msg = f"the card refused {algorithm.name} for its management key"
                raise ManagementKeyAuthenticationFailed(msg, sw=exc.sw, command=command) from None
            encrypted_witness = step1.get(WITNESS, b"")
            if len(encrypted_witness) != block:
                msg = f"{command}: the card's witness is not one {algorithm.name} block"
                raise MalformedCardResponse(msg, sw=StatusWord.SUCCESS, command=command)
            witness = decrypt_block(algorithm, key.reveal(), encrypted_witness)
            challenge = os.urandom(block)
            try:
                step2 = self._general_authenticate(
                    command,
                    algorithm,
                    MANAGEMENT_KEY_REF,
                    encode_tlv(WITNESS, witness) + encode_tlv(CHALLENGE, challenge),
                )
            except SecurityStatusNotSatisfied as exc:
                msg = "the card refused the management key"
                raise ManagementKeyAuthenticationFailed(msg, sw=exc.sw, command=command) from None
        # OpenSC accepts the card's answer under 80 as well as the standard 82
        answer = step2.get(RESPONSE, step2.get(WITNESS, b""))
        if not hmac.compare_digest(answer, encrypt_block(algorithm, key.reveal(), challenge)):
            msg = "the card's answer to our challenge is wrong: it holds another management key"
            raise ManagementKeyAuthenticationFailed(msg, sw=StatusWord.SUCCESS, command=command)
        logger.info("management key authenticated (%s)", algorithm.name)

    def set_management_key(self, key: ManagementKey, *, require_touch: bool = False) -> None:
        """Yubico SET MANAGEMENT KEY (FF); needs the current key authenticated first.

        UnsupportedCapability if the card has no such command, or no AES management keys.
        """
        capabilities = self.capabilities()
        if not capabilities.set_management_key:
            msg = "the card has no standard command to change its management key (no Yubico FF)"
            raise UnsupportedCapability(msg, command="SET MANAGEMENT KEY")
        if key.algorithm is not ManagementKeyAlgorithm.TDES and not capabilities.aes_management_key:
            msg = f"the card (version {capabilities.version}) has no AES management keys"
            raise UnsupportedCapability(msg, command="SET MANAGEMENT KEY")
        data = bytes([key.algorithm, MANAGEMENT_KEY_REF, len(key)]) + key.reveal()
        self._send_optional(
            "SET MANAGEMENT KEY",
            Ins.SET_MANAGEMENT_KEY,
            0xFF,
            0xFE if require_touch else 0xFF,
            data,
        )
        logger.info("management key changed (%s)", key.algorithm.name)
