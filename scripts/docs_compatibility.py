"""MkDocs hook (mkdocs.yml `hooks:`): generates the "Keras compatibility" page at build time.

Nothing on the page is written by hand, so it cannot drift from the code:

* which Keras names lamina has comes from looking each one up in the installed lamina, against
  Keras's public names in tests/keras_public_names.json (a snapshot the API-coverage test
  keeps equal to the pinned Keras; refreshed by scripts/keras_public_names.py);
* why a name is missing comes from the `EXCLUDED` and `PENDING` lists of
  tests/test_keras_api_coverage.py, read as data (with `ast`, so building the docs needs
  neither pytest nor Keras);
* the deliberate differences come from lamina's docstrings: every paragraph that starts with
  "Differs from Keras" or "Unlike Keras" in a module, class or function docstring of the
  public namespaces.
"""

import ast
import importlib
import inspect
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
COVERAGE_TEST = ROOT / "tests" / "test_keras_api_coverage.py"
SNAPSHOT = ROOT / "tests" / "keras_public_names.json"
PAGE = "compatibility.md"
DEVIATION = re.compile(r"^\s*(Differs from Keras|Unlike Keras)\b")


def coverage_lists():
    """The module-level constants of the coverage test (NAMESPACES, EXCLUDED, PENDING, ...)."""
    tree = ast.parse(COVERAGE_TEST.read_text())
    wanted = {"NAMESPACES", "EXCLUDED", "PENDING", "KERAS_SERIES"}
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in wanted:
                found[target.id] = ast.literal_eval(node.value)
    missing = wanted - set(found)
    if missing:
        raise ValueError(f"{COVERAGE_TEST.name} no longer defines {sorted(missing)} as literals; "
                         "the compatibility page reads them from there.")
    return found


def _lookup(lamina, namespace, name):
    target = lamina
    try:
        for part in [p for p in namespace.split(".") if p] + [name]:
            target = getattr(target, part)
    except AttributeError:
        return None
    return target


def _reason(listed, namespace, name):
    full = ".".join(["keras", namespace, name] if namespace else ["keras", name])
    wildcard = f"keras.{namespace}.*" if namespace else None
    for key in (full, wildcard):
        if key in listed:
            return listed[key]
    return "not listed (the coverage test fails on it)"


def _paragraphs(doc):
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", inspect.cleandoc(doc or ""))]


def deviations(lamina, namespaces):
    """[(where, text)] for each docstring paragraph starting with a deviation marker."""
    seen, found = set(), []

    def visit(where, obj):
        doc = obj.__doc__ if isinstance(obj.__doc__, str) else None
        if id(obj) in seen or not doc:
            return
        seen.add(id(obj))
        for paragraph in _paragraphs(doc):
            if DEVIATION.match(paragraph):
                found.append((where, paragraph))

    for namespace in namespaces:
        module = _lookup(lamina, *namespace.rpartition(".")[::2]) if namespace else lamina
        if module is None:
            continue
        prefix = "lamina" + (f".{namespace}" if namespace else "")
        visit(prefix, module)
        for name in sorted(n for n in dir(module) if not n.startswith("_")):
            obj = getattr(module, name, None)
            if inspect.ismodule(obj):
                continue
            visit(f"{prefix}.{name}", obj)
            if inspect.isclass(obj):
                for member, value in sorted(vars(obj).items()):
                    if not member.startswith("_") and callable(value):
                        visit(f"{prefix}.{name}.{member}", value)
    # Module docstrings of the implementation (where most design decisions are stated).
    for path in sorted((ROOT / "lamina").rglob("*.py")):
        module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module_name = module_name.removesuffix(".__init__")
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: BLE001  (an optional extra that is not installed)
            continue
        visit(module_name, module)
    return sorted(set(found))


def render(lamina, keras_listing, lists):
    listed = {name: f"deliberately left out: {why}" for name, why in lists["EXCLUDED"].items()}
    for issue, (topic, names) in lists["PENDING"].items():
        for name in names:
            listed[name] = f"planned (issue {issue}: {topic})"
    rows, gaps, total, present = [], [], 0, 0
    for namespace in lists["NAMESPACES"]:
        names = keras_listing["names"].get(namespace, [])
        have = [n for n in names if _lookup(lamina, namespace, n) is not None]
        total, present = total + len(names), present + len(have)
        label = f"`keras.{namespace}`" if namespace else "`keras` (top level)"
        share = f"{100 * len(have) / len(names):.0f}%" if names else "-"
        rows.append(f"| {label} | {len(have)} / {len(names)} | {share} |")
        for name in names:
            if name not in have:
                full = f"keras.{namespace}.{name}" if namespace else f"keras.{name}"
                gaps.append(f"| `{full}` | {_reason(listed, namespace, name)} |")
    lines = [
        "# Keras compatibility",
        "",
        "Generated when the site is built: each public name of Keras "
        f"{keras_listing['version']}'s namespaces is looked up in lamina "
        f"{lamina.__version__}; the reasons for the gaps and the differences below come from "
        "the API-coverage test and from lamina's docstrings, so this page is as current as "
        "the code it was built from.",
        "",
        f"**{present} of {total} names ({100 * present / total:.1f}%)** exist in lamina "
        "under the same path (`keras.layers.Dense` is `lamina.layers.Dense`).",
        "",
        "## Coverage by namespace",
        "",
        "| namespace | names in lamina | share |",
        "| --- | --- | --- |",
        *rows,
        "",
        "## Names lamina does not have, and why",
        "",
    ]
    if gaps:
        lines += ["| Keras name | why |", "| --- | --- |", *gaps]
    else:
        lines.append("None: every public name of these namespaces exists in lamina.")
    lines += ["", "## Deliberate differences from Keras", "",
              "Where lamina behaves differently from Keras on purpose, as its docstrings say "
              "(paragraphs starting \"Differs from Keras\" or \"Unlike Keras\"):", ""]
    for where, text in deviations(lamina, lists["NAMESPACES"]):
        lines.append(f"- `{where}`: {text}")
    return "\n".join(lines) + "\n"


def build_page():
    import lamina  # noqa: PLC0415  (imported when the site is built, not when loaded)

    keras_listing = json.loads(SNAPSHOT.read_text())
    return render(lamina, keras_listing, coverage_lists())


def on_files(files, config):
    """Adds the generated page to the site (mkdocs >= 1.6)."""
    from mkdocs.structure.files import File  # noqa: PLC0415

    files.append(File.generated(config, PAGE, content=build_page()))
    return files
