"""The retrain decision log `<registry>/<name>/decisions.jsonl` and the retrain lock.

One JSON object per line, appended in time order, never rewritten. An append holds the
registry's pointer lock (the one promote and rollback hold), writes the whole line with one
`write` to a file opened with O_APPEND and fsyncs it, so concurrent writers cannot interleave
and a crash leaves at worst a last line without its newline, which `read_decisions` skips
(naming it) instead of failing on.

The retrain lock `<registry>/<name>/.retrain.lock` keeps two retrains of one model from running
at once (a cron job that overruns its interval). It is an flock: the kernel drops it when the
holding process exits, however it exits, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ltv.errors import LTVError
from ltv.registry import pointer
from ltv.registry.layout import check_name
from ltv.registry.manifest import check_metadata

DECISIONS = "decisions.jsonl"
RETRAIN_LOCK = ".retrain.lock"


class RetrainLockedError(LTVError):
    """Another retrain of the same model holds the lock."""


def decisions_path(registry_root: str | Path, name: str) -> Path:
    return Path(registry_root) / check_name(name) / DECISIONS


def append_decision(registry_root: str | Path, name: str, record: dict[str, Any]) -> Path:
    """Append `record` (a JSON-able dict; NaN becomes null) as one line; return the file."""
    path = decisions_path(registry_root, name)
    line = json.dumps(check_metadata(record), sort_keys=True, allow_nan=False) + "\n"
    with pointer.locked(path.parent):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def read_decisions(registry_root: str | Path, name: str) -> list[dict[str, Any]]:
    """Every recorded decision of `name`, oldest first ([] when there is none yet)."""
    path = decisions_path(registry_root, name)
    if not path.is_file():
        return []
    out = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            warnings.warn(f"{path} line {number} is not valid JSON (an interrupted append?); "
                          "skipped", stacklevel=2)
    return out


@contextmanager
def retrain_lock(registry_root: str | Path, name: str) -> Iterator[Path]:
    """Hold `<registry>/<name>/.retrain.lock` for the block, or raise RetrainLockedError at
    once (never wait: a cron job should skip a run, not queue behind a slow one)."""
    folder = Path(registry_root) / check_name(name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RETRAIN_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RetrainLockedError(
                f"another retrain of '{name}' is running (lock {path} held by pid {holder})",
                "wait for it to finish; the lock is released when that process exits "
                "(do not delete the file)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
