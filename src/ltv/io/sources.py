"""What a user can pass as `source`, resolved into parts that readers can open.

A part is one file, one in-memory table or one PostgreSQL query. Most sources are one part;
an adapter may expand a folder into several (Complete Journey: transactions, products,
demographics). Each part has a content hash, so re-ingesting the same bytes is detected
before anything is read (a query's hash is only known after reading it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ltv.errors import IngestError
from ltv.io.postgres import PostgresQuery

FILE_KINDS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "json", ".ndjson": "json", ".json": "json",
}
COMPRESSED = (".gz", ".zst")
SUPPORTED = "CSV (.csv, .tsv, optionally .gz), Parquet (.parquet), JSON lines (.jsonl, .ndjson)"


@dataclass
class Part:
    """One readable unit of a source. Exactly one of path / table / query is set."""

    label: str  # how reports and the quarantine name it
    path: Path | None = None
    table: pa.Table | None = None
    query: PostgresQuery | None = None
    role: str | None = None  # set by adapters that read several files (e.g. "products")
    _hash: str | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        if self.query is not None:
            return "postgres"
        if self.table is not None:
            return "arrow"
        return file_kind(self.path)

    def content_hash(self) -> str | None:
        """sha256 of the content, or None when it is only known after reading (a query)."""
        if self._hash is None and self.query is None:
            digest = hashlib.sha256()
            if self.path is not None:
                with open(self.path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(chunk)
            else:
                digest.update(self.table.schema.serialize())
                for batch in self.table.to_batches():
                    digest.update(batch.serialize())
            self._hash = digest.hexdigest()
        return self._hash


def file_kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes = suffixes[:-1]
    kind = FILE_KINDS.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise IngestError(f"cannot tell the file type of {path} from its extension",
                          f"rename it with one of the supported extensions: {SUPPORTED}")
    return kind


def resolve(source: Any) -> list[Part]:
    """Turn the user's `source` argument into parts (folders are left to the adapter)."""
    if isinstance(source, PostgresQuery):
        return [Part(label=source.label, query=source)]
    if isinstance(source, pd.DataFrame):
        return [Part(label=f"<DataFrame {len(source):,} rows>", table=frame_to_arrow(source))]
    if isinstance(source, (pa.Table, pa.RecordBatch)):
        table = pa.Table.from_batches([source]) if isinstance(source, pa.RecordBatch) else source
        return [Part(label=f"<Arrow table {table.num_rows:,} rows>", table=table)]
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if not path.exists():
            raise IngestError(f"source not found: {path}",
                              "check the path (relative paths are from the current folder)")
        return [Part(label=str(path), path=path)]
    raise IngestError(f"cannot ingest a {type(source).__name__}",
                      "pass a file path, a pandas DataFrame, a pyarrow Table or a "
                      "PostgresQuery(dsn, sql)")


def frame_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame as Arrow; object columns that mix types become text (so a stray string
    in a number column is quarantined as a bad value instead of failing the conversion)."""
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    arrays = {}
    for name in frame.columns:
        col = frame[name]
        try:
            arrays[name] = pa.array(col, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[name] = pa.array([None if _missing(v) else str(v) for v in col],
                                    type=pa.string())
    return pa.table(arrays)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float) and value != value)
