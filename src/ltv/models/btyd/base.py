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
# L-BFGS-B stops when an iteration lowers the objective by less than _FTOL, relatively, or
# when no component of the gradient w.r.t. the log-parameters exceeds _GTOL.
_FTOL = 1e-14
_GTOL = 1e-9


class _Converged(Exception):
    """Raised inside `BTYDModel._polish`'s objective to stop L-BFGS-B at a converged point."""


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

    def _objective(self, loglik_grad: Callable, total_weight: float) -> Callable:
        """f(log_params) -> (objective, gradient, loglik): the mean negative log-likelihood per
        unit of weight plus the penalty, with its gradient w.r.t. the log-parameters.

        Remembers its last few points: L-BFGS-B evaluates its start and often its final point
        twice, and `_maximise` reads the log-likelihood of the final point once more.
        """
        pen = self._check_penalizer()
        memo: dict[bytes, tuple] = {}

        def objective(log_params):
            log_params = np.asarray(log_params, dtype=float)
            key = log_params.tobytes()
            if key in memo:
                f, g, ll = memo[key]
                return f, g.copy(), ll
            params = np.exp(log_params)
            ll, grad = loglik_grad(params)
            f = -ll / total_weight + pen * np.sum(log_params ** 2)
            g = -grad * params / total_weight + 2.0 * pen * log_params
            if not (np.isfinite(f) and np.all(np.isfinite(g))):
                # Tell the line search to step back rather than crash on a NaN.
                f, g = 1e100, np.zeros_like(log_params)
            if len(memo) >= 4:
                memo.pop(next(iter(memo)))
            memo[key] = (f, g, ll)
            return f, g.copy(), ll

        return objective

    def _log_hessian(self, loglik_grad: Callable, total_weight: float,
                     params: np.ndarray, step: float = 1e-5) -> np.ndarray:
        """Hessian of the objective (see `_objective`) w.r.t. the log-parameters at `params`,
        by forward differences of the analytic gradient (one evaluation per parameter, plus
        one). Relative error ~1e-5: plenty for whitening coordinates (`_polish`)."""
        objective = self._objective(loglik_grad, total_weight)
        theta = np.log(np.asarray(params, dtype=float))
        g0 = objective(theta)[1]
        k = theta.size
        hess = np.empty((k, k))
        for j in range(k):
            e = np.zeros(k)
            e[j] = step
            hess[:, j] = (objective(theta + e)[1] - g0) / step
        return (hess + hess.T) / 2.0

    def _maximise(self, loglik_grad: Callable, total_weight: float, starts: list[np.ndarray],
                  warm: tuple[np.ndarray, np.ndarray] | None = None,
                  ftol: float | None = None):
        """Maximise loglik over log-params from each start in turn; keep the best.

        `loglik_grad(params)` returns (sum of weighted log-likelihoods, gradient w.r.t. params).
        A later start is only tried when the earlier ones did not converge.

        `warm` = (params, hessian), typically from a fit on a subsample and `_log_hessian` of
        that fit's objective, is tried first (`_polish`): L-BFGS-B in coordinates that the
        Hessian makes nearly isotropic, so that a near-optimal start needs a handful of
        evaluations instead of the ~20 that L-BFGS-B spends learning the curvature. Same
        objective and the same relative tolerance on it; if that does not converge inside the
        bounds, the plain starts run as without it. `ftol` overrides the relative tolerance
        (for a fit whose only use is a starting point).
        """
        ftol = _FTOL if ftol is None else ftol
        objective = self._objective(loglik_grad, total_weight)
        best = self._polish(objective, *warm, ftol=ftol) if warm is not None else None
        if best is None:
            bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(self._param_names)
            for start in starts:
                x0 = np.clip(np.log(np.asarray(start, dtype=float)), -_LOG_BOUND, _LOG_BOUND)
                res = optimize.minimize(lambda th: objective(th)[:2], x0, jac=True,
                                        method="L-BFGS-B", bounds=bounds,
                                        options={"maxiter": 2000, "ftol": ftol, "gtol": _GTOL})
                if best is None or res.fun < best.fun:
                    best = res
                if res.success:
                    break
        params = np.exp(best.x)
        ll = objective(best.x)[2]
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

    @staticmethod
    def _polish(objective: Callable, params: np.ndarray, hess: np.ndarray, ftol: float = _FTOL):
        """Minimise `objective` from log(params) in whitened coordinates; None on failure.

        With H^-1 = L L^T, theta = theta0 + c L y has Hessian ~ c^2 I in y, and c = |L^T g0|
        (the length of the Newton step in whitened units) makes the first, unit-length step
        of L-BFGS-B the Newton step. Unbounded in y, so a result outside the bounds, or one
        that did not converge, is refused.

        Stopping rules: L-BFGS-B's relative reduction `ftol`, as for the plain starts, and two
        tests on every point evaluated (no worse than the best so far): every component of
        the gradient w.r.t. the log-parameters at most _GTOL (the plain starts' gradient
        test), or the Newton decrement g^T H^-1 g / 2 = |L^T g|^2 / 2, the decrease a Newton
        step would still bring, at most `ftol` * |f| / 10 (a tenth of what L-BFGS-B's own
        `ftol` test lets one iteration bring). Near the optimum the objective's rounding noise
        (~1e-15 relative on 1M customers) otherwise defeats the line search's sufficient-
        decrease test: it either spends ten evaluations there or gives up ("ABNORMAL") at a
        point that is already optimal to that tolerance.
        """
        theta0 = np.log(np.asarray(params, dtype=float))
        if not (np.all(np.isfinite(theta0)) and np.all(np.abs(theta0) < _LOG_BOUND)
                and np.all(np.isfinite(hess))):
            return None
        try:
            chol = np.linalg.cholesky(np.linalg.inv(hess))
        except np.linalg.LinAlgError:  # not positive definite: no useful curvature
            return None
        f0, g0, _ = objective(theta0)
        if f0 >= 1e100:
            return None
        c = float(np.linalg.norm(chol.T @ g0)) or 1.0
        scale = c * chol
        done: dict = {}
        nit = [0]

        best = [f0]

        def whitened(y):
            theta = theta0 + scale @ y
            f, g, _ = objective(theta)
            if f < 1e100 and f <= best[0] + ftol * max(abs(best[0]), 1.0):
                best[0] = min(best[0], f)
                newton_decrement = 0.5 * float(np.sum((chol.T @ g) ** 2))
                if (np.max(np.abs(g)) <= _GTOL
                        or newton_decrement <= 0.1 * ftol * max(abs(f), 1.0)):
                    done.update(x=theta, fun=f)
                    raise _Converged
            return f, scale.T @ g

        def count(_):
            nit[0] += 1

        try:
            res = optimize.minimize(whitened, np.zeros(theta0.size), jac=True,
                                    method="L-BFGS-B", callback=count,
                                    options={"maxiter": 200, "ftol": ftol, "gtol": 0.0})
        except _Converged:
            res = optimize.OptimizeResult(x=None, fun=done["fun"], success=True, nit=nit[0],
                                          message="gradient or Newton decrement below tolerance")
            theta = done["x"]
        else:
            theta = theta0 + scale @ res.x
        if not (res.success and np.all(np.abs(theta) < _LOG_BOUND - 1e-6)):
            return None
        return optimize.OptimizeResult(x=theta, fun=res.fun, success=True, nit=res.nit,
                                       message=res.message)

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
