"""Peak memory of a GaussianMixture fit relative to the size of X (tracemalloc; NumPy reports its buffers).

    python benchmarks/bench_memory.py                 # n=2,000,000, d=16, K=32, full, float64
    python benchmarks/bench_memory.py --n 200000      # smaller
"""

import argparse
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
    X = rng.standard_normal((n, d)) + rng.integers(0, k, n)[:, None]
    model = gaussmix.GaussianMixture(
        k, covariance_type=arguments.covariance_type, max_iter=arguments.max_iter, tol=0.0,
        weights_init=np.full(k, 1 / k), means_init=X[rng.choice(n, k, replace=False)],
        precisions_init=np.stack([np.eye(d)] * k) if arguments.covariance_type == "full" else None,
        init_params="k-means++",
    )
    parameters_mb = k * d * d * 8 * 4 / 2**20  # covariances, precisions, factors, scatter
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    x_mb = X.nbytes / 2**20
    print(f"n={n} d={d} K={k} {arguments.covariance_type}: X {x_mb:.0f} MB, peak of the fit beyond X "
          f"{peak / 2**20:.0f} MB = {peak / X.nbytes:.3f} x X (O(K d^2) parameter arrays ~{parameters_mb:.1f} MB); "
          f"total with X {(peak + X.nbytes) / X.nbytes:.3f} x X")


if __name__ == "__main__":
    main()
