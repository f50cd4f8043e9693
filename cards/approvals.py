"""What follows the approval of a card request, registered at start-up.

`cards` sits below `personalization` and does not import it. Personalization registers, in its
`AppConfig.ready()`, the hook that creates the approved request's job. `card_request_approve`
runs every hook inside its own transaction, so the job exists if and only if the approval does:
a hook that raises rolls the approval back with it. The system check `cards.E001` (checks.py)
refuses to start a project in which nothing would act on an approval.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class ApprovalHook(Protocol):
    def __call__(self, *, card_request: Any, by: Any, batch: Any) -> None: ...


_hooks: list[ApprovalHook] = []


def approval_hook_register(hook: ApprovalHook) -> None:
    """Call `hook(card_request=, by=, batch=)` on every approval (once, however often asked)."""
    if hook not in _hooks:
        _hooks.append(hook)


def approval_hooks() -> tuple[Callable[..., None], ...]:
    return tuple(_hooks)


def approval_hooks_run(*, card_request: Any, by: Any, batch: Any = None) -> None:
    """In the approval's transaction. `batch` is whatever the approving caller groups approvals
    by (personalization's JobBatch); cards passes it on without looking at it."""
    for hook in _hooks:
        hook(card_request=card_request, by=by, batch=batch)


# An approved PIN unblock (cards/services/card_actions.py) is done at a station with the card
# present: personalization registers the hook that makes its job, in the approval's transaction.
_unblock_hooks: list[Callable[[Any, Any], None]] = []


def unblock_hook_register(hook: Callable[[Any, Any], None]) -> None:
    """Call `hook(card_action, by)` on every approved unblock, in the approval's transaction."""
    if hook not in _unblock_hooks:
        _unblock_hooks.append(hook)


def unblock_hooks() -> tuple[Callable[[Any, Any], None], ...]:
    return tuple(_unblock_hooks)
