"""Streaming metrics against scikit-learn and NumPy on random labels, predictions and weights,
fed in several batches (hypothesis). Batch shapes are fixed so each metric compiles once."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina

metrics_sk = pytest.importorskip("sklearn.metrics")

BATCHES, SIZE, CLASSES = 3, 8, 3
SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
# Dyadic weights add up exactly in float32, so ratios are exact to one rounding.
WEIGHTS = st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0]), min_size=BATCHES * SIZE,
                   max_size=BATCHES * SIZE).map(lambda w: np.asarray(w, "float32")).filter(
                       lambda w: w.sum() > 0)
LABELS = st.lists(st.integers(0, 1), min_size=BATCHES * SIZE, max_size=BATCHES * SIZE).map(
    np.asarray)
# Scores on a 1/10 grid: each lies in its own bucket of AUC's 201 thresholds.
SCORES = st.lists(st.integers(0, 9), min_size=BATCHES * SIZE, max_size=BATCHES * SIZE).map(
    lambda s: (np.asarray(s, "float32") + 0.5) / 10)
CLASS_LABELS = st.lists(st.integers(0, CLASSES - 1), min_size=BATCHES * SIZE,
                        max_size=BATCHES * SIZE).map(np.asarray)


def _stream(metric, *arrays, sample_weight=None):
    metric.reset_state()
    for b in range(BATCHES):
        part = slice(b * SIZE, (b + 1) * SIZE)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight[part]}
        metric.update_state(*(a[part] for a in arrays), **kwargs)
    return np.asarray(metric.result())


_PRECISION, _RECALL = lamina.metrics.Precision(), lamina.metrics.Recall()
_AUC = lamina.metrics.AUC(num_thresholds=201)
_PR_AUC = lamina.metrics.AUC(num_thresholds=201, curve="PR")
_BINARY_ACCURACY = lamina.metrics.BinaryAccuracy()
_ACCURACY = lamina.metrics.SparseCategoricalAccuracy()
_MSE, _MAE = lamina.metrics.MeanSquaredError(), lamina.metrics.MeanAbsoluteError()
_R2, _IOU = lamina.metrics.R2Score(), lamina.metrics.MeanIoU(num_classes=CLASSES)


@SETTINGS
@given(LABELS, SCORES, WEIGHTS)
def test_precision_recall_accuracy_match_sklearn(labels, scores, weights):
    predicted = (scores > 0.5).astype(int)
    for metric, reference in ((_PRECISION, metrics_sk.precision_score),
                              (_RECALL, metrics_sk.recall_score)):
        for w in (None, weights):
            np.testing.assert_allclose(
                _stream(metric, labels, scores, sample_weight=w),
                reference(labels, predicted, sample_weight=w, zero_division=0), atol=1e-6)
    for w in (None, weights):
        np.testing.assert_allclose(
            _stream(_BINARY_ACCURACY, labels, scores, sample_weight=w),
            metrics_sk.accuracy_score(labels, predicted, sample_weight=w), atol=1e-6)


@SETTINGS
@given(LABELS, SCORES, WEIGHTS)
def test_roc_auc_matches_sklearn(labels, scores, weights):
    for w in (None, weights):
        positive = labels.astype(bool)
        w_ = np.ones_like(scores) if w is None else w
        if w_[positive].sum() == 0 or w_[~positive].sum() == 0:
            continue  # sklearn's AUC is undefined with one class
        np.testing.assert_allclose(
            _stream(_AUC, labels, scores, sample_weight=w),
            metrics_sk.roc_auc_score(labels, scores, sample_weight=w), atol=1e-6)


def _keras_pr_auc(labels, scores, weights, num_thresholds=201):
    """Keras's thresholded PR-AUC (Davis & Goadrich interpolation), in float64 NumPy."""
    eps = 1e-7
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    thresholds = np.array([-eps] + inner + [1 + eps])
    above = scores[None, :] > thresholds[:, None]
    positive = labels.astype(bool)[None, :]
    tp = np.sum(np.where(above & positive, weights, 0), axis=1)
    fp = np.sum(np.where(above & ~positive, weights, 0), axis=1)
    fn = np.sum(np.where(~above & positive, weights, 0), axis=1)

    def div(a, b):
        return np.where(b != 0, a / np.where(b != 0, b, 1), 0)

    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = div(dtp, np.maximum(dp, 0))
    intercept = tp[1:] - slope * p[1:]
    ratio = np.where((p[:-1] > 0) & (p[1:] > 0), div(p[:-1], np.maximum(p[1:], 0)), 1)
    return np.sum(div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)))


@SETTINGS
@given(LABELS, SCORES, WEIGHTS)
def test_pr_auc_matches_numpy_reference(labels, scores, weights):
    for w in (np.ones_like(scores), weights):
        np.testing.assert_allclose(_stream(_PR_AUC, labels, scores, sample_weight=w),
                                   _keras_pr_auc(labels, scores, w), atol=1e-6)


@SETTINGS
@given(CLASS_LABELS, st.lists(st.floats(-3, 3, width=32, allow_subnormal=False),
                              min_size=BATCHES * SIZE * CLASSES,
                              max_size=BATCHES * SIZE * CLASSES), WEIGHTS)
def test_sparse_accuracy_and_iou_match_sklearn(labels, logits, weights):
    # (XLA flushes subnormal floats to zero on CPU, so none are drawn.)
    logits = np.asarray(logits, "float32").reshape(-1, CLASSES)
    predicted = np.argmax(logits, axis=-1)
    for w in (None, weights):
        np.testing.assert_allclose(
            _stream(_ACCURACY, labels, logits, sample_weight=w),
            metrics_sk.accuracy_score(labels, predicted, sample_weight=w), atol=1e-6)
    # MeanIoU averages over classes present in labels or predictions (sklearn's jaccard with
    # labels restricted to those).
    present = np.union1d(labels, predicted)
    np.testing.assert_allclose(
        _stream(_IOU, labels, predicted),
        metrics_sk.jaccard_score(labels, predicted, labels=present, average="macro"),
        atol=1e-6)


@SETTINGS
@given(st.lists(st.floats(-10, 10, width=32, allow_subnormal=False),
                min_size=2 * BATCHES * SIZE, max_size=2 * BATCHES * SIZE), WEIGHTS)
def test_regression_metrics_match_sklearn(values, weights):
    values = np.asarray(values, "float32")
    y_true = values[:BATCHES * SIZE].reshape(-1, 1)
    y_pred = values[BATCHES * SIZE:].reshape(-1, 1)
    for w in (None, weights):
        np.testing.assert_allclose(
            _stream(_MSE, y_true, y_pred, sample_weight=w),
            metrics_sk.mean_squared_error(y_true, y_pred, sample_weight=w), rtol=1e-5,
            atol=1e-5)
        np.testing.assert_allclose(
            _stream(_MAE, y_true, y_pred, sample_weight=w),
            metrics_sk.mean_absolute_error(y_true, y_pred, sample_weight=w), rtol=1e-5,
            atol=1e-5)
    if np.var(y_true) > 1e-2:
        np.testing.assert_allclose(_stream(_R2, y_true, y_pred),
                                   metrics_sk.r2_score(y_true, y_pred), rtol=1e-4, atol=1e-4)
