"""The package a user installs, not the checkout the suite runs in.

`python -m build` makes the sdist and, from it, the wheel (so a file missing from the sdist
breaks the wheel too). The wheel is installed, not editable, into a fresh virtual environment
that borrows this environment's third-party packages but not lamina; a short `fit`, a `.keras`
save and a load run there. Every third-party package that lamina's own modules import on the
way must be one of its declared dependencies, so an undeclared dependency fails here rather
than on a user's machine.
"""

import json
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

import lamina

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _source_modules():
    return sorted(str(path.relative_to(ROOT)) for path in (ROOT / "lamina").rglob("*.py")
                  if "__pycache__" not in path.parts)


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build uses this environment's setuptools (the test extra pins it)
    # instead of downloading one.
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True)
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return wheels[0], sdists[0]


def test_the_wheel_and_the_sdist_hold_every_module(dist):
    wheel, sdist = dist
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = sorted(n for n in archive.namelist() if n.startswith("lamina/"))
    assert in_wheel == _source_modules()
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        in_sdist = {name.removeprefix(top + "/") for name in archive.getnames()}
    assert set(_source_modules()) <= in_sdist
    assert {"pyproject.toml", "README.md", "LICENSE"} <= in_sdist


def test_the_wheel_metadata_is_complete(dist):
    wheel, _ = dist
    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode()
        names = archive.namelist()
    fields = {}
    for line in metadata.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    assert fields["Name"] == ["lamina"]
    assert fields["Version"] == [lamina.__version__]   # one source: lamina/_version.py
    assert fields["License-Expression"] == ["Apache-2.0"]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert fields["Requires-Python"] == [">=3.11"]
    assert fields["Summary"] and fields["Author"] and "Classifier" in fields
    declared = [r for r in fields["Requires-Dist"] if "extra ==" not in r]
    assert len(declared) == len(PYPROJECT["project"]["dependencies"])
    extras = set(fields["Provides-Extra"])
    assert extras == set(PYPROJECT["project"]["optional-dependencies"])


_RUN_IN_FRESH_ENV = textwrap.dedent("""
    import builtins, json, sys, tempfile, os, importlib.metadata as md

    # Record what lamina's own modules import (absolute imports), before lamina is imported.
    wanted, real_import = set(), builtins.__import__
    def recording_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and str((globals or {}).get("__name__", "")).startswith("lamina"):
            wanted.add(name.split(".")[0])
        return real_import(name, globals, locals, fromlist, level)
    builtins.__import__ = recording_import

    import numpy as np
    import lamina as keras
    from packaging.requirements import Requirement

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    history = model.fit(x, x.sum(axis=1), epochs=2, batch_size=16, verbose=0)
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    same = bool(np.allclose(model.predict(x, verbose=0), restored.predict(x, verbose=0)))
    builtins.__import__ = real_import

    def normal(name):
        return name.lower().replace("_", "-")
    declared = {normal(Requirement(text).name) for text in md.requires("lamina")
                if "extra ==" not in text}
    owners = md.packages_distributions()
    third_party = sorted(m for m in wanted if m not in sys.stdlib_module_names
                         and m != "lamina" and m in owners)
    undeclared = {m: owners[m] for m in third_party
                  if not {normal(d) for d in owners[m]} & declared}
    print(json.dumps({"file": keras.__file__, "version": keras.__version__,
                      "dist_version": md.version("lamina"), "losses": history.history["loss"],
                      "same": same, "imports": third_party, "undeclared": undeclared}))
""")


def test_the_installed_wheel_trains_saves_and_loads(dist, tmp_path):
    wheel, _ = dist
    env_dir = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    # Borrow this environment's third-party packages (a plain path: its .pth files, among
    # them lamina's editable install, are not processed), so no download is needed.
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    Path(fresh_site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--no-deps", "--no-index", "--quiet", str(wheel)],
                   check=True, capture_output=True, text=True)
    result = subprocess.run([str(python), "-c", _RUN_IN_FRESH_ENV], capture_output=True,
                            text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).is_relative_to(env_dir), report["file"]
    assert report["version"] == report["dist_version"] == lamina.__version__
    assert report["same"] and len(report["losses"]) == 2
    assert {"jax", "numpy", "h5py"} <= set(report["imports"])
    assert report["undeclared"] == {}, (
        "modules imported by an installed lamina that no declared dependency provides "
        f"(add them to [project].dependencies in pyproject.toml): {report['undeclared']}")
