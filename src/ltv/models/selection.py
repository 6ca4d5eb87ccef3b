"""From the `--models` option to a model: one family, or an `auto` blend over several."""

from __future__ import annotations

from ltv.errors import LTVError
from ltv.models.protocol import LTVModel

FAMILY_CHOICES = ("btyd", "gbdt", "deep", "auto")
# The candidates of the auto blend that each family contributes (see ensemble.DEFAULT_CANDIDATES).
FAMILY_CANDIDATES = {"btyd": ("btyd", "paretonbd"), "gbdt": ("gbdt", "hurdle"), "deep": ("deep",)}


def parse_families(text: str | None) -> list[str]:
    families = [f.strip() for f in (text or "auto").split(",") if f.strip()]
    unknown = [f for f in families if f not in FAMILY_CHOICES]
    if unknown or not families:
        raise LTVError(f"unknown model family '{unknown[0] if unknown else text}'",
                       f"use a comma-separated list of: {', '.join(FAMILY_CHOICES)}")
    return families


def model_for(text: str | None) -> LTVModel:
    """'auto' -> blend of all candidates; 'btyd' -> that family; 'btyd,gbdt' -> blend of those."""
    from ltv.models.ensemble import EnsembleModel
    from ltv.models.registry import make_model

    families = parse_families(text)
    if families == ["auto"]:
        return EnsembleModel()
    if len(families) == 1:
        return make_model(families[0])
    if "auto" in families:
        raise LTVError("'auto' already blends every family", "use --models auto alone, or list "
                       "the families to blend, e.g. --models btyd,gbdt")
    candidates = tuple(c for f in families for c in FAMILY_CANDIDATES.get(f, (f,)))
    return EnsembleModel(candidates=candidates, alias="+".join(families))
