"""The personalization steps, in order (shared/DESIGN.md "Personalization, step by step").

Each step is idempotent: run again after a crash (from its start, since its record is written
only when it is done), it leaves the card and the database as one clean run would. A step
returns the detail its journal entry keeps: what later steps need and an operator may read
(public keys, certificate ids), never a secret.

One module per step (identify, authentication, pin_puk, keys, certificates, data_objects,
management_key, quality), what they share in base.py, and their order here (`plan`).
"""

from __future__ import annotations

from personalization.runner.steps.authentication import authenticate
from personalization.runner.steps.base import QualityCheckFailed, Step, StepContext
from personalization.runner.steps.certificates import issue_certificates
from personalization.runner.steps.data_objects import write_objects
from personalization.runner.steps.identify import identify_card
from personalization.runner.steps.keys import generate_key_step
from personalization.runner.steps.management_key import rotate_management_key
from personalization.runner.steps.pin_puk import set_pin_puk
from personalization.runner.steps.quality import quality_check

__all__ = ["QualityCheckFailed", "Step", "StepContext", "plan"]


def plan(profile: dict) -> list[Step]:
    return [
        Step("identify_card", identify_card, records_itself=True),
        Step("authenticate", authenticate),
        Step("set_pin_puk", set_pin_puk),
        *(generate_key_step(slot) for slot in sorted(profile["slots"])),
        Step("issue_certificates", issue_certificates, records_itself=True),
        Step("write_objects", write_objects),
        Step("rotate_management_key", rotate_management_key),
        Step("quality_check", quality_check),
    ]
