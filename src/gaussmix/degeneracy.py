"""What to do when a component becomes empty or singular: re-seed it where the model is worst."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import logsumexp

from .covariance import CovarianceStructure
from .em import ParameterEstimate, degenerate_error, weighted_log_density
from .exceptions import DegenerateComponentWarning
from .params import MixtureParams

__all__ = ["reseed_degenerate", "degeneracy_advice"]


def degeneracy_advice(reg_covar: float, n_components: int) -> str:
    """What a user can change when components keep degenerating."""
    return (
        f"Increase reg_covar (now {reg_covar:g}; it is an absolute variance, so scale it to your data), reduce n_components (now {n_components}), choose a "
        "constrained covariance_type ('diag', 'spherical' or 'tied'), or check the data for duplicated "
        "rows and constant or collinear features."
    )


def reseed_degenerate(estimate: ParameterEstimate, engine, structure: CovarianceStructure, advice: str) -> MixtureParams:
    """Move every degenerate component onto a sample the healthy components explain worst.

    The re-seeded component gets the weight-averaged covariance of the healthy ones and weight
    ``1 / n_components``; the healthy weights are scaled to make room. A warning names each component.

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
    healthy = MixtureParams(healthy_weights, estimate.means, estimate.covariances,
                            estimate.precisions_cholesky, estimate.offset)
    new_means = estimate.means.copy()
    new_means[degenerate] = engine.rows_with_lowest(
        lambda chunk: logsumexp(weighted_log_density(chunk, healthy, structure), axis=1), int(degenerate.sum())
    )
    covariances = structure.replace_components(estimate.covariances, degenerate, healthy_weights)
    precisions_cholesky, singular = structure.cholesky_of_precisions(covariances)
    if singular.any():
        raise degenerate_error(estimate.degenerate, advice)
    weights = np.where(degenerate, 1.0 / n_components, healthy_weights * (1.0 - degenerate.sum() / n_components))

    for component, reason in estimate.degenerate.items():
        warnings.warn(
            f"Mixture component {component} became {reason}; re-seeded at the sample the other components "
            f"explain worst. {advice}",
            DegenerateComponentWarning,
            stacklevel=4,
        )
    return MixtureParams(weights, new_means, covariances, precisions_cholesky, estimate.offset)
