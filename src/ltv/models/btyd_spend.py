"""The spend half of `BTYDModel`: Gamma-Gamma with a fallback when its fit is degenerate.

Gamma-Gamma's population mean spend is p v / (q - 1): a fit with q <= 1 (which heavy-tailed
order values produce) says one-time buyers spend infinitely much, and `conditional_expected_
spend` refuses it. A fit with q barely above 1 is finite but driven by the tail. So a fit is
accepted only when q > 1 and its population mean is at most `MAX_MEAN_RATIO` times the observed
mean. Otherwise, in turn:

1. "gamma_gamma_capped": refit on monetary values capped at their `CAP_QUANTILE` quantile
   (the same cap is applied when predicting), which removes the tail that drove q down;
2. "shrunk_mean": no Gamma-Gamma at all. A customer's spend per purchase is
   (x zbar + M) / (x + 1), with M the mean capped monetary value of repeat customers: their own
   mean shrunk towards the population's, with the weight Gamma-Gamma itself would give when
   q - 1 = p. Crude, but finite and still ordered by what each customer spent.

(A stronger penalizer does not help here: the penalty pulls log q towards 0, i.e. q towards 1.)

Money is in the currency of monetary_value. Both fits run on monetary values divided by their
mean, so that the penalizer (which pulls log-parameters towards 0) does not depend on the
currency; v is scaled back afterwards (Gamma-Gamma is scale-equivariant: p, q unchanged).
"""

from __future__ import annotations

import warnings

import numpy as np

from ltv.errors import LTVError
from ltv.models.btyd import GammaGamma

CAP_QUANTILE = 0.99
MAX_MEAN_RATIO = 10.0
METHODS = ("gamma_gamma", "gamma_gamma_capped", "shrunk_mean")


def fit_spend(x: np.ndarray, m: np.ndarray, penalizer: float) -> tuple[str, dict[str, float]]:
    """(method, params) for the spend model; params hold p, q, v (currency) and/or cap, mean.

    Only repeat customers with a positive monetary_value inform the fit.
    """
    use = (x > 0) & (m > 0)
    if not use.any():
        raise LTVError("no customer in the training snapshot has a repeat purchase with a "
                       "positive monetary_value, so the spend per purchase cannot be learned",
                       "train on a longer history (an earlier first date or a later cutoff)")
    xr, mr = x[use], m[use]
    scale = float(mr.mean())
    params = _try_gamma_gamma(xr, mr / scale, penalizer)
    if params is not None:
        return "gamma_gamma", {**params, "v": params["v"] * scale}
    cap = float(np.quantile(mr, CAP_QUANTILE))
    capped = np.minimum(mr, cap)
    cap_scale = float(capped.mean())
    params = _try_gamma_gamma(xr, capped / cap_scale, penalizer)
    if params is not None:
        _warn(f"monetary values capped at their {CAP_QUANTILE:.0%} quantile ({cap:.4g})")
        return "gamma_gamma_capped", {**params, "v": params["v"] * cap_scale, "cap": cap}
    _warn("each customer's mean spend shrunk towards the population mean instead")
    return "shrunk_mean", {"mean": cap_scale, "cap": cap}


def _try_gamma_gamma(x: np.ndarray, m: np.ndarray, penalizer: float) -> dict[str, float] | None:
    """Fitted {p, q, v} on unit-mean monetary values, or None when the fit is degenerate."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            gg = GammaGamma(penalizer=penalizer).fit(x, m)
        except (LTVError, FloatingPointError, ValueError):
            return None
    p, q, v = (gg.params_[k] for k in ("p", "q", "v"))
    if not (q > 1.0 and np.isfinite(p * v / (q - 1.0))
            and p * v / (q - 1.0) <= MAX_MEAN_RATIO * float(m.mean())):
        return None
    spurious = not gg.converged_ and _at_optimum(gg, x, m, penalizer)
    for w in caught:  # an accepted fit's warnings (e.g. not converged) still matter
        if not (spurious and "did not converge" in str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return {"p": p, "q": q, "v": v}


def _at_optimum(gg: GammaGamma, x: np.ndarray, m: np.ndarray, penalizer: float) -> bool:
    """True when the penalized objective's gradient is ~0 at the fitted parameters.

    L-BFGS-B stops with "ABNORMAL" when its line search cannot improve the objective any more
    at the precision floor, which happens at the optimum itself; the fit then warns that it
    did not converge. A central-difference gradient in log-parameters tells the two apart.
    """
    names = ("p", "q", "v")
    base = np.log([gg.params_[k] for k in names])

    def objective(log_params: np.ndarray) -> float:
        trial = GammaGamma.from_dict({"model": "GammaGamma",
                                      "params": dict(zip(names, np.exp(log_params)))})
        return float(-trial.loglik(x, m).mean() + penalizer * np.sum(log_params ** 2))

    step = 1e-5
    grad = [(objective(base + step * e) - objective(base - step * e)) / (2 * step)
            for e in np.eye(len(names))]
    return bool(np.max(np.abs(grad)) < 1e-6)


def _warn(what: str) -> None:
    warnings.warn("BTYDModel: the Gamma-Gamma spend fit is degenerate (q <= 1 or an implausible "
                  f"population mean: heavy-tailed order values); {what}. See "
                  "ltv.models.btyd_spend.", RuntimeWarning, stacklevel=4)


def spend_model(method: str, params: dict[str, float]) -> GammaGamma | None:
    """The fitted GammaGamma for the gamma_gamma methods, None for shrunk_mean."""
    if method == "shrunk_mean":
        return None
    return GammaGamma.from_dict({"model": "GammaGamma", "params": params})


def capped(params: dict[str, float], m: np.ndarray) -> np.ndarray:
    """monetary_value as the spend model sees it (capped when it was fitted on capped values)."""
    return np.minimum(m, params["cap"]) if "cap" in params else m


def expected_spend(method: str, params: dict[str, float], x: np.ndarray,
                   m: np.ndarray) -> np.ndarray:
    """Expected value of one future purchase per customer, in currency.

    Customers with frequency 0 or monetary_value <= 0 get the population mean.
    """
    m = capped(params, m)
    gg = spend_model(method, params)
    if gg is not None:
        return gg.conditional_expected_spend(x, m)
    xs = np.where(m > 0, x, 0.0)
    return (xs * np.maximum(m, 0.0) + params["mean"]) / (xs + 1.0)
