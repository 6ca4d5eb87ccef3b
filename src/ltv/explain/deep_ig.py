"""Integrated gradients (Sundararajan et al. 2017) of a Keras `DeepModel`'s `ltv`, in currency.

Along the path of `deep_path` (straight in the network's signed-log coordinates, the
categories switching at t = 1/2), a continuous player i gets

    IG_i = (z_i - z'_i) . integral of d ltv / d z_i (z(t)) dt

(summed over the weeks of a sequence), with the gradient taken by TensorFlow through the
network and the ZILN post-processing (mean p exp(mu + sigma^2 / 2), label scale, cap,
balance factor). The gradients are taken on a copy of the network that starts after its
`SignedLog` layers, so the z coordinates are its inputs. The categories' jump at t = 1/2 is
split by exact Shapley values there.

Quadrature: the midpoint rule, adaptive. Each half of the path starts as `steps / 2`
intervals; gradients are taken at their midpoints, never at their edges (at t = 0 an input
that sits exactly on its training range's clip has a one-sided gradient, 1 / its ~0 spread,
which a trapezoid endpoint would multiply into thousands). The integrand is only piecewise
smooth (ReLU kinks, range clips, the cap on predictions), and an exp-shaped rise ending at
the cap puts a large error in the one interval that holds it (measured: 3.5% of the
prediction's change with 512 uniform trapezoid steps on a small network). Since `ltv` is
also computed at every edge, each interval's own error is known exactly: the change of `ltv`
across it minus its midpoint sum. The intervals with too large an error are split in two (the
old midpoint becomes an edge; two new midpoints are evaluated in one batched call) until the
summed interval errors are within `rtol` of the path's total variation (and of
|prediction - baseline|) or the midpoints reach `max_steps`. The remaining quadrature error
is reported as the explanation's `approximation_error`, never spread over features.

Cost: one batched call of a compiled gradient function on 2 steps + 2 + 2^k rows (k: attr_*
columns), then one per refinement round (a few rows each). Measured on Online Retail
(benchmarks/explain.py, GRU over 52 weeks): 81 ms per explanation (median; 200 gradient
nodes), after the first call's tracing. This module imports TensorFlow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ltv.errors import LTVError
from ltv.explain.deep_path import DeepPath, levels_for
from ltv.explain.deep_runtime import BASELINE, check_steps
from ltv.explain.result import Contribution, Explanation
from ltv.explain.rows import one_row
from ltv.explain.shapley import coalitions, shapley_values
from ltv.models.deep.inputs import CALENDAR, NUMERIC, SEQUENCE
from ltv.models.deep.mixture import LOG_CAP, SIGMA_CAP, SIGMA_FLOOR

MAX_ROUNDS = 12


class IntegratedGradientsExplainer:
    """`explain(row)` for a fitted Keras DeepModel against a baseline row (normally
    `rows.typical_customer(population)`)."""

    method = "integrated_gradients"

    def __init__(self, model, baseline_row: pd.DataFrame, steps: int = 64,
                 max_steps: int = 1024, rtol: float = 0.002):
        model._check_fitted()
        self.model = model
        self.baseline_row = one_row(baseline_row)
        model._check_features(self.baseline_row, model.inputs_.required_columns)
        self.steps, self.max_steps = check_steps(steps), check_steps(max_steps)
        self.rtol = float(rtol)
        self._network, self._names = z_network(model.network_)
        self._compiled = None  # the gradient function, traced on first use

    def explain(self, features: pd.DataFrame | dict) -> Explanation:
        row = one_row(features)
        m = self.model
        m._check_features(row, m.inputs_.required_columns)
        path = DeepPath(m.inputs_, self.baseline_row, row)
        cats = path.categories
        credit, jumps, nodes, (baseline, prediction) = self._attributions(path)
        error = prediction - baseline - float(credit.sum()) - sum(jumps.values())
        mass = float(np.abs(credit).sum()) + sum(abs(v) for v in jumps.values())
        values = path.values(row)
        contributions = [Contribution(p.feature, values[p.feature], float(c))
                         for p, c in zip(path.players, credit)]
        contributions += [Contribution(c, values[c], jumps[c]) for c in cats]
        return Explanation.build(
            customer_id=str(row.at[0, "customer_id"]), model=m.name, method=self.method,
            prediction=prediction, baseline=baseline, contributions=contributions,
            baseline_description=BASELINE, approximation_error=error,
            details={"steps": nodes, "relative_error": abs(error) / max(
                abs(prediction - baseline), mass, 1e-300)})

    def _attributions(self, path: DeepPath):
        """(IG per continuous player, Shapley credit per category, gradient nodes used,
        (ltv at the baseline, ltv of the customer)). The two ltv are the gradient network's
        (equal to `predict` to float32 precision: its inputs are z, computed in float64)."""
        k = len(path.categories)
        subsets = coalitions(path.categories)
        halves = []
        for h in (0, 1):
            edges = np.linspace(0.5 * h, 0.5 * (h + 1), self.steps // 2 + 1)
            halves.append(_Half(edges, np.full(k, bool(h))))
        mids = [half.edges[:-1] + np.diff(half.edges) / 2 for half in halves]
        money, along = self._run(path, [*(h.edges for h in halves), *mids],
                                 [*(h.levels for h in halves), *(h.levels for h in halves)],
                                 subsets)
        for h, half in enumerate(halves):
            half.f_edges = money[h]
            half.mids, half.f_mids, half.along = mids[h], money[2 + h], along[2 + h]
        jumps = shapley_values(dict(zip(subsets, money[4].tolist())), path.categories)
        variation = sum(float(np.abs(np.diff(h.f_edges)).sum()) for h in halves) + \
            sum(abs(v) for v in jumps.values())
        ends = (float(halves[0].f_edges[0]), float(halves[1].f_edges[-1]))
        tol = self.rtol * max(abs(ends[1] - ends[0]), variation)
        for _ in range(MAX_ROUNDS):
            errors = [h.errors() for h in halves]
            used = sum(len(h.mids) for h in halves)
            if sum(float(np.abs(e).sum()) for e in errors) <= tol or used >= self.max_steps:
                break
            # Split the intervals holding most of the error (two new midpoints each), within
            # the budget; the old midpoint becomes an edge, its ltv already known.
            flat = np.abs(np.concatenate(errors))
            room = max(1, (self.max_steps - used) // 2)
            cut = max(np.sort(flat)[::-1][min(room, len(flat)) - 1], tol / len(flat))
            split = [np.abs(e) >= cut for e in errors]
            quarters = [h.quarter_points(s) for h, s in zip(halves, split)]
            money, along = self._run(path, quarters, [h.levels for h in halves], [])
            for h, s, q, f, a in zip(halves, split, quarters, money, along):
                h.split(s, q, f, a)
        credit = sum((np.diff(h.edges)[:, None] * h.along).sum(axis=0) for h in halves)
        return credit, jumps, sum(len(h.mids) for h in halves), ends

    def _run(self, path: DeepPath, blocks: list[np.ndarray], levels: list[np.ndarray],
             subsets: list[frozenset]):
        """ltv and the per-player integrand (gradient . (z - z')) at the positions of each
        block (the block's categories `levels[i % len(levels)]`), then ltv at t = 1/2 for
        each subset of categories switched: one batched call. Returns per-block lists."""
        n, cats = len(path.players), path.categories
        t = np.concatenate([*blocks, np.full(len(subsets), 0.5)])[:, None] * np.ones(n)
        block_levels = [np.broadcast_to(levels[i % len(levels)], (len(b), len(cats)))
                        for i, b in enumerate(blocks)]
        lv = np.concatenate([*block_levels, levels_for(subsets, cats)]).astype(bool)
        money, grads = self._money_and_gradients(path.z_points(t, lv.reshape(len(t), -1)))
        deltas = path.deltas()
        along = np.zeros((len(t), n))
        for j, p in enumerate(path.players):
            g = grads[p.input]
            if p.input == SEQUENCE:
                along[:, j] = (g[:, :, p.index] * deltas[p.input][0, :, p.index]).sum(axis=1)
            else:
                along[:, j] = g[:, p.index] * deltas[p.input][0, p.index]
        bounds = np.cumsum([0, *(len(b) for b in blocks), len(subsets)])
        parts = [slice(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
        return [money[s] for s in parts], [along[s] for s in parts]

    def _money_and_gradients(self, inputs: dict[str, np.ndarray]):
        """ltv per row (float64) and d ltv / d input for the moving inputs, in one call of
        a compiled tf.function (eager TensorFlow is ~10x slower on a GRU over 52 weeks)."""
        import tensorflow as tf

        if self._compiled is None:
            self._compiled = self._compile()
        feed = [tf.constant(inputs[name]) if name in (NUMERIC, SEQUENCE, CALENDAR)
                else tf.constant(inputs[name].astype(str)) for name in self._names]
        money, grads = self._compiled(feed)
        moving = [k for k in self._names if k in (NUMERIC, SEQUENCE, CALENDAR)]
        return money.numpy(), {k: g.numpy().astype(float) for k, g in zip(moving, grads)}

    def _compile(self):
        import tensorflow as tf

        m, network, names = self.model, self._network, self._names
        moving = [i for i, k in enumerate(names) if k in (NUMERIC, SEQUENCE, CALENDAR)]
        signature = [tf.TensorSpec((None, *t.shape[1:]), t.dtype) for t in network.inputs]

        @tf.function(input_signature=[signature])
        def money_and_gradients(feed):
            watched = [feed[i] for i in moving]
            with tf.GradientTape() as tape:
                tape.watch(watched)
                logits = tf.cast(network(feed, training=False), tf.float64)
                money = ziln_money(tf, logits, m.label_scale_, m.max_spend_,
                                   m.balance_factor_)
                total = tf.reduce_sum(money)  # rows are independent: d total / d row = d f(row)
            return money, tape.gradient(total, watched)

        return money_and_gradients


class _Half:
    """One half of the path under the midpoint rule: interval edges with their ltv, and per
    interval the midpoint's ltv and integrand (midpoints, never edges, carry gradients: at
    t = 0 an input sitting exactly on its range clip has a one-sided, spurious gradient)."""

    def __init__(self, edges: np.ndarray, levels: np.ndarray):
        self.edges, self.levels = edges, levels
        self.f_edges = self.mids = self.f_mids = self.along = None

    def errors(self) -> np.ndarray:
        """Per interval: the exact change of ltv minus the midpoint rule's sum."""
        return np.diff(self.f_edges) - np.diff(self.edges) * self.along.sum(axis=1)

    def quarter_points(self, split: np.ndarray) -> np.ndarray:
        left, right = self.edges[:-1][split], self.edges[1:][split]
        mid = self.mids[split]
        return np.concatenate([(left + mid) / 2, (mid + right) / 2])

    def split(self, split: np.ndarray, quarters: np.ndarray, f: np.ndarray,
              along: np.ndarray) -> None:
        edges = np.concatenate([self.edges, self.mids[split]])
        f_edges = np.concatenate([self.f_edges, self.f_mids[split]])
        keep = ~split
        mids = np.concatenate([self.mids[keep], quarters])
        f_mids = np.concatenate([self.f_mids[keep], f])
        along_all = np.concatenate([self.along[keep], along])
        order, mid_order = np.argsort(edges, kind="stable"), np.argsort(mids, kind="stable")
        self.edges, self.f_edges = edges[order], f_edges[order]
        self.mids, self.f_mids, self.along = mids[mid_order], f_mids[mid_order], \
            along_all[mid_order]


def ziln_money(tf, logits, scale: float, max_spend: float, factor: float):
    """`DeepModel._money`'s ltv as a differentiable TensorFlow function of the logits."""
    p = tf.sigmoid(logits[:, 0])
    sigma = tf.clip_by_value(tf.nn.softplus(logits[:, 2]), SIGMA_FLOOR, SIGMA_CAP)
    mean = p * tf.exp(tf.minimum(logits[:, 1] + 0.5 * sigma ** 2, LOG_CAP))
    return tf.minimum(mean * scale, max_spend) * factor


def z_network(network):
    """(model, input names): `network` restarted after its SignedLog layers, so numeric and
    sequence inputs are z = signed_log(x); calendar and attr_* inputs as they are."""
    import keras

    from ltv.models.deep.layers import SignedLog

    inputs, names = [], []
    for tensor in network.inputs:
        name = tensor.name
        if name in (NUMERIC, SEQUENCE):
            start = [layer for layer in network.layers if isinstance(layer, SignedLog)
                     and layer.input is tensor]
            if len(start) != 1:
                raise LTVError(f"the network's '{name}' input does not start with one "
                               "SignedLog layer, which the explanation path assumes",
                               "explain this model with method='path_differences'")
            tensor = start[0].output
        inputs.append(tensor)
        names.append(name)
    return keras.Model(inputs=inputs, outputs=network.output), names
