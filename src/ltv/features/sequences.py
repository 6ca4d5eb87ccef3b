"""Weekly activity of the last N weeks, aligned to the cutoff, as fixed-length lists.

Week k (0-based) covers [cutoff - (N - k) * 7 days, cutoff - (N - k - 1) * 7 days): the last
element is the most recent week. `seq_spend` holds net spend, `seq_orders` order counts, both
DOUBLE lists of length N with zeros for weeks without activity (including weeks before the
customer's first purchase).

Two steps, because the dense lists are most of the table's bytes (2 x N doubles per customer)
and building them in SQL (a lambda per element) cost more than all other features together:
- SQL, in the customer pass (see `passes`): one sparse list per customer of its orders in the
  last N weeks, {j: whole weeks back from the cutoff, 0 = the most recent; s: net spend;
  o: 1 if the order is an order (has a purchase line), else 0}. Customers with nothing in
  those weeks get NULL.
- numpy, on each Arrow batch of the final table (`expand`): np.bincount over
  row * N + (N - 1 - j) sums the orders of each week into the dense lists, which go to
  Arrow as plain list<double> columns, with no Python object per row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ltv.features.context import Context
from ltv.features.staging import Staged

SPARSE = "_seq_sparse"  # the column the final select carries until `expand` replaces it


def aggregates(ctx: Context, staged: Staged) -> list[str]:
    n = ctx.params.sequence_weeks
    if n <= 0:
        return []
    return [f"list({{'j': bday // 7, 's': net, 'o': CAST(buy AS TINYINT)}}) "
            f"FILTER (WHERE past AND bday < {7 * n}) AS seq_weeks"]


def columns(ctx: Context, staged: Staged) -> dict[str, str]:
    if ctx.params.sequence_weeks <= 0:
        return {}
    return {SPARSE: "{t}.seq_weeks"}


def expand(batch: pa.RecordBatch, n: int) -> pa.RecordBatch:
    """`batch` with its SPARSE column replaced by the dense seq_spend and seq_orders."""
    if SPARSE not in batch.schema.names:
        return batch
    at = batch.schema.get_field_index(SPARSE)
    sparse = batch.column(at)
    rows = batch.num_rows
    parents = pc.list_parent_indices(sparse).to_numpy()  # skips NULL lists
    weeks = pc.list_flatten(sparse)
    # struct_field, not StructArray.field: it respects the offset of a sliced batch
    slot = parents * n + (n - 1) - pc.struct_field(weeks, "j").to_numpy().astype(np.int64)
    offsets = pa.array(np.arange(0, rows * n + 1, n, dtype=np.int32))
    dense = []
    for field in ("s", "o"):
        weights = pc.struct_field(weeks, field).to_numpy().astype(np.float64)
        values = np.bincount(slot, weights=weights, minlength=rows * n)
        dense.append(pa.ListArray.from_arrays(offsets, pa.array(values, type=pa.float64())))
    names = batch.schema.names
    arrays = batch.columns
    return pa.RecordBatch.from_arrays(
        arrays[:at] + dense + arrays[at + 1:],
        names=names[:at] + ["seq_spend", "seq_orders"] + names[at + 1:])
