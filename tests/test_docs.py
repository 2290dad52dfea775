"""The README stays a five-minute read, and no link in it or in docs/ points at nothing."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_LIMIT_BYTES = 12 * 1024
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def test_readme_is_short() -> None:
    assert (ROOT / "README.md").stat().st_size <= README_LIMIT_BYTES


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto: - not checkable offline
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        missing_anchor = bool(anchor) and resolved.suffix == ".md" and anchor not in anchors(resolved)
        if not resolved.exists() or missing_anchor:
            broken.append(target)
    assert broken == [], f"{page.name}: broken links {broken}"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    unlinked = [p.name for p in PAGES[1:] if f"docs/{p.name}" not in readme]
    assert unlinked == []


def results_rows(readme: str) -> list[list[str]]:
    """The README's Results table, each row's cells."""
    section = readme.split("\n## Results\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| what")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_every_result_in_the_readme_is_a_measured_figure() -> None:
    """A figure cell holds a number: not empty, not a placeholder left by an edit (SUITE_FIGURE was one)."""
    rows = results_rows((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(rows) >= 5
    unmeasured = [
        what
        for what, figure, *_ in rows
        if not re.search(r"\d", figure) or re.search(r"\b[A-Z_]{6,}\b", figure)
    ]
    assert unmeasured == []
