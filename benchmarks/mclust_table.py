"""Log-likelihood and BIC (mclust's sign) of every mclust model for G = 1..4 on faithful and iris.

Usage: python benchmarks/mclust_table.py [faithful|iris] [G list, e.g. 1,2,3,4] [models, e.g. EEE,VEV]

Fits with no regularisation (like mclust), 10 k-means starts, tol 1e-8; prints per model and G
"logL BIC (seconds)". Compare with ``mclustBIC(faithful)`` / ``mclustBIC(iris[, 1:4])`` in R.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np

from gaussmix import GaussianMixture
from gaussmix.covariance import ALL_MODEL_NAMES
from gaussmix.datasets import load_faithful


def load(name):
    if name == "faithful":
        return load_faithful()[0]
    path = Path(__file__).parents[1] / "tests" / "data" / "iris.csv"
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(4))


def main(argv):
    X = load(argv[1] if len(argv) > 1 else "faithful")
    components = [int(g) for g in argv[2].split(",")] if len(argv) > 2 else [1, 2, 3, 4]
    models = argv[3].split(",") if len(argv) > 3 else ALL_MODEL_NAMES
    n_samples = X.shape[0]
    print("model | " + " | ".join(f"G={g}: logL BIC" for g in components))
    for model in models:
        cells = []
        for g in components:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    gm = GaussianMixture(g, covariance_type=model, n_init=10, random_state=0, tol=1e-8, max_iter=1000,
                                         reg_covar=0.0).fit(X)
                except Exception as error:  # a degenerate fit is reported, not hidden
                    cells.append(f"failed ({type(error).__name__})")
                    continue
            cells.append(f"{gm.score(X) * n_samples:.2f} {-gm.bic(X):.2f} ({time.perf_counter() - start:.1f}s)")
        print(f"{model} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main(sys.argv)
