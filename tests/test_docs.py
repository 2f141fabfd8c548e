"""The documentation: the MkDocs site builds without warnings, and its lamina code runs.

Each page's ```python blocks run in order, in one namespace per page, as a reader would run
them, including those indented inside a tab (`=== "lamina"`). Blocks that import `tensorflow`
or `keras` show the other side of a comparison and are not run.
"""

import importlib.util
import inspect
import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

import lamina

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


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """`mkdocs build --strict` into a temporary folder: (result, site folder)."""
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--site-dir", str(site_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    return result, site_dir


def test_site_builds_strictly(site):
    """A broken reference or link (anchors included), a docstring griffe cannot parse or a
    page missing from the navigation fails the build."""
    result, site_dir = site
    assert result.returncode == 0, result.stdout + result.stderr
    reference = (site_dir / "api" / "ops" / "index.html").read_text()
    assert 'id="lamina.ops.matmul"' in reference


def test_compatibility_page_is_generated_from_the_coverage_test(site):
    result, site_dir = site
    assert result.returncode == 0, result.stdout + result.stderr
    page = (site_dir / "compatibility" / "index.html").read_text()
    assert "Coverage by namespace" in page and "<code>keras.ops.numpy</code>" in page
    # Every EXCLUDED name appears with its reason.
    assert "TorchModuleWrapper" in page and "needs PyTorch" in page
    assert "Deliberate differences from Keras" in page


def _resolve(path):
    target = lamina
    for part in path.split(".")[1:]:
        target = getattr(target, part)
    return target


def test_every_keras_name_lamina_has_is_documented(site):
    """Each public name of Keras's namespaces that lamina has (a class or a function) is
    documented on some page of the API reference, under its own path or another one
    (`keras.Layer` is `keras.layers.Layer`)."""
    result, site_dir = site
    assert result.returncode == 0, result.stdout + result.stderr
    documented = set()
    for html in site_dir.rglob("*.html"):
        for anchor in set(re.findall(r'id="(lamina(?:\.\w+)*)"', html.read_text())):
            try:
                documented.add(id(_resolve(anchor)))
            except AttributeError:
                pass
    keras_names = json.loads((ROOT / "tests" / "keras_public_names.json").read_text())["names"]
    undocumented = []
    for namespace, names in keras_names.items():
        for name in names:
            path = ".".join(["lamina", *[p for p in namespace.split(".") if p], name])
            try:
                obj = _resolve(path)
            except AttributeError:
                continue   # not in lamina: the compatibility page lists it
            if (inspect.isclass(obj) or inspect.isfunction(obj) or callable(obj)) and not (
                    inspect.ismodule(obj)) and id(obj) not in documented:
                undocumented.append(path)
    assert not undocumented, (
        "public names with no page in the API reference (add them to a docs/api/*.md page): "
        + ", ".join(undocumented))


def _render_examples_module():
    spec = importlib.util.spec_from_file_location(
        "render_examples", ROOT / "scripts" / "render_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_page_is_rendered_from_the_current_script():
    """docs/examples/ caches each example's output; a script changed since its page was
    rendered fails here (the page would show output the script no longer prints)."""
    render = _render_examples_module()
    stale = [name for name in render.example_names()
             if render.recorded_digest(name) != render.source_digest(name)]
    assert not stale, (
        f"examples whose page is missing or older than the script: {stale}; run "
        f"`.venv/bin/python scripts/render_examples.py {' '.join(stale)}` and commit docs/examples/")


def test_example_pages_show_output_and_figures(site):
    result, site_dir = site
    assert result.returncode == 0, result.stdout + result.stderr
    demo = (site_dir / "examples" / "demo" / "index.html").read_text()
    assert "<h2 id=\"output\">" in demo and ".png" in demo
    # The source is included from examples/ at build time, not copied into the page.
    text = re.sub(r"<[^>]+>", "", demo)   # the highlighted source, without its markup
    assert "def main(" in text and "--8&lt;--" not in text


def test_benchmarks_page_shows_the_history_and_the_current_figures(site):
    result, site_dir = site
    assert result.returncode == 0, result.stdout + result.stderr
    page = (site_dir / "benchmarks" / "index.html").read_text()
    assert 'src="../benchmarks-history.png"' in page or "benchmarks-history.png" in page
    assert (site_dir / "benchmarks-history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Current figures" in page and "times faster" in page
