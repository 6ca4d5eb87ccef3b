"""A/B arms: stable across processes (not Python's salted hash), uniform, salted by name."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from ltv.serving.abtest import arm_for, bucket


def test_bucket_is_stable_across_processes():
    here = bucket("customer-42", "shop")
    code = "from ltv.serving.abtest import bucket; print(repr(bucket('customer-42', 'shop')))"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert float(there) == here


def test_buckets_are_uniform_and_salted():
    values = np.array([bucket(str(i), "shop") for i in range(20_000)])
    counts, _ = np.histogram(values, bins=10, range=(0, 1))
    assert np.all(np.abs(counts - 2000) < 4 * np.sqrt(2000 * 0.9))
    other = np.array([bucket(str(i), "other") for i in range(20_000)])
    assert abs(np.corrcoef(values, other)[0, 1]) < 0.05


def test_share_zero_and_one():
    assert {arm_for(str(i), "s", 0.0) for i in range(100)} == {"champion"}
    assert {arm_for(str(i), "s", 1.0) for i in range(100)} == {"challenger"}
