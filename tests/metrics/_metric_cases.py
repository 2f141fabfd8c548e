"""Every built-in metric, with small random batches of the kind of data it takes.

Each case builds the metric from a module (`lamina.metrics` or `keras.metrics`), so the same
case drives lamina-only checks (eager vs compiled vs stateless) and side-by-side checks with
Keras 3.
"""

import numpy as np

BATCH = 6
CLASSES = 3


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def make_batches(kind, seed=0, count=3, batch=BATCH):
    """`count` batches of `(args, kwargs)` for `update_state`; every other batch is weighted."""
    rng = np.random.default_rng(seed)
    batches = []
    for index in range(count):
        weights = rng.choice([0.0, 0.5, 1.0, 2.0], size=batch).astype("float32")
        if kind == "values":
            args = (rng.normal(size=(batch,)).astype("float32"),)
        elif kind == "binary":
            args = (rng.integers(0, 2, size=(batch, 1)).astype("float32"),
                    rng.uniform(size=(batch, 1)).astype("float32"))
        elif kind == "binary_logits":
            args = (rng.integers(0, 2, size=(batch, 1)).astype("float32"),
                    rng.normal(size=(batch, 1)).astype("float32"))
        elif kind == "multilabel":
            args = (rng.integers(0, 2, size=(batch, CLASSES)).astype("float32"),
                    rng.uniform(size=(batch, CLASSES)).astype("float32"))
        elif kind == "categorical":
            labels = rng.integers(0, CLASSES, size=(batch,))
            args = (np.eye(CLASSES, dtype="float32")[labels],
                    _softmax(rng.normal(size=(batch, CLASSES))).astype("float32"))
        elif kind == "sparse":
            args = (rng.integers(0, CLASSES, size=(batch,)).astype("float32"),
                    _softmax(rng.normal(size=(batch, CLASSES))).astype("float32"))
        elif kind == "sparse_column":
            args = (rng.integers(0, CLASSES, size=(batch, 1)).astype("float32"),
                    _softmax(rng.normal(size=(batch, CLASSES))).astype("float32"))
        elif kind == "sorted_ids":
            args = (rng.integers(0, CLASSES, size=(batch,)).astype("float32"),
                    np.argsort(-rng.normal(size=(batch, CLASSES)), axis=-1).astype("float32"))
        elif kind == "exact":
            args = (rng.integers(0, 3, size=(batch, 1)).astype("float32"),
                    rng.integers(0, 3, size=(batch, 1)).astype("float32"))
        elif kind == "regression":
            args = (rng.normal(size=(batch, CLASSES)).astype("float32"),
                    rng.normal(size=(batch, CLASSES)).astype("float32"))
        elif kind == "positive":
            args = (rng.uniform(0.1, 3, size=(batch, CLASSES)).astype("float32"),
                    rng.uniform(0.1, 3, size=(batch, CLASSES)).astype("float32"))
        elif kind == "hinge":
            args = (rng.choice([-1.0, 1.0], size=(batch, CLASSES)).astype("float32"),
                    rng.normal(size=(batch, CLASSES)).astype("float32"))
        elif kind == "segmentation":
            args = (rng.integers(0, CLASSES, size=(batch, 4)).astype("int32"),
                    rng.integers(0, CLASSES, size=(batch, 4)).astype("int32"))
        elif kind == "onehot_segmentation":
            labels = rng.integers(0, CLASSES, size=(batch, 4))
            args = (np.eye(CLASSES, dtype="float32")[labels],
                    rng.uniform(size=(batch, 4, CLASSES)).astype("float32"))
        else:
            raise ValueError(kind)
        if kind in ("segmentation", "onehot_segmentation"):
            # One weight per pixel (integer: the IoU state counts in int32).
            weights = rng.integers(0, 3, size=(batch, 4)).astype("int32")
        kwargs = {"sample_weight": weights} if index % 2 else {}
        batches.append((args, kwargs))
    return batches


