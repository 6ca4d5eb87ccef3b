"""The page: one HTML document with its CSS inline and no reference to anything outside it.

Small helpers build the tags the sections need; every piece of caller text (model names,
group values, titles) goes through `esc`.
"""

from __future__ import annotations

import html
from typing import Iterable

from ltv.evaluation.report.plots import Plot

CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --soft: #f5f7fa;
        --best: #e3f4e8; --best-ink: #11602c; --flag: #fdecea; --flag-ink: #a4271b; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1340px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 8px; padding-top: 8px; border-top: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 6px; }
p { margin: 6px 0; max-width: 92ch; }
.subtitle { color: var(--muted); margin: 0 0 18px; }
.muted, .note { color: var(--muted); font-size: 13.5px; }
.note { margin-top: 8px; }
.warning { background: var(--flag); color: var(--flag-ink); padding: 8px 12px; border-radius: 6px; }
nav.toc { font-size: 14px; margin: 10px 0 0; }
nav.toc a { color: var(--muted); margin-right: 14px; text-decoration: none; white-space: nowrap; }
nav.toc a:hover { text-decoration: underline; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr));
         gap: 10px; margin: 14px 0; }
.fact { background: var(--soft); border: 1px solid var(--line); border-radius: 8px;
        padding: 10px 12px; }
.fact .label { display: block; color: var(--muted); font-size: 12px; text-transform: uppercase;
               letter-spacing: .04em; }
.fact .value { display: block; font-size: 18px; font-weight: 600; overflow-wrap: anywhere; }
.fact .detail { display: block; font-size: 12.5px; color: var(--muted); white-space: nowrap; }
.howto { background: var(--soft); border-left: 4px solid #0072B2; padding: 10px 16px;
         border-radius: 0 8px 8px 0; margin: 14px 0; }
.howto ul { margin: 6px 0; padding-left: 20px; }
.howto li { margin: 3px 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right;
         white-space: nowrap; }
th { background: var(--soft); font-weight: 600; vertical-align: bottom; white-space: normal; }
table.metrics th { max-width: 7.5em; }
table.metrics td.name { white-space: normal; min-width: 10em; max-width: 16em; }
td .sub { display: block; font-size: 12px; color: var(--muted); font-weight: 400; }
th[title] { cursor: help; text-decoration: underline dotted var(--muted); }
td.name, th.name { text-align: left; }
tbody tr:hover td { background: #fafbfd; }
td.best { background: var(--best); color: var(--best-ink); font-weight: 700; }
tr.anchor td { color: var(--muted); font-style: italic; background: #fcfcfd; }
tr.anchor:first-of-type td, tr.first-anchor td { border-top: 2px solid var(--line); }
tr.flag td { background: var(--flag); }
tr.flag td.flagcell { color: var(--flag-ink); font-weight: 700; }
tr.total td { font-weight: 600; border-top: 2px solid var(--ink); }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
          margin-right: 7px; vertical-align: baseline; }
.figures { display: flex; flex-wrap: wrap; gap: 18px 24px; align-items: flex-start; }
figure { margin: 8px 0; flex: 1 1 480px; max-width: 640px; min-width: 300px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line);
             border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; max-width: 640px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; }
@media print { main { max-width: none; padding: 0; } h2 { break-before: auto; }
               figure, table { break-inside: avoid; } nav.toc { display: none; } }
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def img(plot: Plot, caption: str | None = None) -> str:
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return (f'<figure><img src="{plot.uri}" alt="{esc(plot.alt)}" width="{plot.width}" '
            f'height="{plot.height}">{cap}</figure>')


def figures(items: Iterable[str]) -> str:
    return f'<div class="figures">{"".join(items)}</div>'


def swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{esc(color)}"></span>'


def td(text: str, cls: str = "", raw: bool = False) -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<td{attr}>{text if raw else esc(text)}</td>"


def table(head: list[tuple[str, str]], rows: list[str], classes: str = "") -> str:
    """`head` is (label, tooltip) pairs, the first one a name column; `rows` are <tr> strings."""
    cells = []
    for i, (label, tip) in enumerate(head):
        attrs = ' class="name"' if i == 0 else ""
        attrs += f' title="{esc(tip)}"' if tip else ""
        cells.append(f"<th{attrs}>{esc(label)}</th>")
    cls = f' class="{classes}"' if classes else ""
    return (f'<div class="scroll"><table{cls}><thead><tr>{"".join(cells)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def page(title: str, subtitle: str, toc: list[tuple[str, str]], body: str, footer: str) -> str:
    # joined by newlines: a line may break between two links, never inside one
    links = "\n".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in toc)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<h1>{esc(title)}</h1>
<p class="subtitle">{esc(subtitle)}</p>
<nav class="toc">{links}</nav>
</header>
{body}
<footer>{footer}</footer>
</main>
</body>
</html>
"""
