"""The product catalog: products per category, their Zipf popularity and list prices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ltv.simulate.params import SimulationParams

FIRST_PRODUCT_NUMBER = 10_000  # product ids look like UCI stock codes ("10000", "10001", ...)


@dataclass(frozen=True)
class Catalog:
    """Products are numbered category-major: product k is in category k // per_category.

    alias_prob, alias: Walker alias table of the Zipf popularity of a category's products
                    (the same shape in every category), shape (per_category,).
    list_price:     shape (n_products,), currency; the price shown in views of products that
                    are not bought (bought lines carry the price actually paid).
    """

    categories: tuple[str, ...]
    per_category: int
    alias_prob: np.ndarray
    alias: np.ndarray
    list_price: np.ndarray
    product_ids: pa.Array  # string, one per product
    descriptions: pa.Array  # string, UCI-style upper-case names
    category_names: pa.Array  # string, one per category

    @property
    def n_products(self) -> int:
        return len(self.list_price)

    def draw_products(self, category: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Product index for each (category index, uniform) pair, by popularity.

        Alias method: u's integer part picks a slot, its fraction chooses the slot's product
        or its alias (one uniform per draw, O(1) instead of a binary search).
        """
        scaled = u * self.per_category
        slot = scaled.astype(np.int64)
        rank = np.where(scaled - slot < self.alias_prob[slot], slot, self.alias[slot])
        return category.astype(np.int64) * self.per_category + rank

    def table(self) -> pa.Table:
        """products.parquet: product_id, category, description, list_price."""
        category = np.repeat(np.arange(len(self.categories)), self.per_category)
        return pa.table({
            "product_id": self.product_ids,
            "category": self.category_names.take(pa.array(category)),
            "description": self.descriptions,
            "list_price": pa.array(self.list_price),
        })


def build_catalog(params: SimulationParams, rng: np.random.Generator) -> Catalog:
    n_cat, per = len(params.categories), params.products_per_category
    weights = 1.0 / np.arange(1, per + 1) ** params.product_zipf_exponent
    alias_prob, alias = alias_table(weights / weights.sum())
    # Log-normal list prices around 8 currency units, rounded to cents.
    price = np.maximum(np.round(np.exp(rng.normal(np.log(8.0), 0.8, n_cat * per)), 2), 0.01)
    numbers = np.arange(FIRST_PRODUCT_NUMBER, FIRST_PRODUCT_NUMBER + n_cat * per)
    names = [f"{name.upper().replace('_', ' ')} ITEM {k + 1}"
             for name in params.categories for k in range(per)]
    return Catalog(
        categories=tuple(params.categories),
        per_category=per,
        alias_prob=alias_prob,
        alias=alias,
        list_price=price,
        product_ids=pa.array(numbers.astype(str)),
        descriptions=pa.array(names),
        category_names=pa.array(list(params.categories)),
    )


def alias_table(prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table for a discrete distribution `prob` (sums to 1).

    Slot i keeps item i with probability keep[i], else gives alias[i]; every slot is equally
    likely. Built once per simulation (a loop over the few hundred products is fine).
    """
    n = len(prob)
    scaled = prob * n
    keep, alias = np.ones(n), np.arange(n)
    small = [i for i in range(n) if scaled[i] < 1]
    large = [i for i in range(n) if scaled[i] >= 1]
    while small and large:
        s, g = small.pop(), large.pop()
        keep[s], alias[s] = scaled[s], g
        scaled[g] -= 1 - scaled[s]
        (small if scaled[g] < 1 else large).append(g)
    return keep, alias
