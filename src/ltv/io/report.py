"""What an ingest did: rows read, kept and quarantined per target table, and why.

The invariant every report satisfies (and the tests check on real data):
`rows_read == rows_kept + rows_quarantined` for every table report.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TableReport:
    """One (source, target table) pair of an ingest, as recorded in the `ingests` table.

    `reasons` maps a quarantine reason *kind* (the reason without the row's own value, e.g.
    "amount: not a number") to the number of rows quarantined for it.
    """

    table: str
    source: str
    rows_read: int
    rows_kept: int
    rows_quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    skipped: bool = False  # True when this exact source was already ingested with these options
    ingest_id: int | None = None


@dataclass
class IngestReport:
    """The result of `ltv.ingest`: one `TableReport` per target table written."""

    tables: list[TableReport]
    fingerprint: str
    format: str
    seconds: float = 0.0

    @property
    def skipped(self) -> bool:
        return bool(self.tables) and all(t.skipped for t in self.tables)

    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.tables)

    @property
    def rows_kept(self) -> int:
        return sum(t.rows_kept for t in self.tables)

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables)

    def __getitem__(self, table: str) -> TableReport:
        """The report for one target table (the first, if a source fed it twice)."""
        for report in self.tables:
            if report.table == table:
                return report
        raise KeyError(f"this ingest wrote no '{table}' rows (it wrote: "
                       f"{', '.join(t.table for t in self.tables) or 'nothing'})")

    def __str__(self) -> str:
        if self.skipped:
            lines = [f"already ingested (same content and options, fingerprint "
                     f"{self.fingerprint[:12]}): nothing written"]
        else:
            lines = [f"ingested with format '{self.format}' in {self.seconds:.1f} s"]
        for t in self.tables:
            lines.append(f"  {t.table:<13} {t.rows_read:>11,} read {t.rows_kept:>11,} kept "
                         f"{t.rows_quarantined:>9,} quarantined   from {t.source}")
            for reason, count in sorted(t.reasons.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"  {'':<13} {count:>11,}  {reason}")
        if self.rows_quarantined and not self.skipped:
            lines.append("  quarantined rows, with their reason and raw record: "
                         "SELECT * FROM quarantine WHERE ingest_id = ...")
        return "\n".join(lines)
