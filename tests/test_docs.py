"""The documentation: the MkDocs site builds without warnings, and its lamina code runs.

Each page's ```python blocks run in order, in one namespace per page, as a reader would run
them, including those indented inside a tab (`=== "lamina"`). Blocks that import `tensorflow`
or `keras` show the other side of a comparison and are not run.
"""

import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^( *)```python\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)
REFERENCE_SIDE = re.compile(r"^(import|from) (tensorflow|keras)\b", re.MULTILINE)


def code_blocks(text):
    """`(lamina_blocks, reference_blocks)`: the ```python blocks of a Markdown page, the
    second those of the Keras or TensorFlow side of a comparison."""
    blocks = [textwrap.dedent(block) for _, block in FENCE.findall(text)]
    reference = [b for b in blocks if REFERENCE_SIDE.search(b)]
    return [b for b in blocks if b not in reference], reference


def test_code_blocks_are_found():
    lamina_blocks, tensorflow = code_blocks(
        "x\n```python\na = 1\n```\n\n```python\nimport tensorflow as tf\n```\n"
        "```text\nnot code\n```\n=== \"lamina\"\n\n    ```python\n    b = 2\n    ```\n")
    assert lamina_blocks == ["a = 1\n", "b = 2\n"] and tensorflow == ["import tensorflow as tf\n"]
    porting = code_blocks((ROOT / "docs" / "porting.md").read_text())
    assert len(porting[0]) >= 6 and len(porting[1]) == 2


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
