"""Where the time of lamina's ResNet training step goes: per-op CPU profile of `fit`'s
compiled epoch, grouped by what each XLA op computes.

Runs fit_resnet.py's model (batch 128) for one warm-up epoch, then one traced epoch under
`jax.profiler.trace`; each thunk of the trace is mapped to its HLO instruction in the
optimized module dumped by `--xla_dump_to`, and classed from the instruction's opcode, the
operations fused into it and the Python source line that created it (HLO metadata):
convolution GEMMs / XLA convolutions, patch building (im2col views and their transposes),
batch norm (statistics, normalization, their backward pass), ReLU and residual adds, the
optimizer, the rest.

    python benchmarks/profile_resnet.py [--rows 1024] [--out DIR] [--top 25]
    python benchmarks/profile_resnet.py --ab-batch-norm [--rounds 5]
    python benchmarks/profile_resnet.py --ab-keep-patch-bytes MB [--rounds 5]

`--ab-batch-norm` instead times `fit` epochs of two copies of the model in one process,
alternating: batch norm's closed-form derivative (lamina's) against the op-by-op derivative
of the same forward computation (before), in process CPU time (all threads) and wall time.
`--ab-keep-patch-bytes MB` likewise compares `_conv_kernels.KEEP_PATCH_BYTES` at its default
and at MB (which layers keep their patches).

Times are wall-clock per thunk, so read the shares, not absolute times, on a loaded machine.
"""

import argparse
import collections
import glob
import gzip
import json
import os
import re
import sys
import tempfile


