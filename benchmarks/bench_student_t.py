"""StudentTMixture against GaussianMixture on data with gross outliers, and against the PyPI package studenttmixture.

    python benchmarks/bench_student_t.py                 # 5 simulated data sets, then studenttmixture
    python benchmarks/bench_student_t.py --seeds 10 --repeat 5

Part 1 (issue 20's data): three unit-variance clusters of 150 rows at (0, 0), (6, 0), (3, 5) and 25 rows uniform
over a box 10x wider than the data (5 % gross outliers). For each seed: the largest distance from a true centre
to the nearest fitted mean, for StudentTMixture() and GaussianMixture() from the same start (trimmed k-means),
and the time per EM iteration of both (the median over ``--repeat`` fits of 20 iterations each with tol=0, so
both run exactly the same number of iterations).

Part 2: side by side with ``studenttmixture.EMStudentMixture`` (pip install studenttmixture; skipped if missing)
from the same start: the true centres as locations, the data's covariance (+ reg_covar) as every scale matrix,
equal weights, 4 degrees of freedom, learned per component, tol 1e-7 on the mean log-likelihood. Printed: the log-likelihood each reaches
(both scored by the same code: gaussmix's t density on each side's parameters), the time per iteration, and the
largest differences of locations, scale matrices and degrees of freedom.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import numpy as np

from gaussmix import GaussianMixture, StudentTMixture

CENTRES = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]])
TOL = 1e-7
"""Part 2's tolerance on the change of the mean log-likelihood per iteration (both packages monitor the mean)."""


def simulated(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(c, 1.0, size=(150, 2)) for c in CENTRES])
    low, high = X.min(axis=0), X.max(axis=0)
    span = high - low
    return np.vstack([X, rng.uniform(low - 4.5 * span, high + 4.5 * span, size=(25, 2))])


def worst_error(means: np.ndarray) -> float:
    return max(float(np.min(np.linalg.norm(means - centre, axis=1))) for centre in CENTRES)


def seconds_per_iteration(make, X, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        model = make(tol=0.0, max_iter=20)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
        times.append((time.perf_counter() - start) / model.n_iter_)
    return statistics.median(times)


def part_one(seeds: int, repeat: int) -> None:
    print("Part 1: 3 clusters x 150 rows + 25 gross outliers (5 %); max |true centre - nearest fitted mean|")
    print(f"{'seed':>4}  {'t mixture':>9}  {'Gaussian':>9}  {'dof (fitted)':<22} {'ms/iter t':>9} {'ms/iter G':>9} "
          f"{'ratio':>6}")
    for seed in range(seeds):
        X = simulated(seed)
        robust = StudentTMixture(3, random_state=0).fit(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gaussian = GaussianMixture(3, init_params="trimmed-kmeans", random_state=0).fit(X)
        t_time = seconds_per_iteration(lambda **o: StudentTMixture(3, random_state=0, **o), X, repeat)
        g_time = seconds_per_iteration(lambda **o: GaussianMixture(3, init_params="trimmed-kmeans", random_state=0,
                                                                   **o), X, repeat)
        print(f"{seed:>4}  {worst_error(robust.means_):>9.3f}  {worst_error(gaussian.means_):>9.3f}  "
              f"{np.array2string(robust.dof_, precision=1):<22} {1e3 * t_time:>9.3f} {1e3 * g_time:>9.3f} "
              f"{t_time / g_time:>6.2f}")


def part_two(repeat: int) -> None:
    try:
        from studenttmixture import EMStudentMixture
    except ImportError:
        print("\nPart 2 skipped: studenttmixture is not installed (pip install studenttmixture)")
        return
    X = simulated(0)
    reg_covar, dof = 1e-6, 4.0
    scale = np.cov(X, rowvar=False) + reg_covar * np.eye(2)

    class SameStart(EMStudentMixture):
        iterations = 0

        def initialize_params(self, X, random_seed, init_type):
            scales = np.stack([scale] * 3, axis=-1)
            return CENTRES.copy(), scales, np.full(3, 1 / 3), np.stack([np.linalg.cholesky(scale)] * 3, axis=-1)

        def Estep(self, *args, **kwargs):
            SameStart.iterations += 1
            return super().Estep(*args, **kwargs)

    def theirs():
        SameStart.iterations = 0
        model = SameStart(n_components=3, tol=TOL, reg_covar=reg_covar, max_iter=5000, df=dof, fixed_df=False)
        start = time.perf_counter()
        model.fit(X)
        return model, (time.perf_counter() - start) / SameStart.iterations, SameStart.iterations

    def ours():
        model = StudentTMixture(3, means_init=CENTRES, weights_init=np.full(3, 1 / 3),
                                precisions_init=np.stack([np.linalg.inv(scale)] * 3), dof_init=dof, tol=TOL,
                                reg_covar=reg_covar, max_iter=5000)
        start = time.perf_counter()
        model.fit(X)
        return model, (time.perf_counter() - start) / model.n_iter_, model.n_iter_

    runs_theirs = [theirs() for _ in range(repeat)]
    runs_ours = [ours() for _ in range(repeat)]
    their_model, our_model = runs_theirs[0][0], runs_ours[0][0]
    scored = StudentTMixture(3, dof=1.0)  # their parameters, scored by our density
    scored.weights_, scored.means_ = their_model.mix_weights_, their_model.location_
    scored.covariances_ = np.moveaxis(their_model.scale_, -1, 0)
    from gaussmix.covariance import get_structure

    full = get_structure("full")
    scored.precisions_cholesky_ = full.cholesky_of_precisions(scored.covariances_)[0]
    scored.precisions_ = full.precisions_from_precisions_cholesky(scored.precisions_cholesky_)
    scored.dof_ = np.asarray(their_model.df_, dtype=float)
    scored.n_features_in_, scored.covariance_type = 2, "full"
    order = [int(np.argmin(np.linalg.norm(our_model.means_ - m, axis=1))) for m in their_model.location_]
    print("\nPart 2: side by side with studenttmixture (same data, same start, learned dof per component)")
    print(f"{'':<16} {'log-likelihood':>15} {'ms/iter':>8} {'iterations':>10}  dof")
    for name, model, runs, log_likelihood in (
            ("studenttmixture", their_model, runs_theirs, scored.score(X) * len(X)),
            ("gaussmix", our_model, runs_ours, our_model.score(X) * len(X))):
        dof_values = model.df_ if name == "studenttmixture" else model.dof_[order]
        print(f"{name:<16} {log_likelihood:>15.6f} {1e3 * statistics.median(r[1] for r in runs):>8.3f} "
              f"{runs[0][2]:>10}  {np.array2string(np.asarray(dof_values), precision=4)}")
    print(f"largest difference: locations {np.abs(our_model.means_[order] - their_model.location_).max():.2e}, "
          f"scale matrices {np.abs(our_model.covariances_[order] - scored.covariances_).max():.2e}, "
          f"dof {np.abs(our_model.dof_[order] - np.asarray(their_model.df_)).max():.2e}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    part_one(args.seeds, args.repeat)
    part_two(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
