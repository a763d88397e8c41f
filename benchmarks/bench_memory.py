"""Peak memory of a GaussianMixture fit relative to the size of X.

Two measures: the tracemalloc peak (NumPy reports its buffers to it, the compiled kernels' own small
per-block arrays it does not see) and the growth of the process's peak resident set size during the fit
(everything, kernels included; X is generated block by block beforehand so that generating it does not
set the high-water mark).

    python benchmarks/bench_memory.py                 # n=2,000,000, d=16, K=32, full, float64
    python benchmarks/bench_memory.py --n 200000      # smaller
"""

import argparse
import resource
import tracemalloc
import warnings

import numpy as np

import gaussmix


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--covariance-type", default="full")
    parser.add_argument("--max-iter", type=int, default=3)
    arguments = parser.parse_args(argv)
    n, d, k = arguments.n, arguments.d, arguments.k
    rng = np.random.default_rng(0)
    X = np.empty((n, d))
    for start in range(0, n, 100_000):  # in blocks: no temporary the size of X
        rows = X[start:start + 100_000]
        rows[:] = rng.standard_normal(rows.shape)
        rows += rng.integers(0, k, rows.shape[0])[:, None]
    model = gaussmix.GaussianMixture(
        k, covariance_type=arguments.covariance_type, max_iter=arguments.max_iter, tol=0.0,
        weights_init=np.full(k, 1 / k), means_init=X[rng.choice(n, k, replace=False)],
        precisions_init=np.stack([np.eye(d)] * k) if arguments.covariance_type == "full" else None,
        init_params="k-means++",
    )
    parameters_mb = k * d * d * 8 * 4 / 2**20  # covariances, precisions, factors, scatter
    with warnings.catch_warnings():  # load the compiled kernels first: their code is not the fit's memory
        warnings.simplefilter("ignore")
        gaussmix.GaussianMixture(2, covariance_type=arguments.covariance_type, max_iter=1).fit(X[:1000])
    resident_before = _peak_resident_bytes()
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    resident_growth = max(_peak_resident_bytes() - resident_before, 0)
    x_mb = X.nbytes / 2**20
    print(f"n={n} d={d} K={k} {arguments.covariance_type}: X {x_mb:.0f} MB, peak of the fit beyond X "
          f"{peak / 2**20:.0f} MB = {peak / X.nbytes:.3f} x X by tracemalloc (O(K d^2) parameter arrays "
          f"~{parameters_mb:.1f} MB), {resident_growth / 2**20:.0f} MB = {resident_growth / X.nbytes:.3f} x X "
          f"by peak RSS; total with X {(max(peak, resident_growth) + X.nbytes) / X.nbytes:.3f} x X")


def _peak_resident_bytes() -> int:
    """The process's peak resident set size so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    main()
