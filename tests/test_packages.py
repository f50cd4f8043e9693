"""Every folder of Python code is a package: import-linter (make lint) reads only packages, so a
folder without __init__.py is a namespace package whose imports no contract checks (cards/services
was one, and an import up a layer from it passed `make lint`)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_folder_of_checked_code_is_a_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    roots = config["tool"]["importlinter"]["root_packages"]
    missing = [
        str(folder.relative_to(ROOT))
        for root in roots
        for folder in [ROOT / root, *(ROOT / root).rglob("*")]
        if folder.is_dir()
        and folder.name != "__pycache__"
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    ]
    assert missing == []
