"""Accuracy of EM with missing values: parameter errors against the complete-data fit.

For each covariance structure and missing fraction, entries of data drawn from a known mixture are removed
completely at random (every row keeps at least one value); three fits are compared after matching
components to the complete-data fit: EM with ``missing='em'``, and column-mean imputation followed by an
ordinary fit. Errors: largest distance between matched means divided by the data's RMS feature spread, and
largest relative Frobenius error of matched covariances.

    python benchmarks/bench_missing.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from random_models import random_spd  # noqa: E402

from gaussmix import GaussianMixture  # noqa: E402
from gaussmix.covariance import STRUCTURE_NAMES, get_structure  # noqa: E402


def mixture_sample(seed: int, n: int = 1500, k: int = 3, d: int = 4, separation: float = 4.0) -> np.ndarray:
    """Correlated clusters with unequal covariances and a common offset."""
    rng = np.random.default_rng(seed)
    means = separation * rng.standard_normal((k, d)) + 10.0
    labels = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 8.0)))
    X = np.empty((n, d))
    for j in range(k):
        rows = labels == j
        X[rows] = rng.multivariate_normal(means[j], random_spd(rng, d, (0.3, 3.0), 0.5), size=rows.sum())
    return X


def remove_at_random(X: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Copy of X with ``fraction`` of its entries set to NaN (MCAR); no row loses every entry."""
    rng = np.random.default_rng(seed + 1000)
    X = X.copy()
    mask = rng.random(X.shape) < fraction
    empty = mask.all(axis=1)
    mask[empty, rng.integers(0, X.shape[1], empty.sum())] = False
    X[mask] = np.nan
    return X


def parameter_errors(model: GaussianMixture, reference: GaussianMixture, scale: float) -> tuple[float, float]:
    """(mean error / scale, relative covariance error) after matching components by mean distance."""
    cost = np.linalg.norm(model.means_[:, None] - reference.means_[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    k, d = reference.means_.shape
    structure = get_structure(reference.covariance_type)
    dense = structure.dense_covariances(model.covariances_, k, d)[rows]
    dense_ref = structure.dense_covariances(reference.covariances_, k, d)[cols]
    mean_error = float(cost[rows, cols].max()) / scale
    covariance_error = float(max(np.linalg.norm(a - b) / np.linalg.norm(b) for a, b in zip(dense, dense_ref)))
    return mean_error, covariance_error


def compare(covariance_type: str, fraction: float, seed: int, n_components: int = 3) -> dict:
    X = mixture_sample(seed)
    X_missing = remove_at_random(X, fraction, seed)
    scale = float(np.sqrt(X.var(axis=0).mean()))
    options = dict(n_components=n_components, covariance_type=covariance_type, random_state=seed, tol=1e-6,
                   max_iter=500)
    complete = GaussianMixture(**options).fit(X)
    em = GaussianMixture(missing="em", **options).fit(X_missing)
    column_means = np.nanmean(X_missing, axis=0)
    imputed = GaussianMixture(**options).fit(np.where(np.isnan(X_missing), column_means, X_missing))
    em_mean, em_cov = parameter_errors(em, complete, scale)
    imp_mean, imp_cov = parameter_errors(imputed, complete, scale)
    return dict(em_mean=em_mean, em_cov=em_cov, imp_mean=imp_mean, imp_cov=imp_cov,
                monotone=float(np.diff(em.lower_bounds_).min()) if em.n_iter_ > 1 else 0.0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    print("| covariance | missing | EM mean err | mean-imp mean err | EM cov err | mean-imp cov err |")
    print("| --- | --- | --- | --- | --- | --- |")
    for covariance_type in STRUCTURE_NAMES:
        for fraction in (0.1, 0.2, 0.3):
            results = [compare(covariance_type, fraction, seed) for seed in range(args.seeds)]
            median = {key: float(np.median([r[key] for r in results])) for key in results[0]}
            print(f"| {covariance_type} | {fraction:.0%} | {median['em_mean']:.4f} | {median['imp_mean']:.4f} | "
                  f"{median['em_cov']:.4f} | {median['imp_cov']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
