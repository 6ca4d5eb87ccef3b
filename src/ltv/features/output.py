"""Getting the feature table out of DuckDB: Arrow batches, finished in numpy, then written.

The final SELECT streams out as Arrow record batches; `finish` turns each into its final form
(the dense weekly lists, see `sequences.expand`), so no Python object per row is ever made.

Parquet is written by pyarrow on a thread of its own, while DuckDB and numpy produce the next
batch. For this table (10M rows x 75 numbers + 2 x 52-element lists) pyarrow's encoder needs
less than half the CPU of DuckDB's COPY, whose list encoding is slow. Dictionary encoding
only for integer columns (counts, few distinct values: smaller at no cost); the other columns
are continuous numbers, where trying a dictionary first costs ~60% more encoding time for a
~25% smaller file.
CSV (small tables) is written by DuckDB from the finished Arrow table, so its formatting
(of the lists too) is DuckDB's; DataFrames come from Arrow.
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


def check_path(out: str | Path) -> Path:
    """`out` as a Path, refused early (before any work) unless .parquet or .csv."""
    path = Path(out)
    if path.suffix.lower() not in (".parquet", ".csv"):
        raise FeatureError(f"cannot write features to {str(path)!r}: unknown file type",
                           "end the output path with .parquet or .csv")
    return path


def batches(con: duckdb.DuckDBPyConnection, query: str,
            finish: Finish) -> tuple[pa.Schema, Iterable[pa.RecordBatch]]:
    """The finished schema and a lazy stream of the finished batches of `query`. Closing
    the stream early (a generator's close()) releases DuckDB's result, which would otherwise
    keep the connection busy."""
    reader = con.sql(query).to_arrow_reader(BATCH_ROWS)
    empty = pa.RecordBatch.from_pylist([], schema=reader.schema)

    def stream():
        try:
            for batch in reader:
                yield finish(batch)
        finally:
            reader.close()

    return finish(empty).schema, stream()


def to_table(con: duckdb.DuckDBPyConnection, query: str, finish: Finish) -> pa.Table:
    schema, stream = batches(con, query, finish)
    return pa.Table.from_batches(list(stream), schema=schema)


def to_frame(table: pa.Table) -> pd.DataFrame:
    # Arrow's conversion gives the dtypes DuckDB's .df() gives (checked on every column of the
    # feature table), in the table's row order, which a SELECT would not promise
    return table.to_pandas()


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
            _write_csv(con, pa.Table.from_batches(list(stream), schema=schema), tmp)
        os.replace(tmp, path)
    finally:
        if hasattr(stream, "close"):  # stopped early: let go of DuckDB's result first
            stream.close()
        if tmp.exists():
            tmp.unlink()
    return path


def _write_csv(con: duckdb.DuckDBPyConnection, table: pa.Table, path: Path) -> None:
    """DuckDB writes the CSV (pyarrow's writer has no list columns), in the table's row order:
    the build turns preserve_insertion_order off, which would let COPY reorder batches."""
    keep = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
    try:
        with _registered(con, table) as name:
            con.execute(f"COPY {name} TO {sql_string(str(path))} (FORMAT csv, HEADER true)")
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if keep else 'false'}")


def _write_parquet(schema: pa.Schema, stream: Iterable[pa.RecordBatch], path: Path) -> None:
    """Encode on a writer thread while this one produces the next batch (both release the
    GIL in their C++ parts, so the two overlap)."""
    todo: queue.Queue = queue.Queue(maxsize=2)
    failed: list[BaseException] = []
    dictionary = [f.name for f in schema if pa.types.is_integer(f.type)]

    def writer() -> None:
        ended = False  # the producer's None arrived
        try:
            with pq.ParquetWriter(path, schema, compression="snappy",
                                  use_dictionary=dictionary) as out:
                while (batch := todo.get()) is not None:
                    out.write_batch(batch)
                ended = True
        except BaseException as err:  # re-raised by the producer
            failed.append(err)
            while not ended and todo.get() is not None:  # so that the producer never blocks
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
