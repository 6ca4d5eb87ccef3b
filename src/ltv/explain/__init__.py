"""Per-prediction explanations: why a model predicts what it does for one customer.

`make_explainer(model, reference).explain(row)` returns an `Explanation`: the prediction, a
baseline, and every feature's signed contribution in currency, which sum exactly (up to a
reported integration error for integrated gradients) to prediction - baseline.

- GBDT: LightGBM's exact TreeSHAP, mapped from log/logit space to currency (`gbdt`);
- BTYD: exact Shapley values of frequency, recency and spend, with a sentence each (`btyd`);
- deep (Keras): integrated gradients from the typical customer (`deep_ig`, TensorFlow);
- deep (LiteRT, the server's): path differences, the same quantity without gradients
  (`deep_runtime`);
- ensemble: the members' explanations, weighted as in the blend (`ensemble`).

Importing this package imports neither TensorFlow nor LightGBM's training code; only the
integrated-gradients explainer imports TensorFlow, when it is built.
"""

from ltv.explain.factory import explain, make_explainer
from ltv.explain.result import Contribution, Drivers, Explanation
from ltv.explain.rows import typical_customer

__all__ = ["Contribution", "Drivers", "Explanation", "explain", "make_explainer",
           "typical_customer"]
