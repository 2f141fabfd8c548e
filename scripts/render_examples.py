"""Renders each script of examples/ as a documentation page, with what it printed and drew.

Running the examples takes minutes, too long for every site build, so their output is cached
in the pages: `docs/examples/<name>.md` holds the script's description, its source (included
from examples/ when the site is built, so it is always the current file), the output of a run
and the figures it wrote (`docs/examples/<name>-*.png`). Each page records the SHA-256 of the
script (and of examples/_common.py) it was rendered from; tests/test_docs.py fails when a
script changes and its page was not rendered again:

    .venv/bin/python scripts/render_examples.py            # every example
    .venv/bin/python scripts/render_examples.py demo       # some of them
"""

import ast
import hashlib
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PAGES = ROOT / "docs" / "examples"
STAMP = "<!-- rendered by scripts/render_examples.py from sha256 {} -->"
# Per example, the command-line flags of the rendered run (one line per epoch, not live bars).
FLAGS = {"demo": ["--verbose", "2"]}


def example_names():
    return sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_"))


def source_digest(name):
    """The SHA-256 of the script and of the helpers every example shares."""
    digest = hashlib.sha256()
    for path in (EXAMPLES / f"{name}.py", EXAMPLES / "_common.py"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def recorded_digest(name):
    page = PAGES / f"{name}.md"
    if not page.exists():
        return None
    last = page.read_text().rstrip().splitlines()[-1]
    prefix, suffix = STAMP.split("{}")
    return last.removeprefix(prefix).removesuffix(suffix) if last.startswith(prefix) else None


def _title_and_text(name):
    doc = ast.get_docstring(ast.parse((EXAMPLES / f"{name}.py").read_text())) or name
    first, _, rest = doc.partition("\n")
    return first.strip().rstrip("."), rest.strip()


def _as_on_a_terminal(text):
    """What a terminal shows: a carriage return (a status bar redrawn in place) overwrites its
    line, so each line keeps only the text after its last one."""
    return "\n".join(line.split("\r")[-1] for line in text.rstrip().split("\n"))


def render(name):
    with tempfile.TemporaryDirectory(prefix="lamina-render-") as out:
        source = (EXAMPLES / f"{name}.py").read_text()
        takes_out = name == "demo" or "add_out_flag" in source
        flags = ["--out", out] if takes_out else []
        result = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *flags,
                                 *FLAGS.get(name, [])], capture_output=True, cwd=ROOT,
                                timeout=1800)
        if result.returncode != 0:
            raise SystemExit(f"examples/{name}.py failed:\n{result.stderr.decode()[-3000:]}")
        # Decoded here, not by text=True, which would turn each carriage return into a newline.
        printed = result.stdout.decode()
        for old in PAGES.glob(f"{name}-*.png"):
            old.unlink()
        figures = []
        for png in sorted(pathlib.Path(out).rglob("*.png")):
            target = PAGES / f"{name}-{png.name}"
            shutil.copyfile(png, target)
            figures.append(target.name)
    title, text = _title_and_text(name)
    intro = f"`examples/{name}.py`. {text}" if text else f"`examples/{name}.py`."
    lines = [f"# {title}", "", intro,
             "", f"Run it with `.venv/bin/python examples/{name}.py` (`--small` for a quick run).",
             "", "## Source", "", '```python', f'--8<-- "examples/{name}.py"', '```', "",
             "## Output", "", f"Printed by `python examples/{name}.py"
             + "".join(f" {flag}" for flag in FLAGS.get(name, [])) + "`:", "", "```text",
             _as_on_a_terminal(printed), "```", ""]
    for figure in figures:
        lines += [f"![{figure}]({figure})", ""]
    lines.append(STAMP.format(source_digest(name)))
    (PAGES / f"{name}.md").write_text("\n".join(lines) + "\n")
    print(f"rendered docs/examples/{name}.md ({len(figures)} figures)")


def main(names):
    PAGES.mkdir(parents=True, exist_ok=True)
    for name in names or example_names():
        if name not in example_names():
            raise SystemExit(f"no example named {name!r}; examples: {', '.join(example_names())}")
        render(name)


if __name__ == "__main__":
    main(sys.argv[1:])
