"""Gradient-boosted trees (LightGBM): `GBDTModel`. See `model` for the overview."""

from ltv.models.gbdt.model import GBDTModel

__all__ = ["GBDTModel"]
