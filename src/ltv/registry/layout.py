"""Where things live: `<root>/<name>/<version>/{model/, manifest.json}` (TF Serving's layout:
versions are positive integers) and `<root>/<name>/pointer.json`.

Only folders named by a positive integer in canonical form ("1", "2", not "01") are versions;
hidden folders (a publish in progress, or one left by a crash) and anything else are ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

from ltv.registry.errors import RegistryError

MODEL_DIR = "model"
MANIFEST = "manifest.json"
POINTER = "pointer.json"
TEMP_PREFIX = ".publish-"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_name(name: str) -> str:
    """A model name is one plain folder name: letters, digits, '.', '_', '-', no leading dot."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise RegistryError(f"model name {name!r} is not allowed",
                            "use letters, digits, '.', '_' and '-', starting with a letter or "
                            "digit, e.g. --name shop")
    return name


def check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RegistryError(f"version {version!r} is not a positive integer",
                            "versions are 1, 2, 3, ...: see `ltv registry list`")
    return version


def parse_version(folder_name: str) -> int | None:
    """The version a folder name stands for, or None when it is not a version folder."""
    if folder_name.isdigit() and folder_name.isascii() and not folder_name.startswith("0"):
        return int(folder_name)
    return None


def list_versions(model_root: Path) -> list[int]:
    """Published versions under `<root>/<name>/`, ascending (no temp folders, no files)."""
    if not model_root.is_dir():
        return []
    found = (parse_version(p.name) for p in model_root.iterdir() if p.is_dir())
    return sorted(v for v in found if v is not None)
