"""Every chapter example runs to the end with `--small`, and what it prints checks out.

Each script prints the checks it makes (predictions agree after reloading, a value computed
by lamina equals the one computed by hand); these tests run the scripts as a user would, in a
fresh process, and hold them to those claims. All of them run in one fresh process
(tests/examples/_run_examples.py calls each script's main(["--small"]) in turn, clearing the
session in between), which pays for starting Python, JAX and lamina once instead of twelve
times; `python examples/demo.py` itself is what tests/examples/test_demo.py runs.
"""

import json
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
DRIVER = pathlib.Path(__file__).with_name("_run_examples.py")
MARKER = "\n@@example results@@\n"  # as in _run_examples.py: its JSON follows
CHECKS = {}  # script name -> the function that checks what it printed


def checks(name):
    def register(function):
        CHECKS[name] = function
        return function
    return register


def numbers_after(label, text):
    """The numbers on each line that contains `label`, after it."""
    found = []
    for line in text.splitlines():
        if label in line:
            tail = line.split(label, 1)[1]
            found.append([float(n) for n in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", tail)])
    assert found, f"no line with {label!r} in:\n{text}"
    return found


def test_every_example_script_has_a_test():
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    tested = set(CHECKS) | {"demo"}  # tests/examples/test_demo.py
    assert scripts <= tested, f"examples without a smoke test: {sorted(scripts - tested)}"


def test_every_example_runs_and_prints_what_it_claims():
    """One test, so that the scripts' single process runs once even when xdist spreads a
    module's tests over workers; each script's failure is reported, not only the first."""
    result = subprocess.run([sys.executable, str(DRIVER), *CHECKS], capture_output=True,
                            text=True, timeout=600, cwd=EXAMPLES.parent)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    outputs = json.loads(result.stdout.rsplit(MARKER, 1)[1])
    failures = []
    for name, check in CHECKS.items():
        run = outputs[name]
        if run["returncode"] != 0:
            failures.append(f"examples/{name}.py --small exited with {run['returncode']}:\n"
                            f"{run['stdout'][-3000:]}\n{run['error'][-3000:]}")
            continue
        try:
            check(run["stdout"])
        except AssertionError as error:
            failures.append(f"examples/{name}.py --small: {error}\n{run['stdout'][-2000:]}")
    assert not failures, "\n\n".join(failures)


@checks("custom_losses")
def check_custom_losses_survive_saving(out):
    assert out.count("same predictions after reloading: True") == 3
    for test_loss, reloaded in numbers_after("test loss", out):
        assert test_loss == reloaded
    assert "kept its threshold: 2.0" in out
    assert "loading without custom_objects fails: DeserializationError" in out


@checks("custom_components")
def check_custom_components_constrain_regularize_and_reload(out):
    assert "same predictions after reloading: False" not in out
    assert out.count("same predictions after reloading: True") >= 2
    smallest = numbers_after("smallest output-layer weight after training:", out)
    assert all(value[0] >= -0.05 for value in smallest)  # the constraint's minimum
    for penalty in numbers_after("regularization loss:", out):
        assert penalty[0] == penalty[1]  # lamina's and the hand-computed penalty
    assert "sharpness=2.0, scale=0.5, factor=0.01, minimum=-0.05" in out


@checks("custom_metrics")
def check_custom_metrics_stream_like_the_hand_computed_value(out):
    (reloaded, by_hand), = numbers_after("reloaded model's test HuberMetric:", out)
    assert reloaded == by_hand


@checks("custom_layers")
def check_custom_layers_compute_what_the_chapter_says(out):
    assert "sum: [[5.0, 10.0]]" in out and "product: [[4.0, 16.0]]" in out
    (training_std, inference_std), = numbers_after("std of the output, training=True:", out)
    assert 0.8 < training_std < 1.2 and inference_std == 0.0


@checks("custom_models")
def check_custom_models_reload_as_their_class(out):
    assert "reloaded a ResidualRegressor: same predictions: True" in out


@checks("model_internals")
def check_losses_from_model_internals_match_the_hand_computed_loss(out):
    (loss, by_hand), = numbers_after("test loss (mse + 0.05 * reconstruction):", out)
    assert loss == pytest.approx(by_hand, abs=1e-4)
    (error, by_hand), = numbers_after("test reconstruction error:", out)
    assert error == pytest.approx(by_hand, abs=1e-4)


@checks("autodiff")
def check_autodiff_gives_the_books_gradients(out):
    assert "my_better_softplus(100) = 100.0, gradient 1.0" in out
    assert "my_softplus(100) = inf, gradient nan" in out


@checks("custom_training_loop")
def check_custom_training_loop_respects_the_constraint(out):
    (norm, max_value), = numbers_after("largest norm of a first-layer kernel column:", out)
    assert max_value == 1.0 and norm <= 1.0 + 1e-4
    (traces, steps), = numbers_after("train_step was traced", out)
    assert traces <= 2 < steps  # one trace per batch shape, not one per step


@checks("tracing")
def check_tracing_rules(out):
    assert "TracerBoolConversionError; tf.where works: 2.0" in out
    assert "jax.lax.fori_loop adding 1 ten times to 0: 10.0" in out
    assert "a Variable created at every call: ValueError" in out


@checks("custom_optimizer")
def check_custom_optimizer_matches_sgd_with_momentum(out):
    (difference,), = numbers_after("largest weight difference:", out)
    assert difference < 1e-6
    assert "same config: True" in out and "velocities restored: True" in out


@checks("layer_normalization")
def check_layer_normalization_by_hand_matches_the_built_in(out):
    for label in ("mean absolute difference, initial weights:",
                  "mean absolute difference, random weights:",
                  "largest relative difference between the weight gradients:"):
        (difference,), = numbers_after(label, out)
        assert difference < 1e-5, label


@checks("fashion_mnist_loop")
def check_fashion_mnist_shaped_loop_learns(out):
    losses = [float(loss) for loss in re.findall(r"^epoch \d+: loss=([\d.]+)", out, re.M)]
    assert len(losses) >= 2 and losses[-1] < losses[0]
