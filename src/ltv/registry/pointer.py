"""The champion pointer `<root>/<name>/pointer.json`: {"champion": N, "history": [...]}.

`history` is the stack of earlier champions, oldest first: promote pushes the current champion,
rollback pops the last one. Updates hold an exclusive lock on `<root>/<name>/.pointer.lock`
(read-modify-write) and replace the file atomically (temp file, fsync, os.replace), so a reader
sees either the old pointer or the new one.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ltv.registry import layout
from ltv.registry.errors import RegistryError
from ltv.registry.files import atomic_write_json
from ltv.registry.manifest import utc_now

LOCK = ".pointer.lock"
EMPTY: dict[str, Any] = {"champion": None, "history": []}


def read_pointer(model_root: Path) -> dict[str, Any]:
    path = model_root / layout.POINTER
    if not path.is_file():
        return dict(EMPTY, history=[])
    try:
        pointer = json.loads(path.read_text())
        champion, history = pointer["champion"], pointer["history"]
        if not (champion is None or (type(champion) is int and champion > 0)):
            raise ValueError("champion")
        if not all(type(v) is int and v > 0 for v in history):
            raise ValueError("history")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise RegistryError(f"{path} cannot be read ({type(err).__name__}: {err})",
                            "fix it by hand or remove it and promote a version again "
                            "(`ltv registry promote`)") from None
    return pointer


@contextmanager
def locked(model_root: Path) -> Iterator[None]:
    """Serialize pointer updates between processes."""
    model_root.mkdir(parents=True, exist_ok=True)
    fd = os.open(model_root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def write_pointer(model_root: Path, champion: int | None, history: list[int]) -> dict[str, Any]:
    pointer = {"champion": champion, "history": history, "updated_at": utc_now()}
    atomic_write_json(model_root / layout.POINTER, pointer)
    return pointer
