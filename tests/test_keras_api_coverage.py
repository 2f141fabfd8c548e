"""lamina exports every public name of Keras 3's main namespaces (`import lamina as keras`).

The reference is the installed Keras (the test dependency is pinned to one minor series in
pyproject.toml, so the list does not move under the test). Its names are read in a
subprocess, so that this process never imports Keras: `dir()` of each namespace module, without
private names. A Keras name is `keras.X.name`; lamina's is `lamina.X.name`.

A name lamina lacks fails the test unless it is listed below:

* `EXCLUDED`: names that cannot exist on a library that runs on JAX alone, each with why;
* `PENDING`: names that another open issue adds, each under that issue.

Both lists only shrink: a listed name that lamina now has fails the test until it is removed
from its list. `keras.X.*` stands for every name of namespace `keras.X`.
"""

import importlib
import importlib.util
import json
import pathlib

import pytest

import lamina

KERAS_SERIES = "3.15."

# keras.X for X in these ("" is the top level).
NAMESPACES = (
    "", "layers", "ops", "ops.nn", "ops.numpy", "ops.linalg", "ops.image", "activations",
    "initializers", "regularizers", "constraints", "losses", "metrics", "optimizers",
    "optimizers.schedules", "callbacks", "models", "saving", "utils", "random", "backend",
    "datasets", "distribution", "mixed_precision", "tree", "quantizers", "export",
    "visualization", "applications", "preprocessing", "dtype_policies", "config", "wrappers",
    "distillation", "optimizers.legacy",
)

EXCLUDED = {
    "keras.src": "Keras's implementation package, not part of its API (`keras.src.layers...`).",
    "keras.layers.TorchModuleWrapper": "wraps a `torch.nn.Module`: needs PyTorch and the "
                                       "torch backend.",
    "keras.layers.TFSMLayer": "calls a TensorFlow SavedModel's concrete functions: needs "
                              "TensorFlow's runtime.",
}

PENDING = {
    17: ("preprocessing and augmentation layers, the image ops and initializers they stand "
         "on, dataset utilities", [
    ]),
}

def _keras_public_names_script():
    """scripts/keras_public_names.py, which lists the installed Keras's names in a child
    process (this one never imports Keras) and writes the docs' snapshot of them."""
    path = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "keras_public_names.py"
    spec = importlib.util.spec_from_file_location("keras_public_names", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def keras_names():
    """`{namespace: [names]}` of the installed Keras, read in a subprocess."""
    if importlib.util.find_spec("keras") is None:
        pytest.skip("Keras 3 (a test dependency) is not installed")
    listing = _keras_public_names_script().list_keras_names(NAMESPACES)
    assert listing["version"].startswith(KERAS_SERIES), (
        f"The reference is Keras {KERAS_SERIES}x (pinned in pyproject.toml); installed: "
        f"{listing['version']}. Reinstall the test dependencies, or move the pin and review "
        "the new names.")
    return listing["names"]


def _lamina_lookup(namespace, name):
    """(found, problem): whether `lamina.<namespace>.<name>` exists, and the error if looking
    it up raised something other than AttributeError (a broken lazy import)."""
    target = lamina
    try:
        for part in [p for p in namespace.split(".") if p] + [name]:
            target = getattr(target, part)
    except AttributeError:
        return False, None
    except Exception as error:  # noqa: BLE001  (reported, not hidden)
        return False, f"{type(error).__name__}: {error}"
    return True, None


def _keras_name(namespace, name):
    return ".".join(["keras", namespace, name] if namespace else ["keras", name])


def _listed():
    """{keras name or 'keras.X.*': where it is listed}."""
    listed = {name: "EXCLUDED" for name in EXCLUDED}
    for issue, (_, names) in PENDING.items():
        for name in names:
            assert name not in listed, f"{name} is listed twice"
            listed[name] = f"PENDING[{issue}]"
    return listed


def _is_listed(listed, namespace, name):
    full = _keras_name(namespace, name)
    return full in listed or (namespace and f"keras.{namespace}.*" in listed)


def _survey(keras_names):
    """Per namespace: (total, present, missing not listed, problems)."""
    listed = _listed()
    report = {}
    for namespace, names in keras_names.items():
        present, missing, problems = 0, [], []
        for name in names:
            found, problem = _lamina_lookup(namespace, name)
            if found:
                present += 1
                continue
            if problem:
                problems.append(f"{name} ({problem})")
            if not _is_listed(listed, namespace, name):
                missing.append(name)
        report[namespace] = (len(names), present, missing, problems)
    return report


def _summary(report):
    lines, total, present = [], 0, 0
    for namespace, (count, found, missing, problems) in report.items():
        total, present = total + count, present + found
        line = f"  keras.{namespace or '(top level)'}: {found}/{count}"
        if missing:
            line += f"; missing, not listed: {', '.join(missing)}"
        if problems:
            line += f"; lookup raised: {'; '.join(problems)}"
        lines.append(line)
    lines.append(f"  total: {present}/{total} ({100 * present / total:.1f}%)")
    return "\n".join(lines)


def test_every_keras_name_exists_in_lamina(keras_names):
    report = _survey(keras_names)
    missing = {namespace: entry[2] for namespace, entry in report.items() if entry[2]}
    problems = {namespace: entry[3] for namespace, entry in report.items() if entry[3]}
    assert not missing and not problems, (
        f"{sum(map(len, missing.values()))} Keras names are missing from lamina and from the "
        "EXCLUDED/PENDING lists of tests/test_keras_api_coverage.py. Add them to lamina (or, "
        "if another issue adds them, to PENDING under it).\n" + _summary(report))


def test_listed_names_are_still_missing(keras_names):
    """The lists only shrink: a name lamina now has comes off its list."""
    present = []
    for listed_name, where in _listed().items():
        namespace, _, name = listed_name[len("keras."):].rpartition(".")
        if name == "*":
            found = [n for n in keras_names.get(namespace, ())
                     if _lamina_lookup(namespace, n)[0]]
            if found:
                present.append(f"{listed_name} ({where}): lamina now has {', '.join(found)}; "
                               "list the names still missing instead of the wildcard")
        elif _lamina_lookup(namespace, name)[0]:
            present.append(f"{listed_name} ({where})")
    assert not present, (
        "These listed names now exist in lamina: remove them from their list in "
        "tests/test_keras_api_coverage.py.\n  " + "\n  ".join(present))


def test_listed_names_are_keras_names(keras_names):
    """No stale entries: each listed name is a public name of the pinned Keras."""
    unknown = []
    for listed_name in _listed():
        namespace, _, name = listed_name[len("keras."):].rpartition(".")
        if name == "*":
            if namespace not in keras_names:
                unknown.append(listed_name)
        elif name not in keras_names.get(namespace, ()):
            unknown.append(listed_name)
    assert not unknown, f"Not names of Keras {KERAS_SERIES}x's namespaces: {unknown}"


def test_the_docs_snapshot_of_keras_names_is_current(keras_names):
    """The documentation's compatibility page is built from tests/keras_public_names.json
    (the site builds without Keras); it must list what the pinned Keras lists."""
    snapshot = json.loads((pathlib.Path(__file__).parent / "keras_public_names.json")
                          .read_text())["names"]
    assert snapshot == keras_names, (
        "tests/keras_public_names.json differs from the installed Keras: run "
        "`.venv/bin/python scripts/keras_public_names.py` and commit the file")
