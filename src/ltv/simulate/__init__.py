"""Synthetic shops with known ground truth.

`simulate(n_customers, out)` streams a population drawn from Pareto/NBD purchases, Gamma-Gamma
spend, seasonality, baskets, returns and browsing sessions to Parquet, with one ground-truth
row per customer (true rates, alive state, closed-form expected purchases and spend over the
horizon). `SimulationParams` holds the true parameters and documents the model.

Modules, one idea each: params (the parameters), seasonality (the intensity calendar), streams
(randomness independent of block sizes), population / purchases / behaviour (the draws), truth (closed
forms), ground_truth / tables (output tables), output (files), block and api (orchestration).
"""

from ltv.simulate.api import SimulationResult, simulate
from ltv.simulate.output import table_files
from ltv.simulate.params import SimulationParams

__all__ = ["SimulationParams", "SimulationResult", "simulate", "table_files"]