# (id, factory(module) -> metric, kind of data)
CASES = [
    ("Mean", lambda m: m.Mean(), "values"),
    ("Sum", lambda m: m.Sum(), "values"),
    ("MeanMetricWrapper",
     lambda m: m.MeanMetricWrapper(m.mean_squared_error, name="mse_wrapper"), "regression"),
    ("Accuracy", lambda m: m.Accuracy(), "exact"),
    ("BinaryAccuracy", lambda m: m.BinaryAccuracy(), "binary"),
    ("BinaryAccuracy_threshold", lambda m: m.BinaryAccuracy(threshold=0.7), "binary"),
    ("CategoricalAccuracy", lambda m: m.CategoricalAccuracy(), "categorical"),
    ("SparseCategoricalAccuracy", lambda m: m.SparseCategoricalAccuracy(), "sparse"),
    ("SparseCategoricalAccuracy_column", lambda m: m.SparseCategoricalAccuracy(),
     "sparse_column"),
    ("TopKCategoricalAccuracy", lambda m: m.TopKCategoricalAccuracy(k=2), "categorical"),
    ("SparseTopKCategoricalAccuracy", lambda m: m.SparseTopKCategoricalAccuracy(k=2),
     "sparse"),
    ("SparseTopK_sorted_ids",
     lambda m: m.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True), "sorted_ids"),
    ("TruePositives", lambda m: m.TruePositives(), "binary"),
    ("FalsePositives", lambda m: m.FalsePositives(thresholds=[0.3, 0.5, 0.7]), "binary"),
    ("TrueNegatives", lambda m: m.TrueNegatives(thresholds=[0.0, 0.5, 1.0]), "binary"),
    ("FalseNegatives", lambda m: m.FalseNegatives(), "multilabel"),
    ("Precision", lambda m: m.Precision(), "binary"),
    ("Precision_thresholds", lambda m: m.Precision(thresholds=[0.2, 0.5, 0.8]), "binary"),
    ("Precision_top_k", lambda m: m.Precision(top_k=2), "multilabel"),
    ("Precision_class_id", lambda m: m.Precision(class_id=1), "multilabel"),
    ("Recall", lambda m: m.Recall(), "binary"),
    ("Recall_top_k_class_id", lambda m: m.Recall(top_k=1, class_id=2), "multilabel"),
    ("AUC", lambda m: m.AUC(), "binary"),
    ("AUC_PR", lambda m: m.AUC(curve="PR", num_thresholds=50), "binary"),
    ("AUC_PR_minoring", lambda m: m.AUC(curve="PR", summation_method="minoring"), "binary"),
    ("AUC_majoring", lambda m: m.AUC(summation_method="majoring"), "binary"),
    ("AUC_PRGAIN", lambda m: m.AUC(curve="PRGAIN"), "binary"),
    ("AUC_thresholds", lambda m: m.AUC(thresholds=[0.1, 0.4, 0.6, 0.9]), "binary"),
    ("AUC_logits", lambda m: m.AUC(from_logits=True), "binary_logits"),
    ("AUC_multi_label", lambda m: m.AUC(multi_label=True), "multilabel"),
    ("AUC_multi_label_weights",
     lambda m: m.AUC(multi_label=True, num_labels=CLASSES, label_weights=[1.0, 2.0, 0.5]),
     "multilabel"),
    ("AUC_label_weights", lambda m: m.AUC(label_weights=[1.0, 2.0, 0.5]), "multilabel"),
    ("PrecisionAtRecall", lambda m: m.PrecisionAtRecall(0.5, num_thresholds=50), "binary"),
    ("RecallAtPrecision", lambda m: m.RecallAtPrecision(0.6), "binary"),
    ("SensitivityAtSpecificity", lambda m: m.SensitivityAtSpecificity(0.5), "binary"),
    ("SpecificityAtSensitivity",
     lambda m: m.SpecificityAtSensitivity(0.5, class_id=1), "multilabel"),
    ("F1Score", lambda m: m.F1Score(), "categorical"),
    ("F1Score_macro", lambda m: m.F1Score(average="macro", threshold=0.5), "multilabel"),
    ("F1Score_micro", lambda m: m.F1Score(average="micro"), "categorical"),
    ("FBetaScore_weighted", lambda m: m.FBetaScore(average="weighted", beta=2.0), "multilabel"),
    ("MeanSquaredError", lambda m: m.MeanSquaredError(), "regression"),
    ("RootMeanSquaredError", lambda m: m.RootMeanSquaredError(), "regression"),
    ("MeanAbsoluteError", lambda m: m.MeanAbsoluteError(), "regression"),
    ("MeanAbsolutePercentageError", lambda m: m.MeanAbsolutePercentageError(), "positive"),
    ("MeanSquaredLogarithmicError", lambda m: m.MeanSquaredLogarithmicError(), "positive"),
    ("CosineSimilarity", lambda m: m.CosineSimilarity(), "regression"),
    ("LogCoshError", lambda m: m.LogCoshError(), "regression"),
    ("R2Score", lambda m: m.R2Score(), "regression"),
    ("R2Score_raw", lambda m: m.R2Score(class_aggregation=None), "regression"),
    ("R2Score_variance_weighted",
     lambda m: m.R2Score(class_aggregation="variance_weighted_average"), "regression"),
    ("R2Score_adjusted", lambda m: m.R2Score(num_regressors=2), "regression"),
    ("PearsonCorrelation", lambda m: m.PearsonCorrelation(), "regression"),
    ("ConcordanceCorrelation", lambda m: m.ConcordanceCorrelation(), "regression"),
    ("MeanIoU", lambda m: m.MeanIoU(num_classes=CLASSES), "segmentation"),
    ("IoU", lambda m: m.IoU(num_classes=CLASSES, target_class_ids=[0, 2]), "segmentation"),
    ("IoU_ignore_class",
     lambda m: m.IoU(num_classes=CLASSES, target_class_ids=[1], ignore_class=0),
     "segmentation"),
    ("BinaryIoU", lambda m: m.BinaryIoU(threshold=0.4), "binary"),
    ("OneHotIoU", lambda m: m.OneHotIoU(num_classes=CLASSES, target_class_ids=[1]),
     "onehot_segmentation"),
    ("OneHotMeanIoU", lambda m: m.OneHotMeanIoU(num_classes=CLASSES), "onehot_segmentation"),
    ("BinaryCrossentropy", lambda m: m.BinaryCrossentropy(), "binary"),
    ("BinaryCrossentropy_logits",
     lambda m: m.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), "binary_logits"),
    ("CategoricalCrossentropy",
     lambda m: m.CategoricalCrossentropy(label_smoothing=0.1), "categorical"),
    ("SparseCategoricalCrossentropy", lambda m: m.SparseCategoricalCrossentropy(), "sparse"),
    ("SparseCategoricalCrossentropy_ignore",
     lambda m: m.SparseCategoricalCrossentropy(ignore_class=0), "sparse"),
    ("KLDivergence", lambda m: m.KLDivergence(), "categorical"),
    ("Poisson", lambda m: m.Poisson(), "positive"),
    ("Hinge", lambda m: m.Hinge(), "hinge"),
    ("SquaredHinge", lambda m: m.SquaredHinge(), "hinge"),
    ("CategoricalHinge", lambda m: m.CategoricalHinge(), "categorical"),
]

# Metrics whose state is created on the first update (ensure_built needs example inputs).
LAZY = {"F1Score", "F1Score_macro", "F1Score_micro", "FBetaScore_weighted", "R2Score",
        "R2Score_raw", "R2Score_variance_weighted", "R2Score_adjusted", "AUC_multi_label"}
