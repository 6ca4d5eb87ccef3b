"""BTYD ("buy till you die") models: the numerical layer.

- `BetaGeo` (BG/NBD) and `ParetoNBD`: purchase counts and P(alive) from (frequency, recency, T).
- `GammaGamma`: expected spend per transaction from (frequency, monetary_value).
- `customer_lifetime_value`: discounted expected spend over a horizon.
- `predictive_interval`: posterior-predictive intervals of a horizon's purchases and spend.

Units: recency, T and every horizon are in days; spend is in the currency of monetary_value.
Each model has fit(...) -> self, learned `params_`, `loglik_`, `n_`, and to_dict / from_dict
for saving; predicting before fit raises `ltv.errors.NotFittedError`.
"""

from ltv.models.btyd.bgnbd import BetaGeo
from ltv.models.btyd.clv import customer_lifetime_value
from ltv.models.btyd.gammagamma import GammaGamma
from ltv.models.btyd.intervals import predictive_interval
from ltv.models.btyd.paretonbd import ParetoNBD

__all__ = ["BetaGeo", "ParetoNBD", "GammaGamma", "customer_lifetime_value",
           "predictive_interval"]
