"""lamina's imports point down a fixed layering of its packages (docs/architecture.md draws it).

* The layers contract in pyproject.toml (`[tool.importlinter]`) fails on an import of a higher
  layer or of a sibling in the same layer, and on any cycle between packages.
* No import of a lamina module sits inside a function. Such imports are how cycles hide: the
  package graph looks layered while the code still reaches upward at run time.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lamina"


def test_packages_import_only_the_layers_below_them():
    lint_imports = pathlib.Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.fail(f"{lint_imports} is missing: install the test extra "
                    "(pip install -e '.[test]'), which brings import-linter.")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        "An import breaks lamina's layering. Import only from layers below (see the contract "
        "in pyproject.toml, which explains the order), or move the shared code down a layer.\n"
        + result.stdout + result.stderr)


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(node, module_name, is_package):
    """The absolute names an import statement imports (`from a import b` gives `a.b` when `b`
    is a module of lamina, else `a`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module_name.split(".")
        if not is_package:
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    names = []
    for alias in node.names:
        candidate = f"{target}.{alias.name}"
        relative = pathlib.Path(*candidate.split("."))
        is_module = (ROOT / relative).is_dir() or (ROOT / relative).with_suffix(".py").exists()
        names.append(candidate if is_module else target)
    return names


def lamina_import_problems(source, module_name, is_package=False):
    """`(line, message)` for each import of lamina in `source` that breaks the rules: one inside
    a function, or one of a name defined in the top-level `lamina/__init__.py` (the facade at
    the top of the layering: `from lamina import ops` imports a module, `from lamina import
    __version__` reaches the facade)."""
    problems = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            inside = function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                targets = [t for t in _imported_modules(child, module_name, is_package)
                           if t == "lamina" or t.startswith("lamina.")]
                if targets and inside:
                    problems.append((child.lineno, (
                        f"`{ast.unparse(child)}` inside a function: import lamina modules at "
                        "the top of the module. If that makes a cycle, the import points up "
                        "the layering (pyproject.toml): move the shared code down, or look "
                        "the object up through lamina._registry.")))
                elif "lamina" in targets and module_name != "lamina":
                    problems.append((child.lineno, (
                        f"`{ast.unparse(child)}` imports from the top-level facade "
                        "lamina/__init__.py, which sits above every package: import the "
                        "module that defines the name.")))
            visit(child, inside)

    visit(ast.parse(source), False)
    return problems


def test_no_lamina_import_inside_a_function():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, message in lamina_import_problems(
                path.read_text(), _module_name(path), path.name == "__init__.py"):
            problems.append(f"{path.relative_to(ROOT)}:{line}: {message}")
    assert not problems, "\n".join(problems)


def test_the_import_check_finds_what_it_looks_for():
    source = (
        "import json\n"
        "from lamina import ops\n"
        "from lamina.layers import layer\n"
        "def f():\n"
        "    import h5py\n"                            # optional third-party: allowed
        "    from lamina.saving import archive\n"      # a lamina package: flagged
        "    from . import tracking\n"                 # same package, relative: flagged
        "    return lambda: __import__('os')\n"
        "class C:\n"
        "    def method(self):\n"
        "        import lamina.models\n"               # in a method: flagged
        "from lamina import __version__\n")            # the facade's own name: flagged
    lines = [line for line, _ in lamina_import_problems(source, "lamina.layers.core")]
    assert lines == [6, 7, 11, 12]
