"""Writes keras_preprocessing_model.keras and its expected outputs with Keras 3.15 (JAX backend;
Keras runs these layers through TensorFlow, so TensorFlow must be installed):

    KERAS_BACKEND=jax python tests/layers/preprocessing/data/make_keras_preprocessing_model.py

The model has four inputs, each read by an adapted preprocessing layer (TextVectorization,
StringLookup in tf_idf mode, IntegerLookup, Discretization), joined by a Dense layer. Keras on
JAX cannot call a model whose input is a string, so the expected outputs are computed layer
by layer here, and the test checks that lamina's whole model gives the same numbers.

With `--check FILE` (a file lamina saved from this model), Keras loads it instead and the
script checks that its vocabularies, token ids, TF-IDF outputs and bin boundaries are the
expected ones (prints "ok").
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TEXTS = ["The cat sat on the mat.", "the dog ran!", "a cat, a dog", "birds sing"]
TAGS = [["red", "blue"], ["red", "red"], ["green", "blue"], ["blue", "blue"]]
IDS = [[3], [7], [3], [11]]
VALUES = [[0.5], [2.0], [7.5], [3.0]]


def build():
    keras.utils.set_random_seed(7)
    text = keras.Input(shape=(1,), dtype="string", name="text")
    tags = keras.Input(shape=(2,), dtype="string", name="tags")
    ids = keras.Input(shape=(1,), dtype="int64", name="ids")
    values = keras.Input(shape=(1,), name="values")
    vectorize = keras.layers.TextVectorization(max_tokens=12, output_sequence_length=6,
                                               name="vectorize")
    vectorize.adapt(TEXTS)
    tag_lookup = keras.layers.StringLookup(output_mode="tf_idf", name="tag_lookup")
    tag_lookup.adapt(np.array(TAGS))
    id_lookup = keras.layers.IntegerLookup(output_mode="one_hot", name="id_lookup")
    id_lookup.adapt(np.array(IDS))
    bins = keras.layers.Discretization(num_bins=3, output_mode="one_hot", name="bins")
    bins.adapt(np.array(VALUES, dtype="float32"))
    embed = keras.layers.Embedding(12, 3, name="embed")
    pool = keras.layers.GlobalAveragePooling1D(name="pool")
    dense = keras.layers.Dense(2, name="dense")
    parts = [pool(embed(vectorize(text))), tag_lookup(tags),
             keras.ops.cast(id_lookup(ids), "float32"), bins(values)]
    model = keras.Model([text, tags, ids, values],
                        dense(keras.layers.Concatenate(name="join")(parts)))
    layers = dict(vectorize=vectorize, tag_lookup=tag_lookup, id_lookup=id_lookup, bins=bins,
                  embed=embed, pool=pool, dense=dense)
    return model, layers


def main():
    model, layers = build()
    model.save(os.path.join(HERE, "keras_preprocessing_model.keras"))
    text = np.array([[t] for t in TEXTS + ["unknown words here"]])
    tags = np.array(TAGS + [["purple", "red"]])
    ids = np.array(IDS + [[99]])
    values = np.array(VALUES + [[-1.0]], dtype="float32")
    token_ids = np.asarray(layers["vectorize"](text))
    parts = [np.asarray(layers["pool"](layers["embed"](token_ids))),
             np.asarray(layers["tag_lookup"](tags)),
             np.asarray(layers["id_lookup"](ids)).astype("float32"),
             np.asarray(layers["bins"](values))]
    outputs = np.asarray(layers["dense"](np.concatenate(parts, axis=-1)))
    expected = {
        "text": text[:, 0].tolist(), "tags": tags.tolist(), "ids": ids.tolist(),
        "values": values.tolist(), "token_ids": token_ids.tolist(),
        "vocabulary": layers["vectorize"].get_vocabulary(),
        "tag_vocabulary": layers["tag_lookup"].get_vocabulary(),
        "tag_tf_idf": parts[1].tolist(),
        "id_vocabulary": [int(v) for v in layers["id_lookup"].get_vocabulary()],
        "bin_boundaries": layers["bins"].bin_boundaries,
        "outputs": outputs.tolist(),
    }
    with open(os.path.join(HERE, "keras_preprocessing_model.json"), "w") as handle:
        json.dump(expected, handle)


def check(path):
    with open(os.path.join(HERE, "keras_preprocessing_model.json")) as handle:
        expected = json.load(handle)
    model = keras.models.load_model(path)
    vectorize = model.get_layer("vectorize")
    assert [str(t) for t in vectorize.get_vocabulary()] == expected["vocabulary"]
    tokens = np.asarray(vectorize(np.array(expected["text"])[:, None]))
    assert tokens.tolist() == expected["token_ids"]
    tags = np.asarray(model.get_layer("tag_lookup")(np.array(expected["tags"])))
    np.testing.assert_allclose(tags, expected["tag_tf_idf"], rtol=1e-6)
    assert model.get_layer("bins").bin_boundaries == expected["bin_boundaries"]
    print("ok")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--check"]:
        check(sys.argv[2])
    else:
        main()
