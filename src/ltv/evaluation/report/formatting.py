"""How numbers are written in the report (one place, so the tests can check cells exactly)."""

from __future__ import annotations

import math

DASH = "\u2014"  # an undefined value (nan) or one not given


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def ratio(value, digits: int = 3) -> str:
    """A unitless score: Gini, Spearman, AUC, R², Brier -> '0.412'."""
    return DASH if _missing(value) else f"{value:.{digits}f}"


def percent(value, digits: int = 1) -> str:
    """A share or a relative error: 0.4567 -> '45.7%'."""
    return DASH if _missing(value) else f"{100 * value:.{digits}f}%"


def signed_percent(value, digits: int = 1) -> str:
    """A bias: 0.052 -> '+5.2%', -0.1 -> '-10.0%' (the sign is the point)."""
    return DASH if _missing(value) else f"{100 * value:+.{digits}f}%"


def money(value, digits: int = 2) -> str:
    """Currency units with thousands separators: 1234.5 -> '1,234.50'."""
    return DASH if _missing(value) else f"{value:,.{digits}f}"


def count(value) -> str:
    return DASH if _missing(value) else f"{int(value):,}"
