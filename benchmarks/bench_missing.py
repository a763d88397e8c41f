"""Accuracy of EM with missing values: parameter errors against the complete-data fit.

For each covariance structure and missing fraction, entries of data drawn from a known mixture are removed
completely at random (every row keeps at least one value); three fits are compared after matching
components to the complete-data fit: EM with ``missing='em'``, and column-mean imputation followed by an
ordinary fit. Errors: largest distance between matched means divided by the data's RMS feature spread, and
largest relative Frobenius error of matched covariances; medians over seeds. The last column is the
smallest change of EM's per-iteration observed-data log-likelihood over all seeds (>= 0: monotone).

    python benchmarks/bench_missing.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from random_models import missing_completely_at_random, mixture_sample  # noqa: E402

from gaussmix import GaussianMixture  # noqa: E402
from gaussmix.covariance import STRUCTURE_NAMES, get_structure  # noqa: E402


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
    X = mixture_sample(seed, n=1500)
    X_missing = missing_completely_at_random(X, fraction, seed)
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
    print("| covariance | missing | EM mean err | mean-imp mean err | EM cov err | mean-imp cov err | "
          "smallest EM trace step |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for covariance_type in STRUCTURE_NAMES:
        for fraction in (0.1, 0.2, 0.3):
            results = [compare(covariance_type, fraction, seed) for seed in range(args.seeds)]
            median = {key: float(np.median([r[key] for r in results])) for key in results[0]}
            smallest_step = min(r["monotone"] for r in results)
            print(f"| {covariance_type} | {fraction:.0%} | {median['em_mean']:.4f} | {median['imp_mean']:.4f} | "
                  f"{median['em_cov']:.4f} | {median['imp_cov']:.4f} | {smallest_step:.1e} |", flush=True)


if __name__ == "__main__":
    main()
