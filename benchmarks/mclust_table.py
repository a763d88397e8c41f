"""Log-likelihood and BIC (mclust's sign) of every mclust model for G = 1..4 on faithful and iris.

Usage: python benchmarks/mclust_table.py [faithful|iris] [G list, e.g. 1,2,3,4] [models, e.g. EEE,VEV]

Fits with no regularisation (like mclust), tol 1e-8, and keeps the best of 10 k-means starts and one start
from the EEE fit with the same G (mclust starts every model from one hierarchical clustering; k-means
starts alone often end in poorer local maxima for the orientation models). Prints per model and G
"logL BIC (seconds)". Compare with ``mclustBIC(faithful)`` / ``mclustBIC(iris[, 1:4])`` in R.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np

from gaussmix import GaussianMixture
from gaussmix.covariance import ALL_MODEL_NAMES, get_structure
from gaussmix.datasets import load_faithful


def load(name):
    if name == "faithful":
        return load_faithful()[0]
    path = Path(__file__).parents[1] / "tests" / "data" / "iris.csv"
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(4))


def precisions_like(model, shared_precision, shared_covariance, n_components):
    """The EEE fit's precision in the storage of ``model`` (spherical, diagonal, shared or per component)."""
    shape = get_structure(model).covariance_shape(n_components, shared_covariance.shape[0])
    if len(shape) == 1:
        return np.full(n_components, 1.0 / np.mean(np.diag(shared_covariance)))
    if shape == (n_components, shared_covariance.shape[0]) and not get_structure(model).shared:
        return np.tile(1.0 / np.diag(shared_covariance), (n_components, 1))
    if get_structure(model).shared:
        return shared_precision
    return np.repeat(shared_precision[None], n_components, axis=0)


def fit(model, g, X, **params):
    return GaussianMixture(g, covariance_type=model, tol=1e-8, max_iter=1000, reg_covar=0.0, **params).fit(X)


def main(argv):
    X = load(argv[1] if len(argv) > 1 else "faithful")
    components = [int(g) for g in argv[2].split(",")] if len(argv) > 2 else [1, 2, 3, 4]
    models = argv[3].split(",") if len(argv) > 3 else ALL_MODEL_NAMES
    n_samples = X.shape[0]
    print("model | " + " | ".join(f"G={g}: logL BIC" for g in components))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eee = {g: fit("EEE", g, X, n_init=10, random_state=0) for g in components}
    for model in models:
        cells = []
        for g in components:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                candidates = []
                for params in (dict(n_init=10, random_state=0),
                               dict(weights_init=eee[g].weights_, means_init=eee[g].means_,
                                    precisions_init=precisions_like(model, eee[g].precisions_, eee[g].covariances_, g))):
                    try:
                        candidates.append(fit(model, g, X, **params))
                    except Exception as error:  # a degenerate fit is reported, not hidden
                        print(f"  {model} G={g} {sorted(params)[0]}: failed ({type(error).__name__})")
                if not candidates:
                    cells.append("failed")
                    continue
                gm = max(candidates, key=lambda candidate: candidate.score(X))
            cells.append(f"{gm.score(X) * n_samples:.2f} {-gm.bic(X):.2f} ({time.perf_counter() - start:.1f}s)")
        print(f"{model} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main(sys.argv)
