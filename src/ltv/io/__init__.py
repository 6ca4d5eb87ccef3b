"""Ingestion: readers and format adapters -> canonical warehouse tables, quarantine, PII hashing.

    from ltv.io import ingest, PostgresQuery
    report = ingest("online_retail.parquet", db="ltv.duckdb", format="uci-online-retail")
    print(report)

Modules, in the order data flows through them: sources (what can be ingested) -> readers /
postgres (stream Arrow batches) -> staging (number rows, hash PII) -> adapters / mapping
(plans: raw columns -> canonical columns) -> load (check, convert, write) with quarantine ->
report. `ingest.py` ties them together in one transaction.
"""

from ltv.io.adapters import FORMATS
from ltv.io.ingest import ingest
from ltv.io.postgres import PostgresQuery
from ltv.io.report import IngestReport, TableReport

__all__ = ["FORMATS", "IngestReport", "PostgresQuery", "TableReport", "ingest"]
