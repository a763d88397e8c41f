"""2-D mixture of two Gaussians: pi = (2/3, 1/3), mu = (-2, 0) and (2, 2), one correlated covariance.

Run:  python examples/two_dimensional_two_components.py [OUTPUT_DIR]
Writes OUTPUT_DIR/two_dimensional_two_components.png (clusters with ellipses, density contours, uncertainty).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gaussmix import GaussianMixture, plotting  # noqa: E402

WEIGHTS = np.array([2 / 3, 1 / 3])
MEANS = np.array([[-2.0, 0.0], [2.0, 2.0]])
COVARIANCES = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.5, 0.6], [0.6, 0.8]]])


def main(output_dir="."):
    rng = np.random.default_rng(0)
    labels = rng.choice(2, size=1500, p=WEIGHTS)
    X = np.array([rng.multivariate_normal(MEANS[k], COVARIANCES[k]) for k in labels])

    model = GaussianMixture(2, n_init=3, random_state=0).fit(X)
    for k in np.argsort(model.means_[:, 0]):
        print(f"weight {model.weights_[k]:.3f}  mean {np.round(model.means_[k], 3)}  "
              f"covariance {np.round(model.covariances_[k], 3).tolist()}")
    agreement = max(np.mean(model.predict(X) == labels), np.mean(model.predict(X) != labels))
    print(f"labels agree with the generating components for {agreement:.1%} of the points")

    figure, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    plotting.plot_clusters(model, X, ax=axes[0])
    plotting.plot_density(model, X, ax=axes[1])
    plotting.plot_uncertainty(model, X, ax=axes[2])
    path = Path(output_dir) / "two_dimensional_two_components.png"
    figure.savefig(path, dpi=90, bbox_inches="tight")
    print(f"wrote {path}")
    return model


if __name__ == "__main__":
    main(*sys.argv[1:])
