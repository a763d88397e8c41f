"""k-means is the limit of EM for a mixture of spherical Gaussians with a shared variance sigma^2 -> 0.

With equal weights and covariance sigma^2 I held fixed (``freeze=("weights", "covariances")``), the E-step gives
responsibilities softmax_k(-||x - mu_k||^2 / (2 sigma^2)) and the M-step moves each mean to the
responsibility-weighted average. As sigma -> 0 the responsibilities become 0/1 (the nearest mean) and the
M-step becomes k-means' centroid update. Hard (classification) EM, ``assignment="hard"``, takes that limit
at once: with the same frozen weights and variance it *is* Lloyd's algorithm, for any sigma.

This script fits both with gaussmix.GaussianMixture from the same starting means as gaussmix.KMeans and
prints how far each is from the k-means centroids and labels.

Run:  python examples/kmeans_limit_of_em.py [OUTPUT_DIR]
Writes OUTPUT_DIR/kmeans_limit_of_em.png.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gaussmix import GaussianMixture, KMeans  # noqa: E402


def fixed_variance_mixture(start, sigma, assignment):
    """Spherical components, equal weights and variance sigma^2 held fixed: only the means move."""
    return GaussianMixture(start.shape[0], covariance_type="spherical", freeze=("weights", "covariances"),
                           means_init=start, precisions_init=np.full(start.shape[0], sigma**-2.0),
                           assignment=assignment, tol=1e-12, max_iter=1000)


def main(output_dir="."):
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(c, 0.8, size=(150, 2)) for c in ([0, 0], [3, 3], [0, 4])])
    start = X[rng.choice(X.shape[0], 3, replace=False)]
    kmeans = KMeans(3, init=start, n_init=1).fit(X)

    hard = fixed_variance_mixture(start, 1.0, "hard").fit(X)
    print(f"hard EM, sigma 1: labels equal k-means' for {np.mean(hard.predict(X) == kmeans.labels_):.0%} of the "
          f"points; max |mean - centroid| {np.abs(hard.means_ - kmeans.cluster_centers_).max():.1e}")

    sigmas = np.array([3.0, 2.0, 1.5, 1.0, 0.7, 0.5, 0.3, 0.1, 0.03])
    distances, hardness = [], []
    for sigma in sigmas:
        soft = fixed_variance_mixture(start, sigma, "soft").fit(X)
        distances.append(np.abs(soft.means_ - kmeans.cluster_centers_).max())
        hardness.append(soft.predict_proba(X).max(axis=1).mean())
        print(f"soft EM, sigma {sigma:5.2f}: max |EM mean - k-means centroid| {distances[-1]:.2e}, "
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
