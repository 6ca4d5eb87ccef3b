"""File helpers for immutable, durable writes: checksums, fsync, read-only, atomic JSON."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from ltv.models.persistence import checksums, sha256_file

__all__ = ["sha256_file", "checksums", "fsync_dir", "make_read_only", "atomic_write_json"]

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH  # 0o444


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def make_read_only(folder: Path) -> None:
    """fsync and chmod 0444 every file under `folder` (folders stay writable so that an
    operator can still delete a version on purpose)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            fsync_file(path)
            os.chmod(path, READ_ONLY)
    for path in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        fsync_dir(path)
    fsync_dir(folder)


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON to a temp file next to `path`, fsync it, os.replace it in, fsync the folder."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)
