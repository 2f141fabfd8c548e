"""Hostile `.keras` files that try to run code through the config, as an attacker writes them.

Each file is a real archive (saved by lamina, then its config.json rewritten) whose Lambda layer
names a function that touches files, processes or loading settings, and hands it attacker
arguments (the CVE-2025-9906 pattern; CVE-2024-3660 and CVE-2025-1550 used the same door
through lambdas and arbitrary modules). Every one must be refused with a clear error, with the
default safe mode, an explicit `safe_mode=True`, and `safe_mode=False` alike (unsafe mode lets
lambdas load, never other callables), and must leave a sentinel untouched: no file created, unsafe deserialization not switched on for
later loads. (That no module a file names is imported is tested in test_serialization.py.)
"""

import json
import os
import zipfile

import pytest

import lamina as keras
from lamina import _serialization as serialization


def _archive(tmp_path, function_config, arguments):
    """A model file whose Lambda layer calls `function_config` with `arguments`."""
    model = keras.Sequential([
        keras.Input((3,)),
        keras.layers.Lambda(keras.activations.leaky_relu, arguments={"negative_slope": 0.1})])
    clean = tmp_path / "clean.keras"
    model.save(clean)
    with zipfile.ZipFile(clean) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    config = json.loads(entries["config.json"])
    lambda_config = config["config"]["layers"][1]["config"]
    lambda_config["function"] = function_config
    lambda_config["arguments"] = arguments
    entries["config.json"] = json.dumps(config).encode()
    hostile = tmp_path / "hostile.keras"
    with zipfile.ZipFile(hostile, "w") as target:
        for name, data in entries.items():
            target.writestr(name, data)
    return hostile


def _function(module, name):
    return {"module": module, "class_name": "function", "config": name,
            "registered_name": "function"}


def _attacks(sentinel):
    """(description, function config, arguments): each would create `sentinel` if it ran."""
    sentinel = str(sentinel)
    download = {"fname": os.path.basename(sentinel), "origin": "file:///etc/hostname",
                "cache_dir": os.path.dirname(sentinel), "cache_subdir": "."}
    return [
        ("public non-modeling API", _function("keras.utils", "get_file"), download),
        ("private module path", _function("keras.utils.file_utils", "get_file"), download),
        ("Keras source path", _function("keras.src.utils.file_utils", "get_file"), download),
        ("lamina spelling", _function("lamina.utils", "get_file"), download),
        ("bare name", _function("builtins", "get_file"), download),
        ("private helper", _function("keras._serialization", "enable_unsafe_deserialization"),
         {}),
        ("loading settings", _function("keras.config", "enable_unsafe_deserialization"), {}),
        ("a process", _function("os", "system"), {"command": f"touch {sentinel}"}),
        ("builtins", _function("builtins", "exec"),
         {"source": f"open({sentinel!r}, 'w').close()"}),
        ("a module to import", _function("subprocess", "getoutput"),
         {"cmd": f"touch {sentinel}"}),
        ("a class from a module", {"module": "pathlib", "class_name": "Path",
                                   "config": {}, "registered_name": "Path"}, {}),
    ]


ATTACK_NAMES = [attack[0] for attack in _attacks("/tmp/x")]


@pytest.mark.parametrize("attack", ATTACK_NAMES)
@pytest.mark.parametrize("safe_mode", [None, True, False])
def test_configs_cannot_call_functions_that_are_not_modeling_objects(tmp_path, monkeypatch,
                                                                     attack, safe_mode):
    monkeypatch.setattr(serialization, "_unsafe_everywhere", False)
    sentinel = tmp_path / "sentinel"
    _, function_config, arguments = next(a for a in _attacks(sentinel) if a[0] == attack)
    path = _archive(tmp_path, function_config, arguments)
    kwargs = {} if safe_mode is None else {"safe_mode": safe_mode}
    with pytest.raises((TypeError, ValueError)) as caught:
        keras.models.load_model(path, **kwargs)
    message = str(caught.value)
    assert "Refusing to deserialize" in message or "Could not find" in message, message
    assert not sentinel.exists()
    assert serialization.in_safe_mode() is not False  # unsafe mode was not switched on


def test_an_explicit_safe_mode_wins_over_the_process_setting(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "_unsafe_everywhere", False)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2)])
    path = tmp_path / "lambda.keras"
    with keras.saving.allow_lambda_code():
        model.save(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(path)
    keras.config.enable_unsafe_deserialization()
    assert keras.models.load_model(path).layers[-1].function(3) == 6  # the default follows it
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(path, safe_mode=True)  # an explicit choice is never overridden
