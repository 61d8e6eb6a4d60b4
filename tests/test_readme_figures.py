"""The README's figures that follow the program are the program's (tools/readme_figures.py), and
its contents link every section."""

from __future__ import annotations

import re

import pytest

from tools import readme_figures


@pytest.mark.slow  # plans every benchmark scenario
def test_every_marked_figure_is_what_the_program_declares_now():
    stale = readme_figures.stale(readme_figures.README.read_text())
    assert stale == [], "run `python -m tools.readme_figures --write`:\n" + "\n".join(
        f"  {name}: README says {written!r}, the program {current!r}"
        for name, written, current in stale
    )


def test_every_figure_the_tool_computes_is_in_the_readme():
    marked = {m[1] for m in readme_figures.MARKER.finditer(readme_figures.README.read_text())}
    assert set(readme_figures.FIGURES) == marked


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def test_the_contents_link_every_section_and_only_sections():
    text = readme_figures.README.read_text()
    sections = {_anchor(h) for h in re.findall(r"^## (.+)$", text, re.M)}
    contents = text[text.index("**Contents.**") : text.index("\n## ")]
    linked = set(re.findall(r"\]\(#([a-z0-9-]+)\)", contents))
    assert linked == sections
