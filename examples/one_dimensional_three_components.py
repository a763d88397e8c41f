"""1-D mixture of three Gaussians: recover pi = (0.6, 0.3, 0.1), mu = (-2, 4, 8), sigma = (2, 1, 0.2).

Run:  python examples/one_dimensional_three_components.py [OUTPUT_DIR]
Writes OUTPUT_DIR/one_dimensional_three_components.png (histogram with component densities).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from gaussmix import GaussianMixture, plotting  # noqa: E402

WEIGHTS, MEANS, STDS = np.array([0.6, 0.3, 0.1]), np.array([-2.0, 4.0, 8.0]), np.array([2.0, 1.0, 0.2])


def main(output_dir="."):
    rng = np.random.default_rng(0)
    labels = rng.choice(3, size=5000, p=WEIGHTS)
    x = rng.normal(MEANS[labels], STDS[labels])[:, None]

    model = GaussianMixture(3, n_init=5, max_iter=500, tol=1e-6, random_state=0).fit(x)
    order = np.argsort(model.means_[:, 0])
    print("component   weight (true)    mean (true)     sd (true)")
    for rank, k in enumerate(order):
        sd = np.sqrt(model.covariances_[k, 0, 0])
        print(f"{rank:>9}   {model.weights_[k]:.3f} ({WEIGHTS[rank]:.1f})   {model.means_[k, 0]:6.3f} ({MEANS[rank]:4.1f})"
              f"   {sd:.3f} ({STDS[rank]:.1f})")

    ax = plotting.plot_histogram(model, x, bins=80, feature_names=["x"])
    path = Path(output_dir) / "one_dimensional_three_components.png"
    ax.figure.savefig(path, dpi=100, bbox_inches="tight")
    print(f"wrote {path}")
    return model


if __name__ == "__main__":
    main(*sys.argv[1:])
