"""Parameters of a Gaussian mixture, as one immutable value."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["MixtureParams"]


@dataclass(frozen=True, eq=False)
class MixtureParams:
    """Weights, means and covariance factors of a mixture, in centred coordinates.

    The data seen by the EM kernel are ``x - offset``; ``means`` live in those coordinates, so the
    user-facing means are ``means + offset``. Centring once guards every moment against catastrophic
    cancellation when the data have a large offset (timestamps, prices).

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
        Mixing proportions, positive, summing to one.
    means : ndarray of shape (n_components, n_features)
        Component means in centred coordinates.
    covariances : ndarray
        Covariances in the structure's own shape.
    precisions_cholesky : ndarray
        Cholesky factors of the precisions in the structure's own shape (scikit-learn's convention:
        for 'full', upper-triangular ``U_k`` with ``precision_k = U_k U_k^T``).
    offset : ndarray of shape (n_features,)
        The point subtracted from the data before any arithmetic.
    dof : ndarray of shape (n_components,) or None
        Degrees of freedom of multivariate Student-t components (:mod:`gaussmix.families.student_t`); None for
        Gaussian components. Every density evaluation follows it (:func:`gaussmix.families.em.weighted_log_density`).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray
    offset: np.ndarray
    dof: np.ndarray | None = None

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        return self.means.shape[1]

    @property
    def absolute_means(self) -> np.ndarray:
        """Means in the user's coordinates, ``means + offset``."""
        return self.means + self.offset

    def replace(self, **changes) -> "MixtureParams":
        """A copy with some fields changed (the value itself is immutable)."""
        return replace(self, **changes)
