"""The backtest report: one self-contained HTML file (inline CSS and PNG figures, no URLs).

Modules, one idea each: `inputs` (predictions lined up with actual spend, slicing),
`formatting` (how numbers are written), `table` (the comparison table's columns and best
values), `plots` (matplotlib figures as data: URIs, no global state), `html` (the page and
its CSS), `sections` (one function per section), `document` (`write_report`).
"""

from ltv.evaluation.report.document import render_report, write_report

__all__ = ["render_report", "write_report"]
