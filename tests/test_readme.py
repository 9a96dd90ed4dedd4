"""The Python examples of the README and of docs/ run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))] if README.exists() else []
BLOCKS = [
    (page, code)
    for page in PAGES
    for code in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
]


@pytest.mark.skipif(not BLOCKS, reason="README.md not found next to tests/")
@pytest.mark.parametrize(
    "page, code", BLOCKS, ids=[f"{page.stem}-block{i}" for i, (page, _) in enumerate(BLOCKS)]
)
def test_readme_example_runs(page, code, capsys):
    exec(compile(code, str(page), "exec"), {})
    assert capsys.readouterr().out  # each example prints what it shows
