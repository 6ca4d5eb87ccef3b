"""Writing the feature table straight from DuckDB: no Python objects per row."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ltv.features.params import FeatureError
from ltv.schema import sql_string

FORMATS = {".parquet": "(FORMAT parquet, COMPRESSION snappy)", ".csv": "(FORMAT csv, HEADER true)"}


def write(con: duckdb.DuckDBPyConnection, relation: str, out: str | Path) -> Path:
    """Write `relation` (a table name or a parenthesised query) to `out` (.parquet or .csv),
    atomically: a temp file beside it, then os.replace."""
    path = Path(out)
    options = FORMATS.get(path.suffix.lower())
    if options is None:
        raise FeatureError(f"cannot write features to {str(path)!r}: unknown file type",
                           "end the output path with .parquet or .csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        con.execute(f"COPY (SELECT * FROM {relation}) TO {sql_string(str(tmp))} {options}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
