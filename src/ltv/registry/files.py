"""File helpers for immutable, durable writes: checksums, fsync, read-only, atomic JSON."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ltv.models.persistence import atomic_write_json, checksums, fsync_dir, sha256_file

__all__ = ["sha256_file", "checksums", "fsync_dir", "make_read_only", "atomic_write_json"]

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH  # 0o444


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
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
