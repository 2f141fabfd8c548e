"""`TextVectorization.adapt` and vectorizing 100k short texts: lamina vs Keras 3 (JAX, TensorFlow).

The texts: 100,000 generated sentences of 4 to 16 words drawn (Zipf-like) from a 30,000-word
vocabulary, with capitals and punctuation, so standardization has work to do. Each side, in
its own process (a process holds one Keras backend), runs `rounds` times:

* adapt: `TextVectorization(max_tokens=20000, output_sequence_length=32).adapt(texts)`
  (texts as a NumPy array of str);
* vectorize: the adapted layer called on all the texts at once (`int` output, padded to 32),
  and in batches of 1,000 (as a data pipeline would).

Sides: lamina; Keras 3 on JAX (needs TensorFlow installed: Keras runs this layer through it
on every backend); Keras 3 on TensorFlow with `--tf-python` (default: /tmp/tfvenv/bin/python
when it exists, else this Python if it has TensorFlow). A side that fails says why and the
others still report (without lamina, their times only, and no ratio). Sides run one after
another, round by round, so load on the machine hits all of them. Reported: medians, and
Keras/lamina ratios (above 1: lamina is faster); each side's outputs are checked equal to
lamina's (same vocabulary, same ids), and a side whose outputs differ is a failure in the
`RESULT` lines (`_results.emit`) that run_all.py collects.

    python benchmarks/text_vectorization.py [--rows 100000] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import _results
from _worker import TENSORFLOW, default_tf_python, keras_sides

DEFAULT_TF_PYTHON = default_tf_python()

_SIDE = r"""
import json, os, sys, time
backend = sys.argv[1]
if backend != "lamina":
    os.environ["KERAS_BACKEND"] = backend
import numpy as np
if backend == "lamina":
    import lamina as keras
else:
    import keras
texts = np.load(sys.argv[2])
rounds = int(sys.argv[3])
results = {"adapt": [], "vectorize": [], "vectorize_batches": []}
for _ in range(rounds):
    layer = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=32)
    start = time.perf_counter()
    layer.adapt(texts)
    results["adapt"].append(time.perf_counter() - start)
    start = time.perf_counter()
    ids = np.asarray(layer(texts))
    results["vectorize"].append(time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(0, len(texts), 1000):
        np.asarray(layer(texts[i:i + 1000]))
    results["vectorize_batches"].append(time.perf_counter() - start)
vocabulary = [str(t) for t in layer.get_vocabulary()]
results["checksum"] = [int(ids.sum()), int((ids > 0).sum()), len(vocabulary)]
results["vocabulary_head"] = vocabulary[:50]
print(json.dumps(results))
"""


def make_texts(rows, seed=0):
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = ["".join(rng.choice(letters, size=rng.integers(2, 9))) for _ in range(30000)]
    ranks = np.arange(1, len(words) + 1)
    probabilities = (1.0 / ranks) / (1.0 / ranks).sum()
    punctuation = [".", ",", "!", "?", ";", ""]
    texts = []
    for _ in range(rows):
        chosen = rng.choice(len(words), size=rng.integers(4, 17), p=probabilities)
        sentence = " ".join(words[i] for i in chosen)
        texts.append(sentence[:1].upper() + sentence[1:] + punctuation[rng.integers(6)])
    return np.array(texts)


def run_side(python, backend, path, rounds):
    env = {**os.environ}
    env.pop("KERAS_BACKEND", None)
    try:
        result = subprocess.run([python, "-c", _SIDE, backend, path, str(rounds)],
                                capture_output=True, text=True, env=env, timeout=3600)
    except OSError as error:  # the Python itself cannot be started
        return {"error": str(error)[:300]}
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        why = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        return {"error": why[-1][:300]}
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tf-python", default=DEFAULT_TF_PYTHON)
    args = parser.parse_args()
    texts = make_texts(args.rows)
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"texts_{args.rows}.npy")
    np.save(path, texts)
    short = {"keras 3 (jax)": "keras_jax", TENSORFLOW: "keras_tf"}
    sides = {"lamina": (sys.executable, "lamina")}
    sides.update((short[name], (python, env["KERAS_BACKEND"]))
                 for name, python, env in keras_sides(args.tf_python))
    results = {name: {"adapt": [], "vectorize": [], "vectorize_batches": []}
               for name in sides}
    extra, errors = {}, {}
    for _ in range(args.rounds):  # one round per process start, sides in turn
        for name, (python, backend) in sides.items():
            side = run_side(python, backend, path, 1)
            if "error" in side:
                errors[name] = side["error"]
                continue
            for key in results[name]:
                results[name][key] += side[key]
            extra[name] = side
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"TextVectorization on {args.rows:,} texts, {args.rounds} rounds, {started}, "
          f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f})")
    reference = extra.get("lamina", {})
    print(f"{'side':<12}{'adapt (s)':>12}{'vectorize (s)':>16}{'in 1k batches (s)':>20}"
          f"{'adapt ratio':>13}{'vectorize ratio':>17}  outputs")
    medians = {name: {k: statistics.median(v) for k, v in timings.items() if v}
               for name, timings in results.items()}
    base = medians["lamina"]
    if not base:
        print("(lamina's side failed, so no ratio can be given; the others' times are shown)")
    for name, timing in medians.items():
        if not timing:
            print(f"{name:<12}  failed, not measured: {errors.get(name)}")
            continue
        if not base:
            print(f"{name:<12}{timing['adapt']:>12.3f}{timing['vectorize']:>16.3f}"
                  f"{timing['vectorize_batches']:>20.3f}")
            continue
        same = (extra[name].get("checksum") == reference.get("checksum")
                and extra[name].get("vocabulary_head") == reference.get("vocabulary_head"))
        print(f"{name:<12}{timing['adapt']:>12.3f}{timing['vectorize']:>16.3f}"
              f"{timing['vectorize_batches']:>20.3f}"
              f"{timing['adapt'] / base['adapt']:>13.2f}"
              f"{timing['vectorize'] / base['vectorize']:>17.2f}  "
              f"{'equal to lamina' if same else 'DIFFERENT'}")
        if name != "lamina":
            against = {"keras_jax": "keras 3 (jax)", "keras_tf": "keras 3 (tensorflow)"}[name]
            for step in ("adapt", "vectorize"):
                _results.emit(f"TextVectorization {step}", against,
                              timing[step] / base[step], failure=not same, rows=args.rows)


if __name__ == "__main__":
    main()
