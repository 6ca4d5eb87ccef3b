"""Random streams: one numpy Generator per purpose, so the output does not depend on blocking.

numpy's Generator draws array elements one after another from its bit stream, so drawing n1
values and then n2 values gives the same numbers as drawing n1 + n2 at once. If every purpose
(order values, line quantities, ...) has its own generator and is drawn exactly once per block
of customers, in customer order, then the concatenated output of blocks of 7 customers equals
that of one block of all customers. `take` enforces the "once per block" rule, because a second
draw from the same stream within a block would silently break that equality.
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """Named, independent generators derived from one seed."""

    def __init__(self, seed: int):
        self._seed = seed
        self._generators: dict[str, np.random.Generator] = {}
        self._taken: set[str] = set()

    def take(self, name: str) -> np.random.Generator:
        """The generator for `name`; each name may be taken once per block."""
        if name in self._taken:
            raise RuntimeError(f"random stream {name!r} drawn twice in one block; give the second "
                               "draw its own stream name")
        self._taken.add(name)
        gen = self._generators.get(name)
        if gen is None:
            # The name's CRC, not its position, keys the stream, so adding a new purpose later
            # leaves the numbers of every existing one unchanged.
            seq = np.random.SeedSequence(self._seed, spawn_key=(zlib.crc32(name.encode()),))
            gen = self._generators[name] = np.random.Generator(np.random.PCG64(seq))
        return gen

    def next_block(self) -> None:
        """Start a new block: every stream may be drawn once more."""
        self._taken.clear()
