"""The page is self-contained (inline CSS, base64 figures) and escapes its text."""

from __future__ import annotations

import base64
import re

from footreid.report.html import Figure, Section, figures_of, render_page, table


def test_page_embeds_figures_and_escapes_text() -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    section = Section("Results <1>").text("a < b & c")
    section.parts.append(table(["m", "v"], [["<x>", 1]], highlight=0, links={(0, 1): "a.csv"}))
    section.parts.append(Figure("f.png", "caption", png))
    page = render_page("title", ["sub"], [section])
    assert "Results &lt;1&gt;" in page and "a &lt; b &amp; c" in page and "&lt;x&gt;" in page
    assert 'class="best"' in page and 'href="a.csv"' in page
    data = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(data) == png
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert [f.name for f in figures_of([section])] == ["f.png"]
