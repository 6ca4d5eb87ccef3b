"""Replace one script's section of benchmarks/RESULTS.md (between its markers) or append it."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(name: str, text: str) -> None:
    """Put `text` between `<!-- name:start -->` and `<!-- name:end -->`, keeping the rest."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{start}\n{text.rstrip()}\n{end}"
    if start in current:
        head, rest = current.split(start, 1)
        current = head + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(current)
