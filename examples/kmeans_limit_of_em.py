"""k-means is the limit of EM for a mixture of spherical Gaussians with a shared variance sigma^2 -> 0.

With equal weights and covariance sigma^2 I held fixed, the E-step gives responsibilities
softmax_k(-||x - mu_k||^2 / (2 sigma^2)) and the M-step moves each mean to the responsibility-weighted
average. As sigma -> 0 the responsibilities become 0/1 (the nearest mean) and the M-step becomes
k-means' centroid update. This script runs that EM for shrinking sigma from the same starting means as
gaussmix.KMeans and shows the means converging to the k-means centroids and the responsibilities hardening.

Run:  python examples/kmeans_limit_of_em.py [OUTPUT_DIR]
Writes OUTPUT_DIR/kmeans_limit_of_em.png.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.special import softmax  # noqa: E402

from gaussmix import KMeans  # noqa: E402


def fixed_variance_em(X, means, sigma, n_iter=200):
    """EM with equal weights and covariance sigma^2 I held fixed: only the means move."""
    for _ in range(n_iter):
        squared = ((X[:, None, :] - means[None]) ** 2).sum(axis=2)
        responsibilities = softmax(-squared / (2 * sigma**2), axis=1)
        means = (responsibilities.T @ X) / responsibilities.sum(axis=0)[:, None]
    return means, responsibilities


def main(output_dir="."):
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(c, 0.8, size=(150, 2)) for c in ([0, 0], [3, 3], [0, 4])])
    start = X[rng.choice(X.shape[0], 3, replace=False)]
    kmeans = KMeans(3, init=start, n_init=1).fit(X)

    sigmas = np.array([3.0, 2.0, 1.5, 1.0, 0.7, 0.5, 0.3, 0.1, 0.03])
    distances, hardness = [], []
    for sigma in sigmas:
        means, responsibilities = fixed_variance_em(X, start, sigma)
        distances.append(np.abs(means - kmeans.cluster_centers_).max())
        hardness.append(responsibilities.max(axis=1).mean())
        print(f"sigma {sigma:5.2f}: max |EM mean - k-means centroid| {distances[-1]:.2e}, "
              f"mean max responsibility {hardness[-1]:.4f}")

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.loglog(sigmas, np.maximum(distances, 1e-16), marker="o")
    left.set_xlabel("shared standard deviation sigma")
    left.set_ylabel("max |EM mean - k-means centroid|")
    left.set_title("EM means -> k-means centroids")
    left.invert_xaxis()
    right.semilogx(sigmas, hardness, marker="o")
    right.set_xlabel("shared standard deviation sigma")
    right.set_ylabel("mean of max responsibility")
    right.set_title("responsibilities harden to 0/1")
    right.invert_xaxis()
    path = Path(output_dir) / "kmeans_limit_of_em.png"
    figure.savefig(path, dpi=90, bbox_inches="tight")
    print(f"wrote {path}")
    return sigmas, np.array(distances), np.array(hardness)


if __name__ == "__main__":
    main(*sys.argv[1:])
