"""Effective number of components BayesianGaussianMixture finds on Old Faithful (the table in docs/bayesian.md).

Usage: python benchmarks/bayes_faithful.py [--standardised]

For n_components = 10 and 12, both weight priors and the four covariance types: defaults otherwise
(weight_threshold=0.01, k-means start with random_state=0), max_iter=1000. Prints a Markdown table of
``n_effective_components_`` (a star marks a fit that did not converge), then the expected weights and
posterior means of the components above the threshold, ordered by waiting time. ``--standardised`` fits the data scaled to unit variance per feature, which shows how much of
each result comes from the features' very different scales (eruption ~1 minute sd, waiting ~14).
"""

import sys
import warnings

import numpy as np

from gaussmix import BayesianGaussianMixture
from gaussmix.datasets import load_faithful

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


def main(standardised: bool = False) -> None:
    X, _ = load_faithful()
    if standardised:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    print(f"faithful{' (standardised)' if standardised else ''}: {X.shape[0]} rows, feature sd "
          f"{np.array2string(X.std(axis=0), precision=2)}")
    print()
    print("| prior | n_components | " + " | ".join(COVARIANCE_TYPES) + " |")
    print("| --- | --- |" + " --- |" * len(COVARIANCE_TYPES))
    details = []
    for prior_type in PRIOR_TYPES:
        for n_components in (10, 12):
            cells = []
            for covariance_type in COVARIANCE_TYPES:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # convergence is reported in the table
                    model = BayesianGaussianMixture(n_components=n_components, covariance_type=covariance_type,
                                                    weight_concentration_prior_type=prior_type, random_state=0,
                                                    max_iter=1000).fit(X)
                cells.append(f"{model.n_effective_components_}{'' if model.converged_ else '*'}")
                used = model.weights_ >= model.weight_threshold
                order = np.argsort(model.means_[used, 1])  # by waiting time
                details.append(f"{prior_type} K={n_components} {covariance_type}: weights "
                               f"{np.array2string(model.weights_[used][order], precision=3)}, means "
                               f"{np.array2string(model.means_[used][order], precision=2).replace(chr(10), '')}")
            print(f"| {prior_type} | {n_components} | " + " | ".join(cells) + " |")
    print()
    print("\n".join(details))


if __name__ == "__main__":
    main(standardised="--standardised" in sys.argv[1:])
