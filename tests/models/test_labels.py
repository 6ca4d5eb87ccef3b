"""`holdout_split`: which windows train and validate early stopping, checked by window date."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from ltv.models.labels import holdout_split


def windows(origins, customers=("a", "b", "c")) -> pd.DataFrame:
    rows = [{"customer_id": c, "cutoff": pd.Timestamp(o), "label_spend": 1.0, "label_active": 1}
            for o in origins for c in customers]
    return pd.DataFrame(rows)


def dates(frame, mask) -> list[str]:
    return sorted(str(d.date()) for d in pd.to_datetime(frame.loc[mask, "cutoff"]).unique())


def test_training_side_keeps_only_windows_labeled_by_the_latest_origin():
    # 12 windows, stride 14 days, H = 90 (what training_windows(90) builds): the latest
    # origin is 2023-06-12; only origins up to 2023-03-14 (= 06-12 - 90 d) have labels that
    # end by it, i.e. windows 7..11 (98..154 days earlier). Windows 1..6 are on no side.
    origins = pd.date_range(end="2023-06-12", periods=12, freq="14D")[::-1]
    frame = windows(origins)
    split = holdout_split(frame, horizon_days=90)
    assert split.how == "gapped latest window"
    assert dates(frame, split.valid) == ["2023-06-12"]
    assert dates(frame, split.train) == ["2023-01-09", "2023-01-23", "2023-02-06",
                                         "2023-02-20", "2023-03-06"]
    assert not (split.train & split.valid).any()
    assert (frame.loc[split.train, "cutoff"] + pd.Timedelta(days=90)
            <= frame.loc[split.valid, "cutoff"].min()).all()
    assert int(split.train.sum()) == 5 * 3 and int(split.valid.sum()) == 3


def test_a_window_ending_exactly_at_the_latest_origin_counts():
    frame = windows(["2023-04-01", "2023-01-01", "2022-12-31"])  # 2023-01-01 + 90 d = 04-01
    split = holdout_split(frame, horizon_days=90)
    assert split.how == "gapped latest window"
    assert dates(frame, split.train) == ["2022-12-31", "2023-01-01"]
    assert dates(frame, split.valid) == ["2023-04-01"]
    # One day short of the gap: excluded.
    short = holdout_split(windows(["2023-04-01", "2023-01-02"]), horizon_days=90)
    assert short.how == "latest window"


def test_windows_spanning_less_than_a_horizon_fall_back_to_every_earlier_window():
    # Complete Journey at its cutoff: 9 windows, 2017-03-13..2017-07-03, H = 91. The gapped
    # rule applies to the final fit, while auto's inner fit at 2017-07-03 keeps two windows
    # 14 days apart: no gap possible, so the earlier one trains (labels overlap).
    origins = pd.date_range(end="2017-07-03", periods=9, freq="14D")[::-1]
    frame = windows(origins)
    final = holdout_split(frame, horizon_days=91)
    assert final.how == "gapped latest window"
    assert dates(frame, final.train) == ["2017-03-13", "2017-03-27"]
    inner = windows(["2017-03-27", "2017-03-13"])
    split = holdout_split(inner, horizon_days=91)
    assert split.how == "latest window"
    assert dates(inner, split.train) == ["2017-03-13"]
    assert dates(inner, split.valid) == ["2017-03-27"]
    np.testing.assert_array_equal(split.train, ~split.valid)


def test_without_a_horizon_the_split_is_the_ungapped_latest_window():
    origins = pd.date_range(end="2023-06-12", periods=12, freq="14D")[::-1]
    frame = windows(origins)
    split = holdout_split(frame)
    assert split.how == "latest window"
    assert dates(frame, split.valid) == ["2023-06-12"]
    assert len(dates(frame, split.train)) == 11
    np.testing.assert_array_equal(split.train, ~split.valid)


def test_one_window_still_splits_by_customer_hash():
    customers = tuple(f"c{i}" for i in range(200))
    frame = windows(["2023-01-01"], customers)
    split = holdout_split(frame, horizon_days=90)
    expected = np.array([zlib.crc32(c.encode()) % 5 == 0 for c in customers])
    assert split.how == "customer hash"
    np.testing.assert_array_equal(split.valid, expected)
    np.testing.assert_array_equal(split.train, ~expected)
