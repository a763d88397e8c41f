"""The lecture's 2-D mixture of two Gaussians, sampled and fitted, recovered values beside the true ones.

    pi    = (2/3, 1/3)
    mu_1  = (-2, 0)           Sigma_1 = diag(1, 9)
    mu_2  = ( 2, 2)           Sigma_2 = [[1, 0.8], [0.8, 1]]

(As the handwritten notes read; the last entry of Sigma_2 is illegible there, and 1 keeps it positive definite.)
Each point is drawn by choosing a component z ~ Categorical(pi), then x | z = k ~ N(mu_k, Sigma_k).

Run:  python examples/two_dimensional_two_components.py [OUTPUT_DIR]
Prints the fitted weights, means and covariances beside the true ones, and writes
OUTPUT_DIR/two_dimensional_two_components.png (clusters with ellipses, density contours, uncertainty).
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
COVARIANCES = np.array([[[1.0, 0.0], [0.0, 9.0]],
                        [[1.0, 0.8], [0.8, 1.0]]])
N_SAMPLES = 3000


def sample(n_samples, rng):
    """Draw ``z ~ Categorical(WEIGHTS)``, then ``x | z ~ N(MEANS[z], COVARIANCES[z])``; returns (X, z)."""
    labels = rng.choice(len(WEIGHTS), size=n_samples, p=WEIGHTS)
    factors = np.linalg.cholesky(COVARIANCES)
    X = MEANS[labels] + np.einsum("nij,nj->ni", factors[labels], rng.standard_normal((n_samples, 2)))
    return X, labels


def one_line(values):
    return np.array2string(np.asarray(values), precision=3, separator=", ", max_line_width=200).replace("\n", "")


def show(name, true, fitted):
    print(f"  {name:<8} true {one_line(true):<34} fitted {one_line(fitted)}")


def main(output_dir="."):
    X, labels = sample(N_SAMPLES, np.random.default_rng(0))
    model = GaussianMixture(2, n_init=3, random_state=0).fit(X)
    order = np.argsort(model.means_[:, 0])  # component 1 is the left one, as in the notes
    print(f"{N_SAMPLES} samples; fitted by EM in {model.n_iter_} iterations (mean log-likelihood "
          f"{model.lower_bound_:.4f})")
    show("weights", WEIGHTS, model.weights_[order])
    for k, fitted in enumerate(order, start=1):
        show(f"mu_{k}", MEANS[k - 1], model.means_[fitted])
        show(f"Sigma_{k}", COVARIANCES[k - 1], model.covariances_[fitted])
    predicted = order.argsort()[model.predict(X)]
    print(f"labels agree with the generating components for {np.mean(predicted == labels):.1%} of the points")

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
