"""Mixtures of factor analysers: held-out log-likelihood on digits, and time per EM iteration at d=784.

    python benchmarks/bench_mfa.py                  # both tables (about a minute, one BLAS thread)
    python benchmarks/bench_mfa.py --digits-only
    python benchmarks/bench_mfa.py --seeds          # MFA vs full and diag over 3 splits x 2 k-means seeds

Digits: tests/data/digits.csv (scikit-learn's load_digits, 1797 x 64), a fixed random split into 1200
training and 597 held-out images, K=10 for every model, k-means initialisation with random_state=0.
The table reports the mean held-out (and training) log-likelihood per image, in nats.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import gaussmix

DIGITS = Path(__file__).resolve().parents[1] / "tests" / "data" / "digits.csv"


def digits_split(split=0):
    """1200 training and 597 held-out digits images, in a random order fixed by ``split``."""
    X = np.loadtxt(DIGITS, delimiter=",", skiprows=1)[:, :64]
    order = np.random.default_rng(split).permutation(X.shape[0])
    return X[order[:1200]], X[order[1200:]]


def digits_table(reg_covars=(1e-4, 1e-3, 3e-3, 1e-2, 1e-1)):
    train, test = digits_split()
    models = [("GaussianMixture full", lambda reg: gaussmix.GaussianMixture(10, covariance_type="full", reg_covar=reg)),
              ("GaussianMixture diag", lambda reg: gaussmix.GaussianMixture(10, covariance_type="diag", reg_covar=reg))]
    models += [(f"MFA q={q}", lambda reg, q=q: gaussmix.MixtureOfFactorAnalyzers(10, n_factors=q, reg_covar=reg))
               for q in (2, 4, 6, 8)]
    models += [("MPPCA q=6 (isotropic)", lambda reg: gaussmix.MixtureOfFactorAnalyzers(
        10, n_factors=6, noise_type="isotropic", reg_covar=reg))]
    print("| model | " + " | ".join(f"reg_covar={reg:g}: held-out (train)" for reg in reg_covars) + " | parameters |")
    print("| --- | " + " | ".join("---" for _ in reg_covars) + " | --- |")
    for name, make in models:
        cells = []
        for reg in reg_covars:
            model = make(reg).set_params(random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(train)
            cells.append(f"{model.score(test):.2f} ({model.score(train):.2f})")
        print(f"| {name} | " + " | ".join(cells) + f" | {model._n_parameters()} |")


def digits_seeds(reg_covars=(1e-3, 3e-3, 1e-2), splits=(0, 1, 2), seeds=(0, 1)):
    """Held-out log-likelihood margins of MFA (q=6) over full and diag, K=10, per split and k-means seed."""
    print("| reg_covar | split | seed | MFA q=6 | full | diag | MFA - full | MFA - diag |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for reg in reg_covars:
        for split in splits:
            train, test = digits_split(split)
            for seed in seeds:
                scores = []
                for model in (gaussmix.MixtureOfFactorAnalyzers(10, n_factors=6),
                              gaussmix.GaussianMixture(10, covariance_type="full"),
                              gaussmix.GaussianMixture(10, covariance_type="diag")):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        scores.append(model.set_params(reg_covar=reg, random_state=seed).fit(train).score(test))
                mfa, full, diag = scores
                print(f"| {reg:g} | {split} | {seed} | {mfa:.2f} | {full:.2f} | {diag:.2f} | {mfa - full:.2f} | {mfa - diag:.2f} |",
                      flush=True)


def high_dimensional_timing(n=2000, d=784, k=3, q=5, iterations=10):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, k, n)
    means = 3.0 * rng.standard_normal((k, d))
    loadings = rng.standard_normal((k, d, q))
    X = means[labels] + np.einsum("kdq,nq->nkd", loadings, rng.standard_normal((n, q)))[np.arange(n), labels]
    X += 0.5 * rng.standard_normal((n, d))
    print(f"\nn={n}, d={d}, K={k}: seconds per EM iteration (tol=0, {iterations} iterations after initialisation)")
    print("| model | s / iteration |")
    print("| --- | --- |")
    for name, model in [(f"MixtureOfFactorAnalyzers q={q}", gaussmix.MixtureOfFactorAnalyzers(k, n_factors=q)),
                        ("GaussianMixture full", gaussmix.GaussianMixture(k, covariance_type="full", reg_covar=1e-3))]:
        timings = []
        for max_iter in (1, 1 + iterations):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.set_params(max_iter=max_iter, tol=0.0, random_state=0).fit(X)
            timings.append(time.perf_counter() - start)
        print(f"| {name} | {(timings[1] - timings[0]) / iterations:.3f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digits-only", action="store_true")
    parser.add_argument("--seeds", action="store_true", help="only the split x seed table")
    arguments = parser.parse_args(argv)
    with threadpool_limits(1):
        if arguments.seeds:
            digits_seeds()
            return
        digits_table()
        if not arguments.digits_only:
            high_dimensional_timing()


if __name__ == "__main__":
    main()
