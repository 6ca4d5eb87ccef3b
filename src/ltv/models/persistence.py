"""Model folders written atomically and checksummed.

A model folder holds `model.json` (family, class, hyperparameters, learned metadata, file
checksums) and any family-specific files. `write_model_dir` builds the folder under a temporary
name next to the target and renames it into place, so a reader never sees half a model;
`read_model_dir` re-checks every checksum and refuses a corrupt or partial folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ltv.errors import LTVError

MANIFEST = "model.json"
FORMAT_VERSION = 1


class CorruptModelError(LTVError):
    """A saved model is incomplete or its files do not match their checksums."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(folder: Path, *, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under `folder`, keyed by POSIX path relative to it."""
    return {p.relative_to(folder).as_posix(): sha256_file(p)
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).as_posix() not in exclude}


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in `path` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON to a temp file next to `path`, fsync it, os.replace it in, fsync the folder."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n",
                      mode=None)


def atomic_write_text(path: str | Path, text: str, *, mode: int | None = 0o644) -> Path:
    """Write `text` (UTF-8, "\\n" line ends) to a temp file next to `path`, fsync it, give it
    `mode` (None: mkstemp's owner-only 0600), os.replace it in and fsync the folder, so a
    reader sees the old file or the new one, never half of one. Returns the path."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def write_model_dir(path: str | Path, meta: dict[str, Any],
                    write_files: Callable[[Path], None] | None = None) -> Path:
    """Create `path` atomically: `write_files(tmp)` writes the payload, then the manifest.

    An existing folder at `path` is replaced only after the new one is complete.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        if write_files is not None:
            write_files(tmp)
        manifest = {"format_version": FORMAT_VERSION, **meta, "files": checksums(tmp)}
        with open(tmp / MANIFEST, "w") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def read_model_dir(path: str | Path, *, family: str | None = None) -> dict[str, Any]:
    """Return the manifest of a model folder after verifying every file's checksum."""
    folder = Path(path)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise CorruptModelError(f"{folder} is not a saved ltv model (no {MANIFEST})",
                                "point at the folder written by `ltv train` or model.save()")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as err:
        raise CorruptModelError(f"{manifest_path} is not valid JSON ({err.msg})",
                                "the model folder is damaged: save or train it again") from None
    if family is not None and manifest.get("family") != family:
        raise CorruptModelError(
            f"{folder} holds a '{manifest.get('family')}' model, not '{family}'",
            "load it with ltv.models.load_model(path), which picks the right class")
    for name, expected in manifest.get("files", {}).items():
        file = folder / name
        if not file.is_file():
            raise CorruptModelError(f"{folder}: file '{name}' is missing",
                                    "the model folder is partial: save or train it again")
        if sha256_file(file) != expected:
            raise CorruptModelError(f"{folder}: file '{name}' does not match its checksum",
                                    "the model folder was modified or damaged: save or train "
                                    "it again")
    return manifest
