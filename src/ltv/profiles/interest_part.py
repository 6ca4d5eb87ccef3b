"""The interests part of a profile: which categories a customer will likely buy or browse.

`InterestsPart` adds `top_interests` (the likeliest categories, most likely first, joined by
"|") and one `interest_<slug>` probability per category, from an `InterestModel` fitted on
windows that end by the cutoff (or the caller's fitted one). A warehouse without categories,
or with too little history to hold a validation window out, gets no interest columns and a
note in the profile's attrs saying why, instead of failing the whole profile.
"""

from __future__ import annotations

import pandas as pd

from ltv.profiles.interest_sources import InterestError
from ltv.profiles.interests import InterestModel


class InterestsPart:
    name = "interests"

    def __init__(self, model: InterestModel | None = None):
        self.model = model

    def build(self, ctx, profile: pd.DataFrame) -> pd.DataFrame:
        try:
            model = self.model
            if model is None:
                model = InterestModel(horizon=ctx.horizon_days).fit(ctx.db, ctx.cutoff)
            predicted = model.predict(ctx.db, ctx.cutoff)
        except InterestError as err:
            ctx.info[self.name] = {"skipped": err.problem}
            return profile[["customer_id"]].iloc[:0]
        ctx.info[self.name] = {"strategy": model.strategy_,
                               "columns": dict(model.columns_),  # category -> column
                               "source": "given model" if self.model is not None
                               else "fitted on windows ending by the cutoff"}
        return predicted
