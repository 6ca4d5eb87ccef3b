"""A plan says how one canonical table is filled from a staged source.

Adapters and the generic column map both produce plans; `ltv.io.load` executes them. A plan
either reads the raw staged rows (`fields` are expressions over raw columns, `where` picks
the rows that feed the table) or derives rows from what another plan kept (`derive` is a
query over `{stage_<table>}` and `{raw}` that outputs `__ltv_row` and the field columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ltv.io.casting import Expr


@dataclass
class Plan:
    table: str
    fields: dict[str, Expr]  # target column -> expression (canonical and attribute columns)
    where: str | None = None
    derive: str | None = None
    note: str = ""  # shown after the source in reports, e.g. "purchase events"
    attributes: list[str] = field(default_factory=list)  # fields that are extra attribute columns

    @property
    def checks(self):
        """Every conversion check of the plan, once each (amount and quantity may share one)."""
        unique = {}
        for expr in self.fields.values():
            for check in expr.checks:
                unique.setdefault((check.label, check.column, check.value), check)
        return list(unique.values())

    def source_columns(self, target: str) -> tuple[str, ...]:
        """The raw columns that feed `target` (for PII declared by canonical name)."""
        expr = self.fields.get(target)
        return expr.columns if expr is not None else ()


def derived(table: str, sql: str, columns: list[str], note: str = "",
            attributes: list[str] | None = None) -> Plan:
    return Plan(table=table, fields={c: Expr(f'"{c}"') for c in columns}, derive=sql, note=note,
                attributes=list(attributes or []))