def parse_hlo(path):
    """instruction name -> (opcode, called computations, source files, op_name), and each
    computation's instructions, from one optimized HLO text dump."""
    computations, info = {}, {}
    files, locations, frames, section = {}, {}, {}, None
    current = None
    with open(path) as f:
        lines = f.readlines()
    for line in lines:  # the stack-frame tables name each op's Python source
        if line.strip() in ("FileNames", "FunctionNames", "FileLocations", "StackFrames"):
            section = line.strip()
            continue
        m = re.match(r"^(\d+) (.*)$", line)
        if section and m:
            key, rest = int(m.group(1)), m.group(2)
            if section == "FileNames":
                files[key] = os.path.basename(rest.strip('"'))
            elif section == "FileLocations":
                locations[key] = int(re.search(r"file_name_id=(\d+)", rest).group(1))
            elif section == "StackFrames":
                frames[key] = (int(re.search(r"file_location_id=(\d+)", rest).group(1)),
                               int(re.search(r"parent_frame_id=(\d+)", rest).group(1)))
        elif not m:
            section = None

    def frame_files(frame):
        out, seen = [], set()
        while frame in frames and frame not in seen:
            seen.add(frame)
            location, parent = frames[frame]
            out.append(files.get(locations.get(location), "?"))
            frame = parent
        return tuple(out)

    for line in lines:
        m = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{\s*$", line)
        if m and not line.startswith(" "):
            current = m.group(1)
            computations.setdefault(current, [])
            continue
        m = re.match(r"^\s+(?:ROOT )?%?([\w.\-]+) = [^=]*? ([a-z\-]+)\(", line)
        if not m or current is None:
            continue
        name, opcode = m.group(1), m.group(2)
        calls = re.findall(r"calls=%?([\w.\-]+)", line)
        frame = re.search(r"stack_frame_id=(\d+)", line)
        op_name = re.search(r'op_name="([^"]+)"', line)
        entry = (opcode, calls, frame_files(int(frame.group(1))) if frame else (),
                 op_name.group(1) if op_name else "")
        computations[current].append((name, entry))
        info.setdefault(name, entry)
    return computations, info


def fused_ops(computations, name, info, seen=None):
    seen = set() if seen is None else seen
    opcode, calls, _, _ = info[name]
    ops, sources = collections.Counter(), collections.Counter()
    for comp in calls:
        if comp in seen:
            continue
        seen.add(comp)
        for inner, (op, inner_calls, src, _) in computations.get(comp, []):
            ops[op] += 1
            for file in src[:1]:  # the innermost frame: the line that made the op
                sources[file] += 1
            if inner_calls:
                sub_ops, sub_src = fused_ops(computations, inner, info, seen)
                ops.update(sub_ops)
                sources.update(sub_src)
    return ops, sources


def classify(opcode, ops, sources, op_name):
    files = sources
    all_ops = set(ops) | {opcode}
    backward = "transpose(" in op_name
    if "dot" in all_ops or "convolution" in all_ops or opcode == "custom-call":
        return "conv GEMM / XLA convolution" + (" (backward)" if backward else "")
    top = files.most_common(1)[0][0] if files else ""
    if top == "normalization.py":
        kind = ("batch norm: statistics" if "reduce" in all_ops
                else "batch norm: normalize (with fused ReLU, add, pad)")
        return kind + (" (backward)" if backward else "")
    if top == "_conv_kernels.py":
        return "patch building / conv layout" + (" (backward)" if backward else "")
    if top in ("activations.py", "activation_layers.py", "merging.py"):
        return "ReLU / add" + (" (backward)" if backward else "")
    if top in ("optimizer.py", "sgd.py", "variable.py"):
        return "optimizer"
    if top in ("pooling.py", "core.py", "functions.py", "base.py", "reduction.py"):
        return "head: pooling, dense, loss, metrics"
    if opcode in ("while", "call", "conditional", "copy", "copy-start", "copy-done",
                  "bitcast", "get-tuple-element", "tuple", "parameter"):
        return f"control / copies ({opcode})"
    return f"other ({top or opcode})"


def ab_sides(args):
    """The two sides of an A/B run: name -> a function setting lamina up for that side."""
    from lamina.layers import _conv_kernels, normalization
    if args.ab_keep_patch_bytes is None:
        closed_form = normalization._batch_norm_unmasked

        def use(fn):
            normalization._batch_norm_unmasked = fn
            normalization._batch_norm_training.clear_cache()
        return {"before": lambda: use(normalization._batch_norm_forward),
                "closed form": lambda: use(closed_form)}
    default = _conv_kernels.KEEP_PATCH_BYTES

    def keep(limit):
        _conv_kernels.KEEP_PATCH_BYTES = limit
    return {"before": lambda: keep(default),
            f"keep {args.ab_keep_patch_bytes} MB": lambda: keep(
                args.ab_keep_patch_bytes * 2**20)}


def ab(args):
    import statistics
    import time

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fit_resnet

    import lamina as keras
    x, y = fit_resnet.make_data(args.rows)
    sides = ab_sides(args)
    models = {}
    for side, setup in sides.items():
        setup()  # each model's fit program is traced once, with its side's formulation
        models[side] = fit_resnet.build_model(keras)
        models[side].fit(x, y, batch_size=fit_resnet.BATCH, epochs=1, verbose=0)
    steps = args.rows // fit_resnet.BATCH
    cpu, wall = {s: [] for s in models}, {s: [] for s in models}
    for _ in range(args.rounds):
        for side, model in models.items():
            c, w = time.process_time(), time.perf_counter()
            model.fit(x, y, batch_size=fit_resnet.BATCH, epochs=1, verbose=0)
            cpu[side].append((time.process_time() - c) / steps * 1e3)
            wall[side].append((time.perf_counter() - w) / steps * 1e3)
    print(f"{args.rows} rows, batch {fit_resnet.BATCH}, median of {args.rounds} alternating "
          f"epochs; load average {os.getloadavg()}")
    for side in models:
        print(f"{side:12} CPU {statistics.median(cpu[side]):7.1f} ms/step  wall "
              f"{statistics.median(wall[side]):7.1f} ms/step   (CPU per round: "
              f"{', '.join(f'{t:.0f}' for t in cpu[side])})")
    before, after = list(models)
    ratio = {name: statistics.median(t[before]) / statistics.median(t[after])
             for name, t in (("cpu", cpu), ("wall", wall))}
    print(f"{before} / {after}: CPU {ratio['cpu']:.3f}x, wall {ratio['wall']:.3f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument("--out", default=None)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--hand-written", action="store_true",
                        help="profile fit_resnet.py's hand-written JAX epoch instead")
    parser.add_argument("--ab-batch-norm", action="store_true")
    parser.add_argument("--ab-keep-patch-bytes", type=int, metavar="MB",
                        help="A/B of KEEP_PATCH_BYTES: the default against MB")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.ab_batch_norm or args.ab_keep_patch_bytes is not None:
        return ab(args)
    out = args.out or tempfile.mkdtemp(prefix="profile_resnet_")
    dump = os.path.join(out, "hlo")
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + f" --xla_dump_to={dump} --xla_dump_hlo_as_text")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import jax

    import fit_resnet
    if args.hand_written:
        run = fit_resnet.jax_resnet(args.rows)
    else:
        import lamina as keras
        model = fit_resnet.build_model(keras)
        x, y = fit_resnet.make_data(args.rows)

        def run():
            model.fit(x, y, batch_size=fit_resnet.BATCH, epochs=1, verbose=0, shuffle=False)
    run()
    trace_dir = os.path.join(out, "trace")
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
        run()
    (trace_path,) = glob.glob(os.path.join(trace_dir, "**", "perfetto_trace.json.gz"),
                              recursive=True)
    with gzip.open(trace_path) as f:
        events = json.load(f)
    events = events["traceEvents"] if isinstance(events, dict) else events
    # The epoch's program is the largest module (fit's loop, or the hand-written epoch).
    hlo_file = max(glob.glob(os.path.join(dump, "*after_optimizations.txt")),
                   key=os.path.getsize)
    computations, info = parse_hlo(hlo_file)
    steps = args.rows // fit_resnet.BATCH
    totals, per_op = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("ph") != "X" or "dur" not in e:
            continue
        name = e.get("name", "")
        if name not in info:
            continue  # host-side spans (Python, dispatch), not HLO ops
        opcode, calls, src, op_name = info[name]
        if opcode in ("while", "call", "conditional"):
            continue  # containers: their bodies' thunks are counted themselves
        ops, sources = fused_ops(computations, name, info)
        for file in src[:1]:
            sources[file] += 1
        category = classify(opcode, ops, sources, op_name)
        totals[category] += e["dur"]
        per_op[(name, category, op_name[-70:])] += e["dur"]
    total = sum(totals.values())
    print(f"profile of {steps} steps (batch {fit_resnet.BATCH}): {total / 1e3 / steps:.1f} ms of "
          f"XLA thunks per step (host-side trace spans, not HLO ops, left out); load average "
          f"{os.getloadavg()}")
    print(f"\n| {'category':46} | ms/step | share |")
    for category, t in totals.most_common():
        print(f"| {category:46} | {t / 1e3 / steps:7.1f} | {100 * t / total:4.1f}% |")
    print(f"\ntop {args.top} ops:")
    for (name, category, op_name), t in per_op.most_common(args.top):
        print(f"{t / 1e3 / steps:7.2f} ms  {100 * t / total:4.1f}%  {name:24} {category:36} "
              f"{op_name}")
    print(f"\n(trace and HLO dump in {out})")


if __name__ == "__main__":
    main()
