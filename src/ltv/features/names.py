"""Column names made from data values (category names, event types, attribute names)."""

from __future__ import annotations

import re


def slugify(value: object, fallback: str) -> str:
    """Lower-case ASCII letters, digits and single underscores: 'Home & Garden' -> home_garden."""
    slug = re.sub(r"[^0-9a-z]+", "_", str(value).lower()).strip("_")
    return slug or fallback


def unique_slugs(values: list, prefix: str, taken: set[str] | None = None) -> list[str]:
    """`prefix + slug` per value, with _2, _3... where two values give the same slug."""
    seen = set(taken or ())
    out = []
    for i, value in enumerate(values, start=1):
        base = prefix + slugify(value, str(i))
        name, n = base, 1
        while name in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        out.append(name)
    return out
