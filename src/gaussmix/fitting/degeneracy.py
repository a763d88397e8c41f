"""What to do when a component becomes empty or singular: re-seed it where the model is worst."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import logsumexp

from ..covariance import CovarianceStructure
from ..exceptions import DegenerateComponentWarning
from ..families.em import ParameterEstimate, degenerate_error, weighted_log_density
from ..params import MixtureParams

__all__ = ["reseed_degenerate", "degeneracy_advice"]


def degeneracy_advice(reg_covar: float, n_components: int) -> str:
    """What a user can change when components keep degenerating."""
    return (
        f"Increase reg_covar (now {reg_covar:g}; it is an absolute variance, so scale it to your data), reduce n_components (now {n_components}), choose a "
        "constrained covariance_type ('diag', 'spherical' or 'tied'), or check the data for duplicated "
        "rows and constant or collinear features."
    )


def reseed_degenerate(estimate: ParameterEstimate, engine, structure: CovarianceStructure, advice: str,
                      strategy: str = "worst", previous: MixtureParams | None = None) -> MixtureParams:
    """Replace every degenerate component, with a warning naming it.

    ``strategy='worst'`` moves it onto the samples the healthy components explain worst (under
    ``previous``, the parameters that produced the statistics, when given: after the M-step a healthy
    component may already have stretched over the region nobody explained), with the
    weight-averaged covariance of the healthy ones and weight ``1 / n_components`` (the healthy weights
    are scaled to make room). That fails when the worst-explained sample is an isolated point: the
    component collapses onto it again. ``strategy='split'`` then splits the heaviest healthy component
    along its principal axis: the new component starts one standard deviation away from it, with its
    covariance and half of its weight, which always leads to a finite local maximum.

    Raises
    ------
    DegenerateComponentError
        When no component is healthy (for 'tied', a singular shared covariance) so there is nothing
        to re-seed from.
    """
    n_components = estimate.weights.shape[0]
    degenerate = np.zeros(n_components, dtype=bool)
    degenerate[list(estimate.degenerate)] = True
    if degenerate.all():
        raise degenerate_error(estimate.degenerate, advice)

    healthy_weights = np.where(degenerate, 0.0, estimate.weights)
    healthy_weights /= healthy_weights.sum()
    if strategy == "worst":
        means, covariances, weights = _at_worst_explained(estimate, engine, structure, degenerate, healthy_weights,
                                                          previous)
        where = "on the sample the other components explain worst"
    elif strategy == "split":
        means, covariances, weights = _split_heaviest(estimate, structure, degenerate, healthy_weights)
        where = "by splitting the heaviest component along its principal axis"
    else:
        raise ValueError(f"unknown re-seeding strategy {strategy!r}")
    precisions_cholesky, singular = structure.cholesky_of_precisions(covariances)
    if singular.any():
        raise degenerate_error(estimate.degenerate, advice)
    for component, reason in estimate.degenerate.items():
        warnings.warn(f"Mixture component {component} became {reason}; re-seeded {where}. {advice}",
                      DegenerateComponentWarning, stacklevel=4)
    return MixtureParams(weights, means, covariances, precisions_cholesky, estimate.offset, estimate.dof)


def _at_worst_explained(estimate, engine, structure, degenerate, healthy_weights, previous):
    n_components = degenerate.shape[0]
    if previous is not None:
        previous_weights = np.where(degenerate, 0.0, previous.weights)
        healthy = previous.replace(weights=previous_weights / previous_weights.sum())
    else:
        healthy = MixtureParams(healthy_weights, estimate.means, estimate.covariances,
                                estimate.precisions_cholesky, estimate.offset, estimate.dof)
    means = estimate.means.copy()
    means[degenerate] = engine.rows_with_lowest(
        lambda chunk: logsumexp(weighted_log_density(chunk, healthy, structure), axis=1), int(degenerate.sum())
    )
    covariances = structure.replace_components(estimate.covariances, degenerate, healthy_weights)
    weights = np.where(degenerate, 1.0 / n_components, healthy_weights * (1.0 - degenerate.sum() / n_components))
    return means, covariances, weights


def _split_heaviest(estimate, structure, degenerate, healthy_weights):
    n_components, n_features = estimate.means.shape
    means = estimate.means.copy()
    weights = healthy_weights.copy()
    covariances = estimate.covariances.copy()
    dense = np.array(structure.dense_covariances(estimate.covariances, n_components, n_features))  # (a writable copy)
    for component in np.flatnonzero(degenerate):
        donor = int(np.argmax(weights))
        eigenvalues, eigenvectors = np.linalg.eigh(dense[donor])
        means[component] = means[donor] + np.sqrt(max(eigenvalues[-1], 0.0)) * eigenvectors[:, -1]
        weights[component] = weights[donor] = weights[donor] / 2
        dense[component] = dense[donor]  # a later split may take this one as its donor
        if not structure.shared:
            covariances[component] = covariances[donor]
    return means, covariances, weights
