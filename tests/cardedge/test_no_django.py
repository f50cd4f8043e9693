"""The card edge (`cardedge`) is plain Python: importing all of it pulls in nothing from Django,
the project's settings or any app (DESIGN.md; import-linter checks the same statically)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.cardedge.pcsc_harness import REPO_ROOT

PURE_PACKAGES = ["cardedge"]
# Django, its libraries, the project's wiring and every app: the card edge sits underneath them all.
BLOCKED = (
    "django",
    "rest_framework",
    "drf_spectacular",
    "celery",
    "config",
    "accounts",
    "audit",
    "cardprofiles",
    "issuance",
    "pki",
    "personalization",
    "cards",
)

SCRIPT = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    BLOCKED = {BLOCKED!r}

    class BlockDjango:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: the card edge must not import it")
            return None

    sys.meta_path.insert(0, BlockDjango())
    imported = []
    for package in sys.argv[1:]:
        module = importlib.import_module(package)
        imported.append(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            importlib.import_module(info.name)
            imported.append(info.name)
    leaked = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    assert not leaked, leaked
    try:  # the blocker works: the management command (which is Django) cannot be imported
        importlib.import_module("personalization.management.commands.emulate_card")
    except ImportError:
        pass
    else:
        raise AssertionError("the Django blocker did not block")
    print(len(imported))
    """
).replace("{BLOCKED!r}", repr(BLOCKED))


def test_card_edge_imports_nothing_from_django_or_an_app() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *PURE_PACKAGES],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 35  # every module of the card edge was imported
