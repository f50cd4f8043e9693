"""Where an emulated card keeps its persistent state: a small interface and two stores.

The interface is two methods on a JSON-compatible dict (see `CardState.to_dict`):

* `load() -> dict | None` — the saved state, or None for a card never saved (a blank card is
  then made from its factory settings and saved at once);
* `save(state: dict) -> None` — persist atomically: after a crash either the old or the new
  state is there, never a mix. Raise CardStorageError (or OSError) on failure; the card then
  answers `65 81` (memory failure) and keeps its previous state.

The emulator calls `save` after every command that changed persistent state (data objects,
keys, PIN/PUK values or retry counters, management key) and before it answers, so a wrong PIN
counts even if the process dies right after. The dict holds the card's secrets in clear: a
store must protect it at rest (file mode 0600 here; a database store should encrypt it).
"""

from __future__ import annotations

import abc
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cardedge.emulator.errors import CardStateError, CardStorageError


class CardStore(abc.ABC):
    @abc.abstractmethod
    def load(self) -> dict[str, Any] | None:
        """The saved state, or None if this card was never saved."""

    @abc.abstractmethod
    def save(self, state: dict[str, Any]) -> None:
        """Persist the state atomically."""


class MemoryCardStore(CardStore):
    """Keeps the state in the process (tests, benchmarks, demo cards)."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self._state = json.loads(json.dumps(state)) if state is not None else None
        self.saves = 0

    def load(self) -> dict[str, Any] | None:
        return json.loads(json.dumps(self._state)) if self._state is not None else None

    def save(self, state: dict[str, Any]) -> None:
        self._state = json.loads(json.dumps(state))
        self.saves += 1


class FileCardStore(CardStore):
    """A JSON file, replaced atomically (write to a temporary file, fsync, rename), mode 0600.

    One card process per file: two processes writing the same file would overwrite each other.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            msg = f"cannot read the card state {self.path}: {exc.strerror}"
            raise CardStateError(msg) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"the card state {self.path} is not JSON (line {exc.lineno})"
            raise CardStateError(msg) from None
        if not isinstance(data, dict):
            msg = f"the card state {self.path} is not a JSON object"
            raise CardStateError(msg)
        return data

    def save(self, state: dict[str, Any]) -> None:
        payload = json.dumps(state, indent=1, sort_keys=True).encode("utf-8")
        directory = self.path.parent
        try:
            descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
        except OSError as exc:
            msg = f"cannot write the card state in {directory}: {exc.strerror}"
            raise CardStorageError(msg) from None
        try:
            with os.fdopen(descriptor, "wb") as handle:  # mkstemp creates it 0600
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            Path(temporary).replace(self.path)
            _fsync_directory(directory)  # make the rename itself durable
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            msg = f"cannot write the card state {self.path}: {exc.strerror}"
            raise CardStorageError(msg) from None


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
