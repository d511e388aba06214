"""Multinomial logistic regression for a sparse block next to a dense block: sklearn's model, fitted faster.

Our feature rows are [L2(n-gram counts) | L2(USE) | L2(e5)]: ~40,000 sparse columns with ~150 non-zeros per row,
then 896 dense columns. sklearn's LogisticRegression needs them as one CSR matrix, so every lbfgs step multiplies
~1,050 stored values per row through scipy's single-threaded sparse product, and that was two thirds of a
training's CPU time. Here the same objective (sklearn 1.1's multinomial loss: class-weighted log loss plus
||W||² / 2C, intercept not penalised) is minimised by the same scipy L-BFGS-B call, but the dense block is
multiplied as a dense array (BLAS) and the sparse block holds only the n-grams, its products split by rows over the
cores (RowBlocks: the same numbers, ~15% off a fit on 2 cores, nlu/experiments/solver_threads.py). The optimum
is the same: the result is returned as a fitted sklearn LogisticRegression, so prediction, persistence (skops)
and the model files are unchanged.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.optimize import minimize
from scipy.sparse import csr_matrix
from scipy.special import logsumexp, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight


class RowBlocks:
    """A CSR matrix cut into row blocks whose products with a dense array run in parallel threads.

    scipy's sparse × dense product is single-threaded but releases the GIL, and each output row is computed from
    its own matrix row alone: the stacked result is the same, bit for bit, as the whole matrix's product.
    """

    def __init__(self, matrix: csr_matrix, pool: ThreadPoolExecutor, parts: int) -> None:
        """Cut the matrix into `parts` blocks of about the same number of stored values."""
        bounds = np.searchsorted(matrix.indptr, np.linspace(0, matrix.nnz, parts + 1)[1:-1])
        edges = [0, *sorted({int(b) for b in bounds}), matrix.shape[0]]
        self.blocks = [matrix[start:stop] for start, stop in itertools.pairwise(edges) if stop > start]
        self.pool = pool

    def __matmul__(self, other: np.ndarray) -> np.ndarray:
        """The matrix times a dense array."""
        other = np.ascontiguousarray(other)  # once, not once per block (scipy would copy a transposed view)
        if len(self.blocks) == 1:
            return np.asarray(self.blocks[0] @ other)
        return np.vstack(list(self.pool.map(lambda block: np.asarray(block @ other), self.blocks)))


def fit_logistic(
    sparse: csr_matrix,
    dense: np.ndarray,
    labels: list[str],
    *,
    C: float,
    max_iter: int,
    tol: float,
    class_weight: str | dict[str, float] | None = "balanced",
    threads: int | None = None,
) -> LogisticRegression:
    """A LogisticRegression(C, lbfgs, multinomial) fitted on the columns [sparse | dense].

    threads: how many threads share each sparse product (default: the cores, at most 4); the fit is the same
    for any number.
    """
    encoder = LabelEncoder()
    y = encoder.fit_transform(labels)
    classes = encoder.classes_
    n_classes = len(classes)
    if n_classes < 2:
        raise ValueError("fit_logistic needs at least two classes")
    n_samples, n_sparse = sparse.shape
    n_dense = dense.shape[1]
    n_features = n_sparse + n_dense
    weights = np.ones(n_samples)
    if isinstance(class_weight, dict):
        # Weights per label name (e.g. "balanced" with one class scaled, intent_classifier.class_weights).
        weights = np.array([float(class_weight.get(str(c), 1.0)) for c in classes])[y]
    elif class_weight:
        weights = compute_class_weight(class_weight, classes=np.arange(n_classes), y=y)[y]
    sparse = csr_matrix(sparse, dtype=np.float64)
    sparse_t = sparse.T.tocsr()  # the gradient's product, precomputed once
    # The two sparse products of every step, each on all cores (the same numbers as one thread's).
    threads = max(1, threads or min(4, os.cpu_count() or 1))
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fit_logistic")
    rows, columns = RowBlocks(sparse, pool, threads), RowBlocks(sparse_t, pool, threads)
    # float64 throughout: float32 products made no step faster (L-BFGS-B's own work on 1.7M weights is a third of
    # each step) but added noise to the line search, which then stopped early.
    dense = np.ascontiguousarray(dense, dtype=np.float64)
    onehot = np.zeros((n_samples, n_classes))
    onehot[np.arange(n_samples), y] = 1.0
    alpha = 1.0 / C

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        """sklearn's _multinomial_loss_grad for this block layout."""
        w = flat.reshape(n_classes, n_features + 1)
        coef_sparse, coef_dense, intercept = w[:, :n_sparse], w[:, n_sparse:n_features], w[:, -1]
        scores = rows @ coef_sparse.T + dense @ coef_dense.T + intercept
        norm = logsumexp(scores, axis=1)
        loss = -float((weights * (onehot * scores).sum(axis=1)).sum() - weights @ norm)
        coef = w[:, :n_features]
        loss += 0.5 * alpha * float((coef * coef).sum())
        residual = (np.exp(scores - norm[:, None]) - onehot) * weights[:, None]
        gradient = np.empty_like(w)
        gradient[:, :n_sparse] = (columns @ residual).T
        gradient[:, n_sparse:n_features] = residual.T @ dense
        gradient[:, :n_features] += alpha * coef
        gradient[:, -1] = residual.sum(axis=0)
        return loss, gradient.ravel()

    # The call sklearn 1.1 makes for solver="lbfgs": the same stopping rules (gtol, scipy's default ftol).
    with pool:
        result = minimize(
            loss_and_gradient,
            np.zeros(n_classes * (n_features + 1)),
            method="L-BFGS-B",
            jac=True,
            options={"maxiter": max_iter, "iprint": -1, "gtol": tol},
        )
    w = result.x.reshape(n_classes, n_features + 1)
    model = LogisticRegression(C=C, max_iter=max_iter, tol=tol, class_weight=class_weight)
    model.classes_ = classes
    model.coef_ = np.ascontiguousarray(w[:, :n_features])
    model.intercept_ = w[:, -1].copy()
    model.n_iter_ = np.array([result.nit])
    model.n_features_in_ = n_features
    return model


class FastProbabilities:
    """predict_proba of a multinomial LogisticRegression for a few rows, without re-laying out coef_ on every call.

    sklearn computes X @ coef_.T with coef_ (classes × 43,000 features) C-ordered: for one CSR row scipy copies the
    13 MB transposed array first, 5.6 ms per call, twice per parsed message (intents and FAQ answers). The transpose
    is made once here; the result is the same softmax of the same scores (0.1 ms).
    """

    def __init__(self, model: LogisticRegression) -> None:
        """Keep the model's weights transposed, C-ordered."""
        self.model = model
        self.weights = np.ascontiguousarray(model.coef_.T)
        self.intercept = np.asarray(model.intercept_)

    def __call__(self, rows: csr_matrix) -> np.ndarray:
        """Class probabilities, one row per input row, in the order of model.classes_."""
        if self.weights.shape[1] == 1:
            # A two-class model fitted by sklearn itself (one weight vector): its own binary formula.
            return np.asarray(self.model.predict_proba(rows))
        return softmax(np.asarray(rows @ self.weights) + self.intercept, axis=1)
