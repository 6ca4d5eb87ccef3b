"""Validation origins: no inner window sees its validation window's labels."""

from __future__ import annotations

import pandas as pd
import pytest

from ltv.errors import LTVError
from ltv.models.protocol import TrainingData
from ltv.models.validation import validation_split, validation_splits


def data(origins, horizon=30):
    rows = [{"customer_id": c, "cutoff": pd.Timestamp(o), "x": 1.0, "label_spend": 1.0,
             "label_active": 1} for o in origins for c in ("a", "b")]
    return TrainingData(windows=pd.DataFrame(rows), snapshot=None, horizon_days=horizon,
                        cutoff=pd.Timestamp(origins[0]) + pd.Timedelta(days=horizon))


def test_each_origin_trains_only_on_windows_labeled_before_it():
    origins = pd.date_range("2023-01-01", periods=8, freq="10D")[::-1]
    splits = validation_splits(data(origins), max_origins=3)
    assert [s[0].cutoff for s in splits] == list(origins[:3])
    for inner, validation in splits:
        assert (validation["cutoff"] == inner.cutoff).all()
        assert (inner.windows["cutoff"] + pd.Timedelta(days=30) <= inner.cutoff).all()
        assert len(inner.windows) > 0
        assert "label_spend" not in inner.snapshot
    # Origins 0, 1, 2 keep windows 3.., 4.., 5.. (labels end by their origin).
    assert [inner.windows["cutoff"].nunique() for inner, _ in splits] == [5, 4, 3]
    assert validation_split(data(origins))[0].cutoff == origins[0]


def test_origins_without_earlier_labeled_windows_are_skipped_or_refused():
    origins = pd.date_range("2023-01-01", periods=4, freq="10D")[::-1]
    assert len(validation_splits(data(origins), max_origins=3)) == 1
    with pytest.raises(LTVError, match="not enough history"):
        validation_splits(data(origins[:2]))
