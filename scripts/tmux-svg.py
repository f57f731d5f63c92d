#!/usr/bin/env python3
"""Renders a tmux pane as an SVG screenshot, the way assets/screenshot-*.svg are made.

    tmux -L shot capture-pane -p -t tui | scripts/tmux-svg.py > assets/screenshot-NAME.svg

One <text> per screen row in a monospace font (7 px a column, 17 px a row, Catppuccin
Mocha colours): the header row in blue, the footer in grey, the rest in the text colour.
Text only: the terminal's own colours and attributes are not carried over.
"""
import sys
from xml.sax.saxutils import escape

rows = sys.stdin.read().rstrip("\n").split("\n")
cols = max((len(r) for r in rows), default=0)
width, height = 20 + 7 * cols, 20 + 17 * len(rows)
out = [
    f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
    "<!-- The real screen, captured with `tmux capture-pane -p` and rendered by scripts/tmux-svg.py -->",
    f'<rect width="{width}" height="{height}" fill="#1e1e2e"/>',
    '<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" fill="#cdd6f4" xml:space="preserve">',
]
for i, row in enumerate(rows):
    text = row.rstrip()
    if not text:
        continue
    fill = "#89b4fa" if i == 0 else "#a6adc8" if i == len(rows) - 1 else "#cdd6f4"
    out.append(
        f'<text x="10" y="{23 + 17 * i}" fill="{fill}" textLength="{7 * len(text)}" '
        f'lengthAdjust="spacingAndGlyphs">{escape(text)}</text>'
    )
out += ["</g>", "</svg>"]
print("\n".join(out))
