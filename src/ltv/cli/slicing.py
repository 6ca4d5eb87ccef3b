"""The segments `ltv backtest` and `ltv monitor` slice their metrics by, besides attributes.

Evaluation and monitoring sit below `ltv.profiles` (which imports evaluation), so they take
the segmentation as a function; this module is where the command line wires it in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def segment_groups(features: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """customer_id, rfm_segment, ltv_tier for each row of `features` (as of one cutoff).

    The RFM cut points and the LTV tier thresholds (`ltv.profiles.segments.SegmentRules`) are
    fitted on these same customers: features before the cutoff and the predictions made at
    it (`predictions`: customer_id, ltv), so no label is involved. A customer without a
    prediction has no tier; one with returns only has no RFM segment (both None).
    """
    from ltv.profiles.segments import SegmentRules

    ids = features["customer_id"].astype(str)
    by_id = predictions.assign(customer_id=predictions["customer_id"].astype(str))
    ltv = by_id.drop_duplicates("customer_id").set_index("customer_id")["ltv"]
    ltv = ltv.reindex(ids).to_numpy(dtype=float)
    known = np.isfinite(ltv)
    rules = SegmentRules().fit(features[known], ltv[known])
    out = rules.assign(features, np.where(known, ltv, np.nan))
    return out[["customer_id", "rfm_segment", "ltv_tier"]]
