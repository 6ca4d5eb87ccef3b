"""Re-check a published version against its manifest: every listed file present and matching its
sha256, nothing unlisted, and the manifest naming this model and version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ltv.registry import layout
from ltv.registry.errors import CorruptVersionError
from ltv.registry.files import sha256_file


def read_manifest(name: str, version: int, folder: Path) -> dict[str, Any]:
    """The manifest of a version folder, or CorruptVersionError when it is missing or unreadable."""
    path = folder / layout.MANIFEST
    if not path.is_file():
        raise CorruptVersionError(name, version, layout.MANIFEST,
                                  "is missing (the version is partial)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptVersionError(name, version, layout.MANIFEST,
                                  f"cannot be read ({type(err).__name__})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise CorruptVersionError(name, version, layout.MANIFEST, "has no file checksums")
    if manifest.get("name") != name or manifest.get("version") != version:
        raise CorruptVersionError(
            name, version, layout.MANIFEST,
            f"describes '{manifest.get('name')}' version {manifest.get('version')}, "
            "not this folder (was a version copied or renamed by hand?)")
    return manifest


def verify_version(name: str, version: int, folder: Path) -> dict[str, Any]:
    """Return the manifest after checking every file; raise CorruptVersionError otherwise."""
    if not folder.is_dir():
        raise CorruptVersionError(name, version, None, f"folder {folder} is missing")
    manifest = read_manifest(name, version, folder)
    listed: dict[str, str] = manifest["files"]
    if f"{layout.MODEL_DIR}/model.json" not in listed:
        raise CorruptVersionError(name, version, f"{layout.MODEL_DIR}/model.json",
                                  "is not listed in the manifest (the version is partial)")
    for rel, expected in sorted(listed.items()):
        path = folder / rel
        if not path.is_file():
            raise CorruptVersionError(name, version, rel, "is missing")
        if sha256_file(path) != expected:
            raise CorruptVersionError(name, version, rel, "does not match its checksum")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel != layout.MANIFEST and rel not in listed:
            raise CorruptVersionError(name, version, rel,
                                      "is not listed in the manifest (added after publishing)")
    return manifest
