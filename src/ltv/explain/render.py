"""A Rich table of an explanation's top drivers, for the CLI (imports Rich when called)."""

from __future__ import annotations

from typing import Any

from ltv.explain.result import Explanation

SHOWN_WEEKS = 4


def format_value(value: Any) -> str:
    """A feature value in a few characters: numbers to 4 significant digits, a weekly
    sequence as its total and last weeks, missing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, list):
        tail = ", ".join(f"{v:,.4g}" for v in value[-SHOWN_WEEKS:])
        return f"total {sum(value):,.4g} over {len(value)} weeks (last: {tail})"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


def drivers_table(explanation: Explanation, top: int = 10, *, title: str | None = None):
    """Rows: the baseline, the top drivers (signed, currency), the rest, any approximation
    error, and the prediction, which is the sum of everything above it."""
    from rich.table import Table

    drivers = explanation.top(top)
    table = Table(title=title)
    table.add_column("driver")
    table.add_column("customer's value")
    table.add_column("contribution", justify="right")
    table.add_row("baseline", "typical (see below)", f"{explanation.baseline:,.2f}",
                  style="dim")
    for c in drivers.top:
        colour = "green" if c.contribution > 0 else "red" if c.contribution < 0 else ""
        table.add_row(c.feature, format_value(c.value),
                      f"[{colour}]{c.contribution:+,.2f}[/]" if colour else
                      f"{c.contribution:+,.2f}")
    if drivers.other_count:
        table.add_row(f"{drivers.other_count} other features", "", f"{drivers.other:+,.2f}",
                      style="dim")
    if explanation.approximation_error:
        table.add_row("approximation error", f"{explanation.method}, "
                      f"{explanation.details.get('steps', '?')} steps",
                      f"{explanation.approximation_error:+,.4f}", style="dim")
    table.add_row("prediction", "", f"{explanation.prediction:,.2f}", style="bold")
    return table
