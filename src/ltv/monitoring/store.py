"""The latest drift verdict of a model name, kept in the registry next to its versions:

    <registry>/<name>/monitoring/latest.json

Versions are immutable, so verdicts never go inside them; the registry ignores folders that
are not version numbers. The file is replaced atomically (temp file, fsync, rename), so the
server (`GET /v1/monitoring`, the drift gauges) reads the old verdict or the new one, never
half of one. `LatestVerdict` re-reads it only when it changed on disk.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from ltv.errors import LTVError
from ltv.registry.layout import check_name

MONITORING_DIR = "monitoring"
LATEST = "latest.json"


def latest_path(registry: str | Path, name: str) -> Path:
    return Path(registry) / check_name(name) / MONITORING_DIR / LATEST


def write_latest(registry: str | Path, name: str, verdict: dict[str, Any]) -> Path:
    """Replace the latest verdict of `name` (a `MonitoringResult.to_dict()`), atomically.
    The file is world-readable (0644): a server may run as another user than the monitor."""
    from ltv.models.persistence import atomic_write_text

    path = latest_path(registry, name)
    if not path.parent.parent.is_dir():
        raise LTVError(f"the registry {registry} has no model '{name}'",
                       "check --registry and --name (see `ltv registry list`)")
    path.parent.mkdir(exist_ok=True)
    return atomic_write_text(path, json.dumps(verdict, indent=1, allow_nan=False) + "\n")


def read_latest(registry: str | Path, name: str) -> dict[str, Any] | None:
    """The latest verdict of `name`, or None when `ltv monitor` has not run yet."""
    return _read(latest_path(registry, name))


def _read(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise LTVError(f"{path} is not valid JSON ({err})",
                       "run `ltv monitor` again to rewrite it") from None
    if not isinstance(data, dict):
        raise LTVError(f"{path} does not hold a verdict object", "run `ltv monitor` again")
    return data


class LatestVerdict:
    """The latest verdict file of one model name, re-read only when it changes on disk
    (its modification time, size or inode). Safe to call from several threads."""

    def __init__(self, registry: str | Path, name: str):
        self.path = latest_path(registry, name)
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._verdict: dict[str, Any] | None = None

    def get(self) -> dict[str, Any] | None:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._verdict = _read(self.path) if stamp is not None else None
                self._stamp = stamp
            return self._verdict
