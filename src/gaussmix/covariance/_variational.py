"""Pieces shared by the structures' variational-Bayes methods (prior checks, Student-t normaliser).

The structures that have scikit-learn's conjugate variational posterior ('full', 'tied', 'diag',
'spherical'; :attr:`CovarianceStructure.variational`) check a user's ``covariance_prior`` and evaluate the
posterior predictive with these; :mod:`gaussmix.estimators.bayesian_mixture` validates its other hyper-parameters with
the same checks, so the messages agree.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["WishartPosterior", "checked_array", "checked_matrix_prior", "is_positive_number", "is_real",
           "student_t_log_normaliser", "wishart_predictive_degrees_of_freedom"]

LOG_PI = float(np.log(np.pi))


def is_real(value) -> bool:
    """A finite real number (not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


def is_positive_number(value) -> bool:
    """A finite real number above zero (not a bool)."""
    return is_real(value) and value > 0


def checked_array(name: str, value, shape: tuple) -> np.ndarray:
    """``value`` as a float64 array of ``shape`` with finite entries; a ValueError naming ``name`` otherwise."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers") from None
    if array.shape != tuple(shape):
        raise ValueError(f"The parameter '{name}' should have the shape of {tuple(shape)}, but got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    return array


def checked_matrix_prior(structure_name: str, value, n_features: int) -> np.ndarray:
    """A Wishart scale ``W_0^{-1}``: a symmetric positive-definite (n_features, n_features) float64 matrix.

    Symmetry is tested to a relative 1e-10 (a matrix computed as ``A @ A.T`` passes), definiteness by a
    Cholesky factorisation.
    """
    matrix = checked_array("covariance_prior", value, (n_features, n_features))
    advice = f"'{structure_name} covariance_prior' should be symmetric, positive-definite"
    if not np.allclose(matrix, matrix.T, rtol=1e-10, atol=1e-14 * np.abs(matrix).max()):
        raise ValueError(advice)
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise ValueError(advice) from None
    return matrix


def wishart_predictive_degrees_of_freedom(degrees_of_freedom, n_features: int):
    """``f = nu + 1 - d``: the posterior predictive t of a Normal-Wishart posterior (the Wishart of a d x d
    precision loses d - 1 degrees of freedom to it; Murphy 2007, section 8)."""
    return degrees_of_freedom - (n_features - 1)


def student_t_log_normaliser(dof, dimension: int):
    """``log Gamma((f + p)/2) - log Gamma(f/2) - p/2 log(f pi)`` of a ``p``-variate t with ``f`` degrees of freedom."""
    from scipy.special import gammaln  # here, not at the top: `gaussmix --help` reads the structures without SciPy

    return gammaln(0.5 * (dof + dimension)) - gammaln(0.5 * dof) - 0.5 * dimension * (np.log(dof) + LOG_PI)


class WishartPosterior:
    """The variational methods of a structure whose posterior is a Wishart on a d x d precision ('full', and
    'tied' with one Wishart shared by all components); mixed into :class:`~gaussmix.covariance.CovarianceStructure`
    subclasses, whose ``_require_variational`` and ``name`` they use."""

    def checked_covariance_prior(self, value, n_features):
        self._require_variational()
        return checked_matrix_prior(self.name, value, n_features)

    def predictive_degrees_of_freedom(self, degrees_of_freedom, n_features):
        self._require_variational()
        return wishart_predictive_degrees_of_freedom(degrees_of_freedom, n_features)
