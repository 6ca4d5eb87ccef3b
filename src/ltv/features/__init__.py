"""Point-in-time features and labels, in SQL run by DuckDB. See `ltv.features.build`."""

from ltv.features.build import build_features
from ltv.features.summary import btyd_summary

__all__ = ["btyd_summary", "build_features"]
