"""Errors for people: every message names what is wrong (column, row, value) and the fix.

All errors derive from `LTVError`, so a caller (the CLI, the server) can catch one type and
print `str(err)` as is.
"""

from __future__ import annotations


class LTVError(Exception):
    """Base class. `problem` says what is wrong, `fix` says what to do about it."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}\n  fix: {fix}" if fix else problem)


class SchemaError(LTVError):
    """Input does not meet a data contract (missing column, wrong type across a column...)."""

    def __init__(
        self,
        problem: str,
        fix: str | None = None,
        *,
        table: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ):
        self.table = table
        self.column = column
        self.row = row
        where = []
        if table:
            where.append(f"table '{table}'")
        if column:
            where.append(f"column '{column}'")
        if row is not None:
            where.append(f"row {row}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {problem}" if prefix else problem, fix)


class IngestError(LTVError):
    """A source cannot be read at all (unparseable file, unreachable database, unknown format)."""


class ConfigError(LTVError):
    """A setting is missing or unsafe (e.g. the PII key is unset or left at a default)."""


class NotFittedError(LTVError):
    """A model was asked to predict before `fit` was called."""
