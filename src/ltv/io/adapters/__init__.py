"""Format adapters: how each known public layout maps onto the canonical tables.

An adapter turns a staged source into plans (`ltv.io.plan.Plan`), one per target table. Add a
format by writing a module with an `ADAPTER` and listing it in `_MODULES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from ltv.errors import IngestError
from ltv.io.casting import Context
from ltv.io.plan import Plan
from ltv.io.sources import Part


def single_file(parts: list[Part]) -> list[Part]:
    for part in parts:
        if part.path is not None and part.path.is_dir():
            raise IngestError(f"{part.path} is a folder",
                              "pass one file (only --format complete-journey reads a folder)")
    return parts


@dataclass(frozen=True)
class Adapter:
    name: str
    doc: str
    plans: Callable[[Context, Part], list[Plan]]
    expand: Callable[[list[Part]], list[Part]] = single_file
    csv_options: Callable[[Part], dict] = field(default=lambda part: {})


_MODULES = {
    "canonical": "ltv.io.adapters.canonical",
    "uci-online-retail": "ltv.io.adapters.uci_online_retail",
    "complete-journey": "ltv.io.adapters.complete_journey",
    "rees46": "ltv.io.adapters.rees46",
    "taobao": "ltv.io.adapters.taobao",
}
_ALIASES = {
    "mapping": "canonical", "map": "canonical", "online-retail": "uci-online-retail",
    "uci": "uci-online-retail", "dunnhumby": "complete-journey",
    "completejourney": "complete-journey", "taobao-userbehavior": "taobao",
}
FORMATS = tuple(_MODULES)


def get_adapter(name: str) -> Adapter:
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    key = _ALIASES.get(key, key)
    if key not in _MODULES:
        raise IngestError(f"unknown format '{name}'",
                          f"use one of: {', '.join(FORMATS)} (--format); for another layout use "
                          "--format canonical with --map target=column")
    return importlib.import_module(_MODULES[key]).ADAPTER
