"""Start-up: from `python child.py` to the end of the first `fit` epoch, in fresh processes,
twice in a row (what JAX's persistent compilation cache saves), with each child's peak memory.

For each workload (the models of the other benchmarks, imported from their scripts: fit_mlp,
fit_cnn, fit_resnet, fit_vae_decoder, fit_transformer when present), each side is launched
as a fresh Python that imports its library, generates the data, builds and compiles the
model and trains one epoch with `verbose=0`; the time is taken from just before the launch
to the end of that epoch (interpreter start, imports, model building, tracing, compilation,
one epoch). Each side runs twice in a row, each time in a new process, with a cache folder
that is empty before the first: the second run is what a user sees when they run their
script again.

Sides:

* lamina, with its default persistent compilation cache (`LAMINA_COMPILATION_CACHE` pointed
  at a fresh temporary folder per repetition, so the first run starts cold);
* lamina with the cache off (`LAMINA_COMPILATION_CACHE=off`);
* lamina with the cache on but JAX's default threshold (only compilations slower than one
  second are written; lamina's own default writes every program);
* Keras 3 on JAX as installed (no persistent cache: Keras does not turn one on);
* Keras 3 on JAX with JAX's cache turned on by the user (`JAX_COMPILATION_CACHE_DIR`, fresh
  per repetition; JAX's default one-second threshold);
* Keras 3 on TensorFlow from `--tf-python` (default /tmp/tfvenv/bin/python), when it exists.
  Every workload runs there: the benchmark scripts import JAX only inside their hand-written
  sides (that Python has no JAX).

Rows are kept small (`--rows`, default 2,048; the MLP keeps its batch 32 and so runs 64 steps)
so that the epoch itself does not dominate: what is measured is mostly start-up and
compilation. Sides alternate within each repetition and the order rotates between
repetitions; medians over `--repeats`. Also reported: the CPU time of each child (user + system,
all threads; less sensitive to a loaded machine than wall time) and its peak resident memory
(`ru_maxrss`) at the end of the epoch.

    python benchmarks/startup.py [--repeats 3] [--rows 2048] [--skip tensorflow,cache]
                                 [--workloads mlp,cnn,resnet,vae,transformer]
    python benchmarks/startup.py --step-memory   # item 7: one step's memory, by formulation
"""

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402
from _worker import TENSORFLOW, default_tf_python, keras_sides  # noqa: E402

DEFAULT_TF_PYTHON = default_tf_python()
WORKLOADS = ("mlp", "cnn", "resnet", "vae", "transformer")


# ----------------------------------------------------------------------------- child
def _workload(name, keras, rows):
    """(model, x, y, batch) of a workload, built by its own benchmark script's functions."""
    if name == "mlp":
        import fit_mlp

        x, y = fit_mlp.make_data()
        side = (fit_mlp.LaminaSide if keras.__name__ == "lamina" else fit_mlp.KerasSide)(x, y)
        return side.model, x[:rows], y[:rows], fit_mlp.BATCH
    module, build = {"cnn": ("fit_cnn", "build_keras_model"), "resnet": ("fit_resnet",
                     "build_model"), "vae": ("fit_vae_decoder", "build_model"),
                     "transformer": ("fit_transformer", "build_model")}[name]
    module = importlib.import_module(module)
    x, y = module.make_data(rows)
    return getattr(module, build)(keras), x, y, getattr(module, "BATCH", 32)


def child(name, library, rows):
    """Runs in the fresh process: import, build, one epoch; prints when each phase ended."""
    stamps = {}
    if library == "lamina":
        import lamina as keras
    else:
        if os.environ.get("KERAS_BACKEND") == "jax":
            # TensorFlow is installed beside Keras here for the test suite; Keras imports it
            # whenever it can (file utilities), which a Keras-on-JAX user without TensorFlow
            # does not pay. As in tests/conftest.py, `import tensorflow` is made to fail.
            sys.modules.setdefault("tensorflow", None)
        import keras
    stamps["imported"] = time.time()
    model, x, y, batch = _workload(name, keras, rows)
    stamps["built"] = time.time()
    history = model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    stamps["epoch"] = time.time()
    print(json.dumps({"stamps": stamps, "loss": float(history.history["loss"][-1]),
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}),
          flush=True)


