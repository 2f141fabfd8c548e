"""What compiling the last, partial batch's training step at a lower XLA backend optimization
level (lamina.training.engine's `_ONCE_PER_EPOCH_OPTIONS`: level 0 until 2026-12-05, now the
default) costs at run time and saves at compile time, on the small CNN of fit_cnn.py and the
ResNet of fit_resnet.py.

For each model, lamina's own partial-batch program (`StepPrograms._gather`, the program `fit`
runs once per epoch for the rows that do not fill a batch) is compiled at XLA's default level
and at each of `--levels` (0 and 1 by default), each compilation timed (wall and this
process's CPU time); then the executables run in turn, alternating, `--runs` times each, and
the medians after the first are compared. The run-time difference is paid once per epoch; the
compile-time difference once per process (and not at all when the persistent compilation
cache has the program). Run it with `LAMINA_COMPILATION_CACHE=off`.

    LAMINA_COMPILATION_CACHE=off python benchmarks/partial_batch_opt.py [--models cnn,resnet]
                                                                       [--runs 7] [--levels 0,1]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def model_and_data(name):
    import lamina

    if name == "cnn":
        import fit_cnn as script
        model, batch, rows = script.build_keras_model(lamina), script.BATCH, 2 * script.BATCH
    else:
        import fit_resnet as script
        model, batch, rows = script.build_model(lamina), script.BATCH, 2 * script.BATCH
    x, y = script.make_data(rows)
    # A partial batch of about half a batch: what the rows of an epoch leave over.
    return model, x, y, batch, batch // 2 + 3


def cpu_seconds():
    return time.process_time()


def measure(name, runs, levels):
    import jax
    import jax.numpy as jnp

    from lamina.training import data as data_lib

    model, x, y, batch, partial = model_and_data(name)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # builds the state and programs
    data = data_lib.make_data(x, y, batch_size=batch, shuffle=False)  # as fit holds them
    programs = model._programs_for_spec("train", data.batch_spec(batch))
    arrays = data.arrays
    indices = jnp.arange(partial, dtype=jnp.int32)
    lowered = programs._gather.lower(programs.read_values(), arrays, indices)
    compiled, compile_wall, compile_cpu = {}, {}, {}
    levels = [("default", None)] + [(f"level {level}", {"xla_backend_optimization_level": level})
                                    for level in levels]
    for label, options in levels:
        wall, cpu = time.perf_counter(), cpu_seconds()
        compiled[label] = lowered.compile(options)
        compile_wall[label] = time.perf_counter() - wall
        compile_cpu[label] = cpu_seconds() - cpu
    times = {label: [] for label in compiled}
    for _ in range(runs):
        for label, program in compiled.items():
            values = programs.read_values()
            values = jax.tree_util.tree_map(jnp.copy, values)  # donated by the program
            jax.block_until_ready(values)
            start = time.perf_counter()
            out = program(values, arrays, indices)
            jax.block_until_ready(out)
            times[label].append(time.perf_counter() - start)
    run = {label: statistics.median(t[1:]) for label, t in times.items()}
    print(f"{name}: partial batch of {partial} rows (batch {batch})")
    for label in compiled:
        print(f"  {label:8s} compile {compile_wall[label]:6.2f} s wall {compile_cpu[label]:6.2f} s "
              f"CPU   run {run[label] * 1e3:8.2f} ms (median of {runs - 1})")
    for label in list(compiled)[1:]:
        saved = compile_cpu["default"] - compile_cpu[label]
        cost = run[label] - run["default"]
        print(f"  {label} saves {saved:.2f} s of compile CPU once and costs {cost * 1e3:+.2f} "
              f"ms per epoch" + (f": even after {saved / cost:.0f} epochs" if cost > 0 else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="cnn,resnet")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--levels", default="0,1",
                        help="XLA backend optimization levels to set beside the default")
    args = parser.parse_args()
    load = os.getloadavg()
    for name in args.models.split(","):
        measure(name, args.runs, [int(v) for v in args.levels.split(",")])
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start")


if __name__ == "__main__":
    main()
