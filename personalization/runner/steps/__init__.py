"""The personalization steps, in order (shared/DESIGN.md "Personalization, step by step").

Each step is idempotent: run again after a crash (from its start, since its record is written
only when it is done), it leaves the card and the database as one clean run would. A step
returns the detail its journal entry keeps: what later steps need and an operator may read
(public keys, certificate ids), never a secret.

One module per station step (identify, authentication, pin_puk, keys, data_objects,
management_key, quality), what they share in base.py, and their order here (`plan`). The
certificates, PIN and PUK, central keys and management key are the signer's (signer/making.py).
"""

from __future__ import annotations

from personalization.runner.plan import (
    PRINT_STEP,
    RETIRED_KEYS_STEP,
    SIGNER_STEP,
    UNBLOCK_SIGNER_STEP,
    central_slots,
    on_card_slots,
    receives_retired_keys,
)
from personalization.runner.steps.authentication import authenticate
from personalization.runner.steps.base import QualityCheckFailed, Step, StepContext
from personalization.runner.steps.data_objects import write_objects
from personalization.runner.steps.identify import identify_card
from personalization.runner.steps.keys import generate_key_step
from personalization.runner.steps.management_key import rotate_management_key
from personalization.runner.steps.pin_puk import set_pin_puk
from personalization.runner.steps.printing import print_card_face
from personalization.runner.steps.quality import quality_check
from personalization.runner.steps.retired_keys import import_retired_keys
from personalization.runner.steps.unblock import find_card, reset_pin

__all__ = ["QualityCheckFailed", "Step", "StepContext", "plan", "unblock_plan"]


def unblock_plan() -> list[Step]:
    return [
        Step("find_card", find_card),
        Step(UNBLOCK_SIGNER_STEP, None, on_signer=True),  # the signer's (docs/signer.md)
        Step("reset_pin", reset_pin),
    ]


def plan(profile: dict, printing: dict | None = None) -> list[Step]:
    placement = (printing or {}).get("placement")
    printed = [Step(PRINT_STEP, print_card_face)]
    return [
        Step("identify_card", identify_card, records_itself=True),
        *(printed if placement == "before" else []),
        Step("authenticate", authenticate),
        *(generate_key_step(slot) for slot in on_card_slots(profile)),
        Step(SIGNER_STEP, None, on_signer=True),  # the signer's (docs/signer.md)
        Step("set_pin_puk", set_pin_puk),
        *(generate_key_step(slot) for slot in central_slots(profile)),
        *([Step(RETIRED_KEYS_STEP, import_retired_keys)] if receives_retired_keys(profile) else []),
        Step("write_objects", write_objects),
        Step("rotate_management_key", rotate_management_key),
        Step("quality_check", quality_check),
        *(printed if placement == "after" else []),
    ]
