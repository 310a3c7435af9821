"""A self-contained HTML page: inline CSS, figures embedded as base64 PNG, no scripts.

The page opens from a file, a mail attachment or a CI artifact without its folder.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1d2430; background: #f6f7f9; }
header { background: #14532d; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 2px 0; opacity: .9; font-size: 14px; }
main { max-width: 1500px; margin: 0 auto; padding: 8px 32px 48px; }
section { background: #fff; border-radius: 8px; padding: 12px 20px 18px; margin: 18px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h2 { font-size: 19px; border-bottom: 1px solid #e3e6ea; padding-bottom: 6px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
th, td { padding: 5px 10px; border-bottom: 1px solid #e3e6ea; text-align: right; }
th { background: #eef1f4; } td:first-child, th:first-child { text-align: left; }
tr.best td { background: #e7f6ec; font-weight: 600; }
img { max-width: 100%; height: auto; border: 1px solid #e3e6ea; border-radius: 4px; }
.note { color: #5b6472; font-size: 13px; }
.warn { color: #9a3412; font-size: 13px; }
figure { margin: 10px 0; } figcaption { color: #5b6472; font-size: 13px; }
"""


@dataclass
class Figure:
    """A PNG figure: file name in the report folder, caption, bytes."""

    name: str
    caption: str
    png: bytes


@dataclass
class Section:
    """A titled part of the page: HTML fragments (already escaped) and figures, in order."""

    title: str
    parts: list[str | Figure] = field(default_factory=list)

    def text(self, text: str, cls: str = "note") -> Section:
        """Append an escaped paragraph."""
        self.parts.append(f'<p class="{cls}">{html.escape(text)}</p>')
        return self

    def heading(self, text: str) -> Section:
        """Append an escaped sub-heading."""
        self.parts.append(f"<h3>{html.escape(text)}</h3>")
        return self


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    highlight: int | None = None,
    links: dict[tuple[int, int], str] | None = None,
) -> str:
    """An HTML table; cells are escaped; ``links`` maps (row, column) to a relative href."""
    links = links or {}
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            text = html.escape(str(value))
            if (r, c) in links:
                text = f'<a href="{html.escape(links[(r, c)], quote=True)}">{text}</a>'
            cells.append(f"<td>{text}</td>")
        cls = ' class="best"' if r == highlight else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure_html(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    caption = html.escape(fig.caption)
    name = html.escape(fig.name, quote=True)
    return (
        f'<figure><img alt="{caption}" title="{name}" src="data:image/png;base64,{data}">'
        f"<figcaption>{caption} ({name})</figcaption></figure>"
    )


def render_page(title: str, subtitle: Sequence[str], sections: Sequence[Section]) -> str:
    """The whole page as one string."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1>",
        *(f"<p>{html.escape(line)}</p>" for line in subtitle),
        "</header><main>",
    ]
    for section in sections:
        out.append(f"<section><h2>{html.escape(section.title)}</h2>")
        out.extend(_figure_html(p) if isinstance(p, Figure) else p for p in section.parts)
        out.append("</section>")
    out.append("</main></body></html>")
    return "\n".join(out)


def figures_of(sections: Sequence[Section]) -> list[Figure]:
    """Every figure of the page, in order (to write them as PNG files too)."""
    return [p for s in sections for p in s.parts if isinstance(p, Figure)]