def step_memory(name, library):
    """In a fresh process: XLA's temporaries of one jitted training step (forward and backward
    through `model.stateless_call`, one batch), and the peak RSS after running it twice.
    `library` "lamina-plain" is lamina with `MAX_PATCH_BYTES = 0` (plain `lax` convolutions,
    no patches kept for the backward pass)."""
    if library.startswith("lamina"):
        import lamina as keras
        from lamina.layers import _conv_kernels

        if library == "lamina-plain":
            _conv_kernels.MAX_PATCH_BYTES = 0
    else:
        sys.modules.setdefault("tensorflow", None)   # see child()
        import keras
    import jax
    import jax.numpy as jnp

    model, x, y, batch = _workload(name, keras, 256)
    x, y = x[:batch], y[:batch]
    trainable = [v.value for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]

    def loss(trainable, fixed, x, y):
        logits, fixed = model.stateless_call(trainable, fixed, x, training=True)
        picked = jnp.take_along_axis(logits, y[:, None].astype("int32"), -1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(logits, -1) - picked), fixed

    compiled = jax.jit(jax.value_and_grad(loss, has_aux=True)).lower(
        trainable, fixed, x, y).compile()
    for _ in range(2):
        jax.block_until_ready(compiled(trainable, fixed, x, y))
    print(json.dumps({"temp_mb": compiled.memory_analysis().temp_size_in_bytes / 2**20,
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def report_step_memory(args):
    print("one training step (batch of the workload): XLA temporaries, peak RSS of the process")
    for name in ("cnn", "resnet"):
        for library, env in (("lamina", {}), ("lamina-plain", {}),
                             ("keras", {"KERAS_BACKEND": "jax"})):
            done = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--step-memory", name, library],
                capture_output=True, text=True, env={**os.environ, **env})
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if not lines:
                print(f"  {name:7s} {library:13s} failed: {done.stderr.strip()[-200:]}")
                continue
            reply = json.loads(lines[-1])
            print(f"  {name:7s} {library:13s} temporaries {reply['temp_mb']:6.0f} MB   peak RSS "
                  f"{reply['max_rss_mb']:6.0f} MB")


# ----------------------------------------------------------------------------- parent
def side_specs(args, cache_root):
    """name -> (python, library, env, per-repetition cache variable or None)."""
    specs = {
        "lamina": (sys.executable, "lamina", {}, "LAMINA_COMPILATION_CACHE"),
        "lamina (cache off)": (sys.executable, "lamina", {"LAMINA_COMPILATION_CACHE": "off"},
                               None),
        # lamina writes every compiled program to its cache; JAX's own default writes only
        # compilations slower than a second: what that threshold would leave to compile.
        "lamina (JAX's 1 s threshold)": (
            sys.executable, "lamina", {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "1"},
            "LAMINA_COMPILATION_CACHE"),
        "keras 3 (jax)": (sys.executable, "keras", {"KERAS_BACKEND": "jax"}, None),
        "keras 3 (jax) + JAX cache": (sys.executable, "keras", {"KERAS_BACKEND": "jax"},
                                      "JAX_COMPILATION_CACHE_DIR"),
    }
    for name, python, env in keras_sides(args.tf_python, names=(TENSORFLOW,)):
        specs[name] = (python, "keras", env, None)
    skip = set(filter(None, args.skip.split(",")))
    return {name: spec for name, spec in specs.items()
            if name == "lamina" or not any(word in name for word in skip)}


def launch(python, workload, library, rows, env):
    """One fresh process; (seconds from launch to the end of the epoch, CPU seconds, reply)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    done = subprocess.run(
        [python, os.path.abspath(__file__), "--child", workload, library, "--rows", str(rows)],
        capture_output=True, text=True, env={**os.environ, **env})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return None, None, tail
    reply = json.loads(lines[-1])
    reply["stamps"] = {phase: stamp - start for phase, stamp in reply["stamps"].items()}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return reply["stamps"]["epoch"], cpu, reply


def measure(workload, specs, args, cache_root):
    """{side: {"first"/"second": [(seconds, cpu, reply)]}} over the repetitions."""
    results = {name: {"first": [], "second": []} for name in specs}
    names = list(specs)
    for rep in range(args.repeats):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            python, library, env, cache_variable = specs[name]
            env = dict(env)
            if cache_variable:
                env[cache_variable] = tempfile.mkdtemp(prefix="cache-", dir=cache_root)
            for run in ("first", "second"):
                seconds, cpu, reply = launch(python, workload, library, args.rows, env)
                if seconds is None:
                    print(f"  ({workload}, {name}: the child failed: {reply})")
                    results[name] = None
                    break
                results[name][run].append((seconds, cpu, reply))
            if results[name] is None:
                names.remove(name)
                specs = {n: s for n, s in specs.items() if n != name}
        results = {n: r for n, r in results.items() if r is not None}
    return results


def summarize(workload, results, rows):
    def med(samples, pick):
        return statistics.median(pick(s) for s in samples)

    print(f"{workload}, {rows} rows: median over {len(next(iter(results.values()))['first'])} "
          "repetitions; seconds from launch to the end of the first epoch (CPU seconds), "
          "peak RSS")
    table = {}
    for name, runs in results.items():
        row = {}
        for run in ("first", "second"):
            samples = runs[run]
            row[run] = med(samples, lambda s: s[0])
            row[run + "_cpu"] = med(samples, lambda s: s[1])
            row[run + "_rss"] = med(samples, lambda s: s[2]["max_rss_mb"])
            row[run + "_import"] = med(samples, lambda s: s[2]["stamps"]["imported"])
        row["loss"] = runs["second"][-1][2]["loss"]
        table[name] = row
        print(f"  {name:28s} fresh {row['first']:6.2f} s ({row['first_cpu']:6.2f} cpu)  "
              f"second {row['second']:6.2f} s ({row['second_cpu']:6.2f} cpu)  "
              f"saved {row['first'] - row['second']:+6.2f} s  peak RSS "
              f"{row['first_rss']:5.0f} / {row['second_rss']:5.0f} MB  loss {row['loss']:.4f}")
    lamina = table.get("lamina")
    if lamina is None:
        return
    for name, row in table.items():
        if name == "lamina":
            continue
        first, second = row["first"] / lamina["first"], row["second"] / lamina["second"]
        print(f"  {name} / lamina: fresh {first:.2f}, second {second:.2f} (CPU time: fresh "
              f"{row['first_cpu'] / lamina['first_cpu']:.2f}, second "
              f"{row['second_cpu'] / lamina['second_cpu']:.2f}); peak RSS "
              f"{row['first_rss'] / lamina['first_rss']:.2f}")
        for run, ratio in (("first", first), ("second", second)):
            _results.emit(f"start-up {workload} ({'fresh' if run == 'first' else 'second'} "
                          "process)", name, ratio, seconds=round(row[run], 3),
                          lamina_seconds=round(lamina[run], 3), cpu_s=round(row[run + "_cpu"], 3),
                          lamina_cpu_s=round(lamina[run + "_cpu"], 3),
                          peak_rss_mb=round(row[run + "_rss"]),
                          lamina_peak_rss_mb=round(lamina[run + "_rss"]))


def available(workload):
    """Whether the workload's benchmark script is here (fit_transformer.py may not be)."""
    script = {"mlp": "fit_mlp", "cnn": "fit_cnn", "resnet": "fit_resnet",
              "vae": "fit_vae_decoder", "transformer": "fit_transformer"}[workload]
    return os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                       script + ".py"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2048)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--tf-python", default=DEFAULT_TF_PYTHON)
    parser.add_argument("--skip", default="", help="comma-separated words of side names to skip")
    parser.add_argument("--step-memory", nargs="*", help="instead: XLA's temporaries and the "
                        "peak RSS of one training step, lamina (with and without its CPU "
                        "convolution patches) and Keras 3 on JAX, on the CNN and the ResNet")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child, args.rows)
    if args.step_memory:
        return step_memory(*args.step_memory)
    if args.step_memory is not None:
        return report_step_memory(args)
    with tempfile.TemporaryDirectory(prefix="lamina-startup-") as cache_root:
        for workload in args.workloads.split(","):
            if not available(workload):
                print(f"({workload}: its benchmark script is not in benchmarks/; skipped)")
                continue
            specs = side_specs(args, cache_root)
            summarize(workload, measure(workload, specs, args, cache_root), args.rows)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
