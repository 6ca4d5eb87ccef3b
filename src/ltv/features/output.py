"""Getting the feature table out of DuckDB: Arrow batches, finished in numpy, then written.

The final SELECT streams out as Arrow record batches; `finish` turns each into its final form
(the dense weekly lists, see `sequences.expand`), so no Python object per row is ever made.

Parquet is written by pyarrow on a thread of its own, while DuckDB and numpy produce the next
batch. For this table (10M rows x 75 numbers + 2 x 52-element lists) pyarrow's encoder needs
about a third of the CPU of DuckDB's COPY, whose list encoding is slow. No dictionary
encoding: almost every column is a continuous number, where trying a dictionary first only
costs time (the file is ~40% larger than with dictionaries on the count columns).
CSV (small tables) and DataFrames go through DuckDB from the finished Arrow table, so their
types and formatting are DuckDB's.
"""

from __future__ import annotations

import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ltv.features.params import FeatureError
from ltv.schema import sql_string

Finish = Callable[[pa.RecordBatch], pa.RecordBatch]
BATCH_ROWS = 131_072  # also the Parquet row group; ~110 MB of dense lists at 52 weeks
PARQUET = dict(compression="snappy", use_dictionary=False)


def check_path(out: str | Path) -> Path:
    """`out` as a Path, refused early (before any work) unless .parquet or .csv."""
    path = Path(out)
    if path.suffix.lower() not in (".parquet", ".csv"):
        raise FeatureError(f"cannot write features to {str(path)!r}: unknown file type",
                           "end the output path with .parquet or .csv")
    return path


def batches(con: duckdb.DuckDBPyConnection, query: str,
            finish: Finish) -> tuple[pa.Schema, Iterable[pa.RecordBatch]]:
    """The finished schema and a lazy stream of the finished batches of `query`."""
    reader = con.sql(query).to_arrow_reader(BATCH_ROWS)
    empty = pa.RecordBatch.from_pylist([], schema=reader.schema)
    return finish(empty).schema, (finish(b) for b in reader)


def to_table(con: duckdb.DuckDBPyConnection, query: str, finish: Finish) -> pa.Table:
    schema, stream = batches(con, query, finish)
    return pa.Table.from_batches(list(stream), schema=schema)


def to_frame(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pd.DataFrame:
    with _registered(con, table) as name:
        return con.execute(f"SELECT * FROM {name}").df()


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, table: pa.Table):
    """`table` visible to DuckDB under a unique name for the duration."""
    name = f"_ltvf_arrow_{uuid.uuid4().hex[:8]}"
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


def write(con: duckdb.DuckDBPyConnection, schema: pa.Schema,
          stream: Iterable[pa.RecordBatch], out: str | Path) -> Path:
    """Write the batches to `out` (.parquet or .csv) atomically: a temp file beside it,
    then os.replace."""
    path = check_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if path.suffix.lower() == ".parquet":
            _write_parquet(schema, stream, tmp)
        else:
            with _registered(con, pa.Table.from_batches(list(stream), schema=schema)) as name:
                con.execute(f"COPY {name} TO {sql_string(str(tmp))} (FORMAT csv, HEADER true)")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_parquet(schema: pa.Schema, stream: Iterable[pa.RecordBatch], path: Path) -> None:
    """Encode on a writer thread while this one produces the next batch (both release the
    GIL in their C++ parts, so the two overlap)."""
    todo: queue.Queue = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def writer() -> None:
        try:
            with pq.ParquetWriter(path, schema, **PARQUET) as out:
                while (batch := todo.get()) is not None:
                    out.write_batch(batch)
        except BaseException as err:  # re-raised by the producer
            failed.append(err)
            while todo.get() is not None:  # drain, so that the producer never blocks
                pass

    thread = threading.Thread(target=writer, name="ltv-features-parquet")
    thread.start()
    try:
        for batch in stream:
            if failed:
                break
            todo.put(batch)
    finally:
        todo.put(None)
        thread.join()
    if failed:
        raise failed[0]
