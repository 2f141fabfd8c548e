"""The documentation: the MkDocs site builds without warnings, and its lamina code runs.

Each page's ```python blocks run in order, in one namespace per page, as a reader would run
them. Blocks that `import tensorflow` show the TensorFlow side of a comparison and are not run
(TensorFlow is not installed).
"""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def code_blocks(text):
    """`(lamina_blocks, tensorflow_blocks)`: the ```python blocks of a Markdown page."""
    blocks = FENCE.findall(text)
    tensorflow = [b for b in blocks if re.search(r"^import tensorflow", b, re.MULTILINE)]
    return [b for b in blocks if b not in tensorflow], tensorflow


def test_code_blocks_are_found():
    lamina_blocks, tensorflow = code_blocks(
        "x\n```python\na = 1\n```\n\n```python\nimport tensorflow as tf\n```\n"
        "```text\nnot code\n```\n")
    assert lamina_blocks == ["a = 1\n"] and tensorflow == ["import tensorflow as tf\n"]
    porting = code_blocks((ROOT / "docs" / "porting.md").read_text())
    assert len(porting[0]) >= 6 and len(porting[1]) == 1


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_lamina_code_blocks_run(page):
    namespace = {"__name__": f"docs_{page.stem}"}
    for index, block in enumerate(code_blocks(page.read_text())[0]):
        exec(compile(block, f"{page.name}[block {index}]", "exec"), namespace)


def test_site_builds_strictly(tmp_path):
    """`mkdocs build --strict`: a broken reference, a docstring griffe cannot parse or a page
    missing from the navigation fails the build."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    reference = (tmp_path / "site" / "api" / "ops" / "index.html").read_text()
    assert 'id="lamina.ops.matmul"' in reference
