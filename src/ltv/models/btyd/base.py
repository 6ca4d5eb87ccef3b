"""What every BTYD model shares: parameters, the maximum-likelihood driver, save/load.

Fitting maximises the (weighted) log-likelihood over log-parameters with L-BFGS-B and an
analytic gradient. The objective is the mean negative log-likelihood per customer plus
`penalizer * sum(log(param)^2)`: an L2 pull of each parameter towards 1 that does not grow
with the number of customers (so the same penalizer means the same thing on 1k or 1M rows).
"""

from __future__ import annotations

import warnings
from typing import Callable, ClassVar

import numpy as np
from scipy import optimize

from ltv.errors import LTVError, NotFittedError

# Log-parameters stay within [1e-8, 1e8]: wide enough for days or years, narrow enough that
# no intermediate overflows while the line search explores.
_LOG_BOUND = float(np.log(1e8))


class BTYDModel:
    """Base class. Subclasses set `_param_names` and implement `_start` and `_loglik_grad`."""

    _param_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, penalizer: float = 0.0):
        self.penalizer = penalizer

    # -- state ---------------------------------------------------------------------------

    def _check_fitted(self, method: str) -> dict[str, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"{type(self).__name__}.{method}() was called before the model was fitted",
                f"call {type(self).__name__}(...).fit(...) first, or load a saved model with "
                f"{type(self).__name__}.from_dict(d)")
        return self.params_

    def _check_penalizer(self) -> float:
        pen = self.penalizer
        if not (np.isscalar(pen) and np.isfinite(pen) and pen >= 0):
            raise LTVError(f"penalizer={pen!r} is not a finite number >= 0",
                           "use 0 (plain maximum likelihood) or a small value such as 0.001")
        return float(pen)

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        else:
            inner = f"penalizer={self.penalizer!r}, not fitted"
        return f"{type(self).__name__}({inner})"

    # -- fitting -------------------------------------------------------------------------

    def _maximise(self, loglik_grad: Callable, total_weight: float, starts: list[np.ndarray]):
        """Maximise loglik over log-params from each start in turn; keep the best.

        `loglik_grad(params)` returns (sum of weighted log-likelihoods, gradient w.r.t. params).
        A later start is only tried when the earlier ones did not converge.
        """
        pen = self._check_penalizer()

        def objective(log_params):
            params = np.exp(log_params)
            ll, grad = loglik_grad(params)
            f = -ll / total_weight + pen * np.sum(log_params ** 2)
            g = -grad * params / total_weight + 2.0 * pen * log_params
            if not (np.isfinite(f) and np.all(np.isfinite(g))):
                # Tell the line search to step back rather than crash on a NaN.
                return 1e100, np.zeros_like(log_params)
            return f, g

        best = None
        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(self._param_names)
        for start in starts:
            x0 = np.clip(np.log(np.asarray(start, dtype=float)), -_LOG_BOUND, _LOG_BOUND)
            res = optimize.minimize(objective, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                    options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9})
            if best is None or res.fun < best.fun:
                best = res
            if res.success:
                break
        params = np.exp(best.x)
        ll, _ = loglik_grad(params)
        self.params_ = {k: float(v) for k, v in zip(self._param_names, params)}
        self.loglik_ = float(ll)
        self.converged_ = bool(best.success)
        self.n_iter_ = int(best.nit)
        if not best.success:
            warnings.warn(f"{type(self).__name__}.fit did not converge ({best.message}); "
                          f"parameters {self.params_} may be off. Try a small penalizer "
                          "(e.g. 0.001) or check the data for outliers.", RuntimeWarning,
                          stacklevel=3)
        hit = np.abs(best.x) >= _LOG_BOUND - 1e-6
        if hit.any():
            names = [n for n, h in zip(self._param_names, hit) if h]
            warnings.warn(f"{type(self).__name__}.fit: {names} reached the bound 1e-8 or 1e8; "
                          "the data barely identify them. A small penalizer keeps them finite.",
                          RuntimeWarning, stacklevel=3)
        return self

    # -- save / load ---------------------------------------------------------------------

    def to_dict(self) -> dict:
        """JSON-able state: class name, hyperparameters, fitted parameters and fit summary."""
        self._check_fitted("to_dict")
        return {"model": type(self).__name__, "format": 1, "penalizer": float(self.penalizer),
                "params": dict(self.params_), "loglik": self.loglik_, "n": self.n_,
                "converged": self.converged_}

    @classmethod
    def from_dict(cls, d: dict):
        """Rebuild a fitted model from `to_dict()`'s output (e.g. after a JSON round trip)."""
        if d.get("model") != cls.__name__:
            raise LTVError(f"this dict holds a {d.get('model')!r} model, not a {cls.__name__}",
                           f"load it with {d.get('model')}.from_dict instead")
        params = d.get("params", {})
        missing = [k for k in cls._param_names if k not in params]
        if missing:
            raise LTVError(f"{cls.__name__} dict is missing parameters {missing}",
                           "pass the dict produced by to_dict(), unchanged")
        model = cls(penalizer=d.get("penalizer", 0.0))
        model.params_ = {k: float(params[k]) for k in cls._param_names}
        model.loglik_ = d.get("loglik")
        model.n_ = d.get("n")
        model.converged_ = d.get("converged")
        return model

    def _param_array(self, method: str) -> tuple[float, ...]:
        p = self._check_fitted(method)
        return tuple(p[k] for k in self._param_names)
