"""The online store interface: one small set of primitives per backend, the rest shared.

A store holds one *generation* at a time: the feature rows of one `materialize` (one row per
customer: `customer_id`, `cutoff` = the row's as-of time, and the feature columns), the
per-customer state that incremental updates need (`history`, see `ltv.online.history`), a
product -> category map (`products`), the customers' profiles (`profiles`, written by
`ltv profile --online`, see `ltv.online.profiles`), and a metadata record (`StoreMeta`). Re-materializing
writes a new generation and switches to it atomically, so a reader sees the old one or the
new one, never a mix.

A backend implements the primitives, all over (namespace, key) -> bytes:
  _get(ns, keys)              values in key order, None where absent: ONE round trip
  _get_with_meta(ns, keys)    the same and the metadata, from one snapshot (used once after
                              each re-materialize, to learn the new generation's layout)
  _count(ns)                  number of keys
  _read_meta()                the current generation's StoreMeta JSON, or None
  _begin_replace(meta)        a Replacement (write batches, then commit or abort)
  _write_if(generation, check, writes)
                              upsert {ns: {key: value or None to delete}} atomically, only if
                              the current generation is still `generation` and, with check =
                              (ns, key, expected), ns[key] still equals expected (None:
                              absent); False otherwise (the caller re-reads and retries)
  close()
Everything else (encoding, metadata caching, frames, dicts) is here, once for every backend,
and `tests/online/test_store_contract.py` runs the same suite against each.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from ltv.errors import LTVError
from ltv.online import codec

FEATURES = "features"
HISTORY = "history"
PRODUCTS = "products"
PROFILES = "profiles"
NAMESPACES = (FEATURES, HISTORY, PRODUCTS, PROFILES)


class OnlineStoreError(LTVError):
    """The online store cannot be opened, read or written."""


@dataclass(frozen=True)
class StoreMeta:
    """What one materialization wrote.

    cutoff: the as-of time of the materialized rows (ISO, naive UTC); a row updated by an
        event since then has its own, later `cutoff` column.
    options: the feature options (windows, top_k_categories, sequence_weeks) and the
        population-level choices fixed at the cutoff (top_categories, event_types), which
        incremental updates reuse so that their rows keep the materialized columns.
    layout: the codec layout of the feature rows (`codec.Layout.to_json`).
    history: how the per-customer history is encoded (`ltv.online.history`).
    """

    cutoff: str
    feature_names: list[str]
    layout: list
    options: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    materialized_at: str = ""
    rows: int = 0
    generation: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> StoreMeta:
        return cls(**json.loads(text))

    @classmethod
    def for_frame(cls, frame: pd.DataFrame, cutoff, lists: dict[str, int] | None = None,
                  **fields) -> StoreMeta:
        """Metadata for storing rows shaped like `frame` (its columns and dtypes); `lists`
        gives the length of list columns (needed when the frame has no rows)."""
        layout = codec.Layout.for_frame(frame, lists)
        stamp = pd.Timestamp(cutoff).isoformat()
        return cls(cutoff=stamp, feature_names=layout.names, layout=layout.to_json(), **fields)

    @property
    def cutoff_ts(self) -> dt.datetime:
        return pd.Timestamp(self.cutoff).to_pydatetime()


class Replacement(ABC):
    """Batches of a new generation; nothing is visible to readers before `commit`."""

    def __init__(self, store: OnlineStore, meta: StoreMeta, generation: int):
        self.store, self.meta, self.generation = store, meta, generation
        self.layout = codec.Layout.from_json(meta.layout)
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> int:
        """Add feature rows (one per customer_id); returns rows written."""
        if not len(frame):
            return 0
        values = codec.encode_frame(frame, self.layout, self.generation)
        self._write(FEATURES, dict(zip(frame["customer_id"].astype(str), values)))
        self.rows += len(frame)
        return len(frame)

    def write_state(self, ns: str, items: dict[str, bytes]) -> None:
        if items:
            self._write(ns, items)

    @abstractmethod
    def _write(self, ns: str, items: dict[str, bytes]) -> None: ...

    @abstractmethod
    def _commit(self, meta: StoreMeta) -> None: ...

    @abstractmethod
    def abort(self) -> None: ...

    def commit(self) -> StoreMeta:
        meta = StoreMeta(**{**asdict(self.meta), "rows": self.rows,
                            "generation": self.generation,
                            "materialized_at": dt.datetime.now(dt.timezone.utc)
                            .replace(tzinfo=None).isoformat()})
        self._commit(meta)
        self.store._meta_cache.clear()
        self.store._layouts.clear()
        return meta

    def __enter__(self) -> Replacement:
        return self

    def __exit__(self, kind, err, tb) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


class OnlineStore(ABC):
    """Latest features per customer for serving, behind one small interface (see module)."""

    url: str

    def __init__(self, url: str):
        self.url = url
        self._meta_cache: dict[int, StoreMeta] = {}
        self._layouts: dict[int, codec.Layout] = {}
        self._meta_lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------

    def meta(self, *, refresh: bool = False) -> StoreMeta | None:
        """The current generation's metadata, or None for a store never materialized."""
        raw = self._read_meta()
        if raw is None:
            return None
        return self._remember(raw)

    def _remember(self, raw: bytes | str) -> StoreMeta:
        meta = StoreMeta.from_json(raw)
        with self._meta_lock:
            self._meta_cache[meta.generation] = meta
            for old in sorted(self._meta_cache)[:-4]:  # a reader may still hold rows of these
                del self._meta_cache[old]
        return meta

    def _layout(self, generation: int) -> codec.Layout:
        meta = self._meta_cache.get(generation)
        if meta is None:  # cannot happen after _rows; kept as a clear error
            raise OnlineStoreError(f"the online store {self.url} changed generation while "
                                   "being read", "retry the request")
        layout = self._layouts.get(generation)
        if layout is None:  # parsed once per generation: this is on every read's path
            layout = self._layouts[generation] = codec.Layout.from_json(meta.layout)
        return layout

    def _rows(self, customer_ids: Sequence[str]) -> tuple[list[str], list[bytes]]:
        ids = [str(c) for c in customer_ids]
        values = self._get(FEATURES, ids)
        first = next((v for v in values if v is not None), None)
        if first is not None and codec.generation_of(first) not in self._meta_cache:
            values, raw = self._get_with_meta(FEATURES, ids)  # rows and layout of one snapshot
            if raw is not None:
                self._remember(raw)
        found = [(i, v) for i, v in zip(ids, values) if v is not None]
        return [i for i, _ in found], [v for _, v in found]

    def _decode(self, values: list[bytes], decode):
        """Decode rows of one generation (a read is one snapshot, so they all are)."""
        generation = codec.generation_of(values[0])
        return decode(values, self._layout(generation))

    def get_many(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """customer_id -> {column: value} for the ids in the store (absent ids are left out),
        in one round trip. Values are plain Python: float (NaN for NULL), int, str or None,
        datetime.datetime (naive UTC) or None, list[float] for the weekly sequences."""
        ids, values = self._rows(customer_ids)
        if not values:
            return {}
        records = self._decode(values, codec.decode_records)
        return dict(zip(ids, records))

    def get(self, customer_id: str) -> dict[str, Any] | None:
        return self.get_many([customer_id]).get(str(customer_id))

    def get_frame(self, customer_ids: Sequence[str]) -> pd.DataFrame:
        """The stored rows of these customers (in the order asked, absent ones left out) as
        the DataFrame `build_features` gave at materialization: same columns and dtypes,
        numpy arrays in the sequence columns. What a model's `predict` takes."""
        ids, values = self._rows(customer_ids)
        if not values:
            meta = self.meta()
            if meta is None:
                return pd.DataFrame({"customer_id": pd.Series([], dtype=object)})
            return codec.decode_frame([], codec.Layout.from_json(meta.layout))
        return self._decode(values, codec.decode_frame)

    def count(self) -> int:
        """Customers with a feature row."""
        return self._count(FEATURES)

    # -- writing ---------------------------------------------------------------------------

    def replace(self, meta: StoreMeta) -> Replacement:
        """Start a new generation; use as `with store.replace(meta) as batch: batch.write(df)`.
        Readers see the previous generation until the block ends without an error."""
        return self._begin_replace(meta)

    def write(self, frame: pd.DataFrame) -> int:
        """Upsert feature rows (with the columns of the current generation; missing ones are
        NULL) into the current generation. Returns rows written."""
        for _ in range(3):  # a re-materialize in between: encode for the new generation
            meta = self.meta()
            if meta is None:
                raise OnlineStoreError(f"the online store {self.url} has no materialized "
                                       "features to add rows to",
                                       "run `ltv materialize` first (or store.replace(...))")
            values = codec.encode_frame(frame, codec.Layout.from_json(meta.layout),
                                        meta.generation)
            ids = frame["customer_id"].astype(str)
            if self._write_if(meta.generation, None, {FEATURES: dict(zip(ids, values))}):
                return len(frame)
        raise OnlineStoreError(f"the online store {self.url} kept changing generation",
                               "retry once `ltv materialize` has finished")

    def get_state(self, ns: str, keys: Sequence[str]) -> list[bytes | None]:
        """Raw values of a state namespace (HISTORY, PRODUCTS, PROFILES), None where absent."""
        return self._get(ns, [str(k) for k in keys])

    def write_if(self, generation: int, check: tuple[str, str, bytes | None] | None,
                 writes: dict[str, dict[str, bytes | None]]) -> bool:
        """Apply `writes` ({ns: {key: value, None deletes}}) atomically if the store is still
        at `generation` and (with check=(ns, key, expected)) ns[key] is still `expected`;
        False when another writer got there first."""
        return self._write_if(generation, check, writes)

    # -- backend primitives ----------------------------------------------------------------

    @abstractmethod
    def _get(self, ns: str, keys: list[str]) -> list[bytes | None]: ...

    @abstractmethod
    def _get_with_meta(self, ns: str, keys: list[str]) -> tuple[list[bytes | None],
                                                                 bytes | None]: ...

    @abstractmethod
    def _count(self, ns: str) -> int: ...

    @abstractmethod
    def _read_meta(self) -> bytes | None: ...

    @abstractmethod
    def _begin_replace(self, meta: StoreMeta) -> Replacement: ...

    @abstractmethod
    def _write_if(self, generation: int, check: tuple[str, str, bytes | None] | None,
                  writes: dict[str, dict[str, bytes | None]]) -> bool: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

