"""Held-out conditional log-likelihood of MixtureOfExperts against two baselines (issue 7).

The data and the baselines (least-squares line with Gaussian noise; "GMM regression" from a Gaussian
mixture on [x, y] with the exact x-marginal) are those of the tests, in tests/experts_baselines.py.

    python benchmarks/experts_heldout.py [--seeds 5] [--n-train 600] [--n-test 5000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from gaussmix.estimators.experts import MixtureOfExperts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from experts_baselines import gmm_regression_log_likelihood, linear_log_likelihood, piecewise_linear  # noqa: E402

COLUMNS = ("MoE K=3", "linear", "GMM-reg K=3", "GMM-reg K=6")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-train", type=int, default=600)
    parser.add_argument("--n-test", type=int, default=5000)
    args = parser.parse_args()
    rows = []
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        X, y, _ = piecewise_linear(args.n_train, rng)
        X_test, y_test, _ = piecewise_linear(args.n_test, rng)
        moe = MixtureOfExperts(3, random_state=seed).fit(X, y)
        rows.append([np.mean(moe.score_samples(X_test, y_test)),
                     np.mean(linear_log_likelihood(X, y, X_test, y_test)),
                     np.mean(gmm_regression_log_likelihood(X, y, X_test, y_test, 3, seed)),
                     np.mean(gmm_regression_log_likelihood(X, y, X_test, y_test, 6, seed))])
    print(f"held-out mean log p(y|x) (nats per sample), n_train={args.n_train}, n_test={args.n_test}; "
          f"the true model scores about {0.5 * np.log(1 / (2 * np.pi * 0.01)) - 0.5:.4f}")
    print("| seed | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for seed, values in enumerate(rows):
        print(f"| {seed} | " + " | ".join(f"{value:.4f}" for value in values) + " |")
    print("| mean | " + " | ".join(f"{value:.4f}" for value in np.mean(rows, axis=0)) + " |")


if __name__ == "__main__":
    main()
