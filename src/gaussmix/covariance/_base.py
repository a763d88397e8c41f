"""The interface every covariance structure implements, and the log-density written once."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from .. import _numba
from .._floating import log_responsibility_floor
from ..exceptions import zero_density_error
from ._variational import student_t_log_normaliser

__all__ = ["CovarianceStructure", "KERNEL_BLOCK_ROWS", "LOG_2PI", "run_kernel", "lower_to_symmetric"]

LOG_2PI = float(np.log(2.0 * np.pi))

KERNEL_BLOCK_ROWS = 256
"""Rows per block in the compiled E-step kernels: a block's temporaries (a few K x 256 and d x 256
arrays) stay in the core's L2 cache while every component is evaluated on it."""


def run_kernel(kernel, chunk: np.ndarray, offset: np.ndarray | None, sample_weight: np.ndarray, *arguments) -> tuple:
    """Run a compiled E-step kernel of :mod:`gaussmix._numba.estep` on a chunk.

    ``chunk - offset`` are the centred rows (``offset=None``: ``chunk`` is centred); the kernel centres
    block by block. Returns ``(log_likelihood, counts, sums, *scatter_parts)``, after raising the NumPy
    path's error if some sample has zero density under every component.
    """
    offset = np.zeros(chunk.shape[1]) if offset is None else np.asarray(offset, dtype=np.float64)
    log_likelihood, n_bad, counts, sums, *scatter_parts = kernel(
        np.ascontiguousarray(chunk), offset, np.ascontiguousarray(sample_weight, dtype=np.float64), *arguments,
        KERNEL_BLOCK_ROWS, log_responsibility_floor(chunk.dtype))
    if n_bad:
        raise zero_density_error()
    return float(log_likelihood), counts, sums, *scatter_parts


def lower_to_symmetric(lower: np.ndarray, n_features: int) -> np.ndarray:
    """The symmetric matrices whose lower triangles are ``lower[..., :d, :d]`` (the kernels fill those)."""
    if _numba.AVAILABLE and lower.ndim == 3 and lower.dtype == np.float64:
        return _numba.symmetric_from_lower(lower, n_features)
    lower = lower[..., :n_features, :n_features]
    return np.tril(lower) + np.swapaxes(np.tril(lower, -1), -1, -2)


