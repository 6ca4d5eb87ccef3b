"""ltv: customer lifetime value prediction and user profiling.

The public API is imported lazily so that `import ltv` (and the CLI's light commands) stay fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API = {
    "ingest": "ltv.io.ingest",
    "build_features": "ltv.features.build",
    "simulate": "ltv.simulate",
    "validate": "ltv.schema",
    "connect": "ltv.warehouse",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'ltv' has no attribute {name!r}")
