"""Time fit_logistic with its sparse products on one thread and on all cores, on a problem of our training shape.

Run in the engine environment from the project root:

    PYTHONPATH=. <engine>/bin/python nlu/experiments/solver_threads.py [ITERATIONS]

The problem is synthetic but shaped like a full training's intent classifier: 25,000 rows, 65,000 sparse columns
with ~150 values per row, 896 dense columns (USE + e5), 25 classes. Both fits stop after the same number of
iterations (default 60), and the script checks that the weights are the same bit for bit.
"""

from __future__ import annotations

import os
import sys
import time


def main(iterations: int) -> None:
    """Fit twice (one thread, all cores) and print the times and whether the weights agree."""
    # The engine environment's packages: imported here so the application's interpreter can import this module.
    import numpy as np
    from scipy.sparse import random as sparse_random

    from nlu.components.linear import fit_logistic

    rng = np.random.default_rng(0)
    rows, sparse_columns, dense_columns, classes = 25_000, 65_000, 896, 25
    sparse = sparse_random(rows, sparse_columns, density=150 / sparse_columns, format="csr", random_state=0)
    dense = rng.standard_normal((rows, dense_columns))
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    label_ids = rng.integers(0, classes, rows)
    dense[np.arange(rows), label_ids] += 0.3  # something to learn
    labels = [f"intent_{i}" for i in label_ids]
    fits = {}
    for threads in (1, os.cpu_count() or 1):
        start = time.perf_counter()
        fits[threads] = fit_logistic(sparse, dense, labels, C=10.0, max_iter=iterations, tol=1e-4, threads=threads)
        print(f"threads {threads}: {time.perf_counter() - start:.1f} s for {int(fits[threads].n_iter_[0])} iterations")
    first, *others = fits.values()
    same = all(np.array_equal(first.coef_, other.coef_) for other in others)
    print("same weights bit for bit:", same)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