class CovarianceStructure(ABC):
    """How one family of covariance matrices is stored, evaluated and estimated.

    A structure is a stateless strategy object: it owns no parameters, it only knows the shapes and
    the mathematics of its family. Parameters travel in :class:`~gaussmix.params.MixtureParams`.

    Conventions (shared with scikit-learn): ``covariances`` and ``precisions_cholesky`` have the shape
    given by :meth:`covariance_shape`; for matrix families the precision factor ``U`` is upper
    triangular with ``precision = U @ U.T``, for diagonal families it holds ``1 / sqrt(variance)``.

    Subclasses implement the E-step pieces (:meth:`squared_mahalanobis`,
    :meth:`log_det_precision_cholesky`, :meth:`scatter`), the M-step piece
    (:meth:`estimate_covariances`) and the conversions; the Gaussian log-density itself is written once,
    here.
    """

    name: ClassVar[str]
    online: ClassVar[bool] = True
    """Whether the scatter is a fixed linear image of per-component outer products (so stepwise EM can
    re-centre it; see :mod:`gaussmix.families.online`). Structures whose statistics depend on the parameters opt out."""

    # ----------------------------------------------------------------------------------------- shapes
    @abstractmethod
    def covariance_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of ``covariances``, ``precisions`` and ``precisions_cholesky``."""

    def scatter_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the scatter statistic; the covariance shape unless a structure needs less."""
        return self.covariance_shape(n_components, n_features)

    @abstractmethod
    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Number of free parameters of the covariances (not counting means and weights)."""

    # ----------------------------------------------------------------------------------------- E-step
    @abstractmethod
    def squared_mahalanobis(self, X: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray) -> np.ndarray:
        """``(x_n - mu_k)^T Sigma_k^{-1} (x_n - mu_k)``, shape (n_samples, n_components)."""

    @abstractmethod
    def log_det_precision_cholesky(self, precisions_cholesky: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """``log det U_k = -0.5 log det Sigma_k``, shape (n_components,)."""

    def log_weighted_constants(self, params) -> np.ndarray:
        """``log pi_k + log det U_k - d/2 log 2 pi``, shape (n_components,): the log-density of component
        ``k`` at Mahalanobis distance zero, weighted (a zero weight gives -inf)."""
        n_components, n_features = params.means.shape
        weights = params.weights
        log_weights = np.full(weights.shape, -np.inf)
        np.log(weights, out=log_weights, where=weights > 0)  # (not np.errstate: it costs more than the log)
        return (log_weights + self.log_det_precision_cholesky(params.precisions_cholesky, n_components, n_features)
                - 0.5 * n_features * LOG_2PI)

    def fused_statistics(self, chunk: np.ndarray, sample_weight: np.ndarray, params, offset: np.ndarray | None = None):
        """The E-step of one chunk in a single compiled pass, or None where there is none.

        Structures with a compiled kernel (numba installed; :mod:`gaussmix._numba.estep`) return the
        :class:`~gaussmix.stats.SufficientStatistics` that :func:`gaussmix.families.em.expect` would compute, up to
        rounding; :func:`~gaussmix.families.em.expect` falls back to the NumPy composition of
        :meth:`log_gaussian_density` and :meth:`scatter` when this returns None. ``chunk - offset`` are
        the centred rows (``offset=None``: the chunk is centred); the kernels centre in cache.
        """
        return None

    def log_gaussian_density(self, X: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray) -> np.ndarray:
        """``log N(x_n | mu_k, Sigma_k)`` for every row and component, shape (n_samples, n_components).

        ``log N = -0.5 (d log 2 pi + mahalanobis^2) + log det U_k``.
        """
        n_features = X.shape[1]
        log_prob = self.squared_mahalanobis(X, means, precisions_cholesky)
        log_prob *= -0.5
        log_prob += self.log_det_precision_cholesky(precisions_cholesky, *means.shape) - 0.5 * n_features * LOG_2PI
        return log_prob

    @abstractmethod
    def scatter(self, X: np.ndarray, responsibilities: np.ndarray, sample_weight: np.ndarray, means: np.ndarray) -> np.ndarray:
        """Weighted second moments about ``means``: ``sum_n w_n gamma_nk (x_n - m_k)(x_n - m_k)^T``.

        Returned in :meth:`scatter_shape` (e.g. only the diagonal for 'diag', the sum over components for
        'tied'). Additive over rows.
        """

    def scatter_under(self, X: np.ndarray, responsibilities: np.ndarray, sample_weight: np.ndarray, means: np.ndarray,
                      precisions_cholesky: np.ndarray) -> np.ndarray:
        """The scatter statistic of an EM iteration, under parameters with these precision factors.

        The default is :meth:`scatter`. A structure whose M-step needs only products of the scatter with
        the current parameters (factor analysers: ``S_k beta_k^T``, O(n d q) instead of O(n d^2)) returns
        those; :meth:`update_covariances` then receives them together with the parameters' covariances.
        """
        return self.scatter(X, responsibilities, sample_weight, means)

    def scatter_from_dense(self, dense: np.ndarray, precisions_cholesky: np.ndarray | None = None) -> np.ndarray:
        """The scatter statistic of rows whose full per-component scatter matrices are ``dense``.

        What :meth:`scatter` (or, given ``precisions_cholesky``, :meth:`scatter_under`) returns for any rows
        with ``sum_n w_n gamma_nk (x_n - m_k)(x_n - m_k)^T = dense[k]``. The missing-value E-step
        (:mod:`gaussmix.families.missing`) needs it: its expected scatter (outer products of completed rows plus
        conditional covariances) exists only as full matrices.

        Parameters
        ----------
        dense : ndarray of shape (n_components, n_features, n_features)
        precisions_cholesky : ndarray, optional
            The precision factors the statistics are taken under (an EM iteration's); None for the plain
            :meth:`scatter` (initialisation).

        Returns
        -------
        ndarray in :meth:`scatter_shape` (or the shape :meth:`scatter` returns)

        Notes
        -----
        The default replays each ``S_k = sum_j lambda_j v_j v_j^T`` as the d pseudo-rows ``sqrt(lambda_j) v_j``
        belonging to component k only, about a zero reference mean: any structure whose statistic is a
        linear reduction of the rows' outer products (the contract of :meth:`scatter` and
        :meth:`scatter_under`) thereby gets exactly its own statistic, at O(K d^3). A (K, d, d) scatter shape
        is taken to be the full scatter itself; a structure for which it is something else overrides this.
        """
        n_components, n_features, _ = dense.shape
        if self.scatter_shape(n_components, n_features) == dense.shape:
            return dense
        eigenvalues, eigenvectors = np.linalg.eigh(dense)
        scaled = eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.0))[:, None, :]
        rows = scaled.transpose(0, 2, 1).reshape(n_components * n_features, n_features)
        membership = np.repeat(np.eye(n_components), n_features, axis=0)
        weights, reference = np.ones(rows.shape[0]), np.zeros((n_components, n_features))
        if precisions_cholesky is None:
            return self.scatter(rows, membership, weights, reference)
        return self.scatter_under(rows, membership, weights, reference, precisions_cholesky)

    # ----------------------------------------------------------------------------------------- M-step
    @abstractmethod
    def estimate_covariances(self, scatter: np.ndarray, counts: np.ndarray, shifts: np.ndarray, reg_covar: float) -> np.ndarray:
        """Covariances about the new means, plus ``reg_covar`` on the diagonal.

        Parameters
        ----------
        scatter : ndarray in :meth:`scatter_shape`
            Scatter about the reference means ``m_k``.
        counts : ndarray of shape (n_components,)
            ``N_k``; components with ``N_k == 0`` may return anything finite (they are re-seeded).
        shifts : ndarray of shape (n_components, n_features)
            New means minus reference means, ``delta_k``; the scatter about the new means is
            ``S_k - N_k delta_k delta_k^T``.
        reg_covar : float
            Non-negative regularisation added to the diagonal.
        """

    def update_covariances(self, scatter: np.ndarray, counts: np.ndarray, shifts: np.ndarray, reg_covar: float,
                           previous: np.ndarray | None) -> np.ndarray:
        """The M-step given ``previous``, the covariances that produced the statistics (None at initialisation).

        Structures without a closed-form maximiser (factor analysers) improve on ``previous`` by one
        step (a generalised EM step); the default ignores it and calls :meth:`estimate_covariances`.
        """
        return self.estimate_covariances(scatter, counts, shifts, reg_covar)

    def with_em_tolerance(self, em_tol: float) -> "CovarianceStructure":
        """The structure for the M-steps of an EM run that stops when the mean log-likelihood changes by
        less than ``em_tol``.

        Structures whose M-step is itself iterative (mclust's EVE, VVE, VEE, VEV, VEI) return a copy that
        warm-starts it from the previous iteration and stops it at a tolerance tied to ``em_tol``; the
        default is the structure itself.
        """
        return self

    @abstractmethod
    def cholesky_of_precisions(self, covariances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Precision Cholesky factors from covariances, without raising.

        Returns
        -------
        precisions_cholesky : ndarray in :meth:`covariance_shape`
            Factors; entries of singular components are placeholders (identity).
        singular : ndarray of bool, shape (n_components,) or (1,) for shared covariances
            True where the covariance is not positive definite (or not finite).
        """

    # ------------------------------------------------------------------------------------ conversions
    @abstractmethod
    def precisions_cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Factor user-given precisions; raises ValueError naming a non-positive-definite component."""

    @abstractmethod
    def covariances_from_precisions_cholesky(self, precisions_cholesky: np.ndarray) -> np.ndarray:
        """Covariances from precision factors (triangular solves, no general inverse)."""

    @abstractmethod
    def precisions_from_precisions_cholesky(self, precisions_cholesky: np.ndarray) -> np.ndarray:
        """Precisions ``U U^T`` from their factors."""

    def invalid_precisions_cholesky(self, precisions_cholesky: np.ndarray) -> str | None:
        """Why ``precisions_cholesky`` cannot be a valid factor (or None): for vector families every
        entry must be strictly positive. Matrix families also require upper-triangular factors."""
        if not np.all(precisions_cholesky > 0):
            return "precisions_cholesky_ has non-positive entries (not positive definite)"
        return None

    @abstractmethod
    def dense_covariances(self, covariances: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """Full matrices, shape (n_components, n_features, n_features): for sampling and testing."""

    # --------------------------------------------------------------------------------- degeneracy
    def collapsed(self, covariances: np.ndarray, variance_floor: np.ndarray, reg_covar: float = 0.0) -> np.ndarray:
        """Components whose covariance is below ``variance_floor`` in some direction, shape (n_components,).

        ``reg_covar`` is taken off the diagonal first: the test is on the estimate itself, so a component
        held up only by the regularisation (zero scatter in some direction) is caught however small the floor
        is next to ``reg_covar``. The covariance is rescaled by ``diag(variance_floor)^{-1/2}`` on both sides; a smallest
        eigenvalue below one means the component has (nearly) no extent in some direction relative to
        the data, i.e. it sits on a single point, a set of tied values or a subspace. Features with a
        zero floor (constant in the data) are left out: regularisation is the only remedy there.
        """
        n_components = covariances.shape[0] if not self.shared else 1
        n_features = variance_floor.shape[0]
        keep = variance_floor > 0
        dense = self.dense_covariances(covariances, n_components, n_features)
        if _numba.AVAILABLE:  # a Cholesky factorisation of the scaled matrix minus I, per component, compiled
            return _numba.has_direction_below(np.ascontiguousarray(dense, dtype=np.float64),
                                              np.asarray(variance_floor, dtype=np.float64), float(reg_covar))
        dense = (dense - reg_covar * np.eye(n_features))[:, keep][:, :, keep]
        scale = 1.0 / np.sqrt(variance_floor[keep])
        scaled = dense * scale[:, None] * scale[None, :]
        smallest = np.linalg.eigvalsh(scaled)[:, 0] if scaled.shape[1] else np.full(n_components, np.inf)
        return smallest < 1.0

    iterative_m_step: ClassVar[bool] = False
    """True when the M-step is itself an iteration (mclust's VEI, VEE, EVE, VVE, VEV): its cost per EM iteration is
    several times a closed form's, and :meth:`with_em_tolerance` warm-starts it."""

    shared: ClassVar[bool] = False
    """True when one covariance is shared by all components (nothing per component to re-seed)."""

    equal_covariances: ClassVar[bool] = False
    """True when every component has the same covariance, whether it is stored once (``shared``) or once per
    component (mclust's EII and EEI keep the per-component storage of their spherical/diagonal family)."""

    # ------------------------------------------------------------------------------- variational Bayes
    variational: ClassVar[bool] = False
    """True when the structure has scikit-learn's conjugate variational posterior (a Normal-Wishart per
    component, restricted to the structure's shape; see :mod:`gaussmix.families.variational`), so that
    :class:`~gaussmix.BayesianGaussianMixture` can use it. The variational update and bound are written once
    for all such structures; what differs between them is the prior's shape
    (:meth:`checked_covariance_prior`) and the posterior predictive (:meth:`predictive_log_density`)."""

    sklearn_name: ClassVar[str | None] = None
    """scikit-learn's ``covariance_type`` with exactly this structure's storage and parameters, or None: a
    fitted model converts to scikit-learn by copying its arrays (:func:`gaussmix.to_sklearn`) only then."""

    def _require_variational(self) -> None:
        if not self.variational:
            raise ValueError(f"covariance_type {self.name!r} has no variational posterior (BayesianGaussianMixture "
                             "takes scikit-learn's 'full', 'tied', 'diag' or 'spherical')")

    def checked_covariance_prior(self, value, n_features: int) -> np.ndarray | float:
        """The prior scale ``W_0^{-1}`` from a user's ``covariance_prior``, validated, in float64.

        Parameters
        ----------
        value : array-like or float
            One component's covariance in this structure's shape: (n_features, n_features) for the matrix
            families, (n_features,) for 'diag', a number for 'spherical'.
        n_features : int

        Returns
        -------
        ndarray or float
            The prior scale in that shape.

        Raises
        ------
        ValueError
            If the value has the wrong shape, is not finite or not positive definite, or the structure has no
            variational posterior.
        """
        self._require_variational()
        raise NotImplementedError  # pragma: no cover - every variational structure overrides it

    def predictive_degrees_of_freedom(self, degrees_of_freedom: np.ndarray, n_features: int) -> np.ndarray:
        """Degrees of freedom ``f_k`` of the multivariate-t posterior predictive, shape (n_components,).

        ``nu_k + 1 - d`` under a Wishart posterior of the precision matrix, ``nu_k`` under a Gamma posterior
        of one precision (see :meth:`predictive_log_density`).
        """
        self._require_variational()
        raise NotImplementedError  # pragma: no cover - overridden, or predictive_log_density is

    def predictive_log_density(self, X: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray,
                               mean_precision: np.ndarray, degrees_of_freedom: np.ndarray) -> np.ndarray:
        """``log St(x_n | m_k, Sigma_k^t, f_k)``: each component's posterior predictive, shape (n_samples, n_components).

        Integrating ``N(x | mu_k, Lambda_k^{-1})`` over ``q(mu_k, Lambda_k)`` (PRML 10.81; Murphy 2007,
        section 8) gives a multivariate t with ``f_k`` = :meth:`predictive_degrees_of_freedom` and scale
        ``Sigma_k^t = (1 + beta_k) nu_k / (beta_k f_k) C_k``, ``C_k = W_k^{-1} / nu_k`` being the posterior's
        ``covariances`` (factors ``precisions_cholesky``). A structure whose predictive is not a multivariate
        t ('diag': a product of univariate ones) overrides this.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        means : ndarray of shape (n_components, n_features)
            ``m_k``.
        precisions_cholesky : ndarray in :meth:`covariance_shape`
            Factors of ``C_k^{-1} = nu_k W_k``.
        mean_precision : ndarray of shape (n_components,)
            ``beta_k``.
        degrees_of_freedom : ndarray of shape (n_components,)
            ``nu_k`` (broadcast for a shared covariance).
        """
        n_components, n_features = means.shape
        beta, nu = mean_precision, degrees_of_freedom
        dof = self.predictive_degrees_of_freedom(nu, n_features)
        inflation = (1.0 + beta) * nu / (beta * dof)
        mahalanobis = np.asarray(self.squared_mahalanobis(X, means, precisions_cholesky), dtype=np.float64)
        log_density = (-0.5 * (dof + n_features)) * np.log1p(mahalanobis / (inflation * dof))
        log_density += (student_t_log_normaliser(dof, n_features) - 0.5 * n_features * np.log(inflation)
                        + self.log_det_precision_cholesky(precisions_cholesky, n_components, n_features))
        return log_density

    def replace_components(self, covariances: np.ndarray, replace: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Give the components flagged in ``replace`` the weight-averaged covariance of the others.

        Used when re-seeding degenerate components: a new component starts with the typical shape of the
        healthy ones.
        """
        if self.shared:
            return covariances
        keep = ~replace
        result = covariances.copy()
        result[replace] = np.average(covariances[keep], axis=0, weights=weights[keep])
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
