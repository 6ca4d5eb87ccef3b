"""One-row predictions through LightGBM's single-row fast C API.

`Booster.predict` builds a predictor and parses its parameters on every call: ~0.05-0.1 ms
for one row on this 2-core box, most of the cost of scoring one customer. The C API's
`LGBM_BoosterPredictForMatSingleRowFastInit` does that once and returns a handle that
`LGBM_BoosterPredictForMatSingleRowFast` reuses, which is what a server scoring one customer
per request wants. Same trees, same iteration limit, same transformation (NORMAL predictions,
e.g. exp of a tweedie score): the numbers equal `Booster.predict` exactly (tested).

The Python package exposes no wrapper for it, so it is called through the package's own
handle to the library (`lightgbm.basic._LIB`), as its own methods do.
"""

from __future__ import annotations

import ctypes
import threading

import lightgbm as lgb
import numpy as np
from lightgbm.basic import _LIB, _safe_call

_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL
_DTYPE = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}  # C_API_DTYPE_FLOAT32/64


class SingleRowPredictor:
    """`predict(row)` of one booster for one row (1-D, the booster's feature order)."""

    def __init__(self, booster: lgb.Booster, dtype=np.float32):
        self._booster = booster  # the handle below points into it: keep it alive
        self.dtype = np.dtype(dtype)
        self.n_features = booster.num_feature()
        iterations = booster.best_iteration if booster.best_iteration > 0 else -1
        self._handle = ctypes.c_void_p()
        _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle, ctypes.c_int(_PREDICT_NORMAL), ctypes.c_int(0),
            ctypes.c_int(iterations), ctypes.c_int(_DTYPE[self.dtype]),
            ctypes.c_int32(self.n_features), ctypes.c_char_p(b"num_threads=1"),
            ctypes.byref(self._handle)))
        self._out = np.zeros(1, dtype=np.float64)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._length = ctypes.c_int64()
        self._lock = threading.Lock()  # the handle's buffers are per config, not per call

    def predict(self, row: np.ndarray) -> float:
        row = np.ascontiguousarray(row, dtype=self.dtype)
        if row.shape != (self.n_features,):
            raise ValueError(f"expected one row of {self.n_features} features, got shape "
                             f"{row.shape}")
        with self._lock:
            _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFast(
                self._handle, row.ctypes.data_as(ctypes.c_void_p), ctypes.byref(self._length),
                self._out_ptr))
            return float(self._out[0])

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            _LIB.LGBM_FastConfigFree(handle)
