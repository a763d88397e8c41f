"""'factor': low-rank plus diagonal covariances, ``Sigma_k = Lambda_k Lambda_k^T + Psi_k`` (factor analysers).

Each component is a factor analyser (Ghahramani & Hinton, 1996): ``x = mu_k + Lambda_k z + e`` with
``z ~ N(0, I_q)`` and ``e ~ N(0, Psi_k)``, ``Lambda_k`` of shape (d, q) and ``Psi_k`` diagonal. Isotropic
noise ``Psi_k = sigma_k^2 I`` gives mixtures of probabilistic PCA (Tipping & Bishop, 1999); the noise may
also be shared by all components.

Nothing of size d x d is inverted or factored per point. With ``G = Psi^-1 Lambda`` and the q x q matrix
``M = I_q + Lambda^T Psi^-1 Lambda = C C^T`` (Cholesky), Woodbury's identity and the matrix determinant
lemma give::

    Sigma^-1     = Psi^-1 - G M^-1 G^T
    (x-mu)^T Sigma^-1 (x-mu) = r^T Psi^-1 r - ||C^-1 G^T r||^2,   r = x - mu
    log det Sigma = sum log Psi + 2 sum log diag C

so the E-step costs O(n K d q). The M-step takes the means as weighted averages, then improves each
component's factor model of its covariance ``V_k`` about the new mean by one EM step for factor analysis:
with ``beta = M^-1 G^T`` (q x d, the map from ``x - mu`` to ``E[z | x]``) of the current parameters,

    Lambda_new = V beta^T (I - beta Lambda + beta V beta^T)^-1
    Psi_new    = diag(V - Lambda_new beta V)          (averaged for isotropic / shared noise)

This is a generalised EM step: the means maximise the expected complete-data log-likelihood
``sum_k N_k [log pi_k + log N(. | mu_k, Sigma_k)]`` for any covariance, and the factor-analysis step then
increases the factor-analysis likelihood of each ``V_k``, hence that objective; so the log-likelihood never
decreases. (Ghahramani & Hinton, 1996, update the means jointly with the loadings; the AECM algorithm of
McLachlan & Peel, 2000, recomputes responsibilities between the two updates. Both are monotone too.) The step needs the
scatter ``S_k`` only through ``S_k beta_k^T`` and ``diag S_k``, which the E-step accumulates under the
current ``beta_k`` in O(n K d q) (:meth:`FactorAnalyzers.scatter_under`): no d x d matrix is formed while
iterating. Only the first M-step (from k-means or random responsibilities, with no loadings yet) uses the
full scatter, O(n K d^2) once, and starts from probabilistic PCA of each ``V_k`` (O(K d^3) once).

Storage (both of shape (n_components, n_features, n_factors + 1)):

- ``covariances``: ``[Lambda_k | Psi_k]``, loadings in the first q columns, noise variances in the last;
- ``precisions_cholesky``: ``[Psi_k^-1 Lambda_k | Psi_k^-1]``, from which the Woodbury factors above are
  computed in O(d q^2) per component.
"""

from __future__ import annotations

import numpy as np
import scipy  # scipy.linalg loads on first use

from ._base import CovarianceStructure
from .full import Full

__all__ = ["FactorAnalyzers", "NOISE_TYPES", "factor_analysis_step", "factor_analysis_update", "pack", "posterior_map",
           "unpack", "woodbury_factors"]

NOISE_TYPES = ("diag", "isotropic")


def pack(loadings: np.ndarray, noise_variance: np.ndarray) -> np.ndarray:
    """``[Lambda | Psi]``: loadings (K, d, q) and noise variances (K, d) in one (K, d, q + 1) array."""
    return np.concatenate([loadings, noise_variance[:, :, None]], axis=2)


def unpack(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pack`: ``(loadings (K, d, q), noise_variance (K, d))``."""
    return packed[:, :, :-1], packed[:, :, -1]


def woodbury_factors(precisions_cholesky: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The factors of ``Sigma_k^-1 = Psi_k^-1 - W_k W_k^T`` from ``[G_k | Psi_k^-1]``.

    Returns
    -------
    noise_precision : ndarray of shape (K, d)
        ``1 / Psi_k``.
    whitening : ndarray of shape (K, d, q)
        ``W_k = G_k C_k^-T`` with ``C_k C_k^T = M_k = I + G_k^T Psi_k G_k``.
    cholesky_m : ndarray of shape (K, q, q)
        ``C_k``, lower triangular.
    """
    scaled, noise_precision = unpack(precisions_cholesky)
    n_factors = scaled.shape[2]
    # M = I + Lambda^T Psi^-1 Lambda = I + G^T Psi G: a sum of positive terms, no cancellation.
    m = np.eye(n_factors) + np.einsum("kdi,kdj->kij", scaled / noise_precision[:, :, None], scaled)
    cholesky_m = np.linalg.cholesky(m)
    whitening = np.empty_like(scaled)
    for k in range(scaled.shape[0]):
        whitening[k] = scipy.linalg.solve_triangular(cholesky_m[k], scaled[k].T, lower=True).T
    return noise_precision, whitening, cholesky_m


def posterior_map(precisions_cholesky: np.ndarray) -> np.ndarray:
    """``beta_k = Lambda_k^T Sigma_k^-1 = M_k^-1 Lambda_k^T Psi_k^-1``, shape (K, q, d).

    ``E[z | x, k] = beta_k (x - mu_k)``; ``beta`` also drives the factor-analysis M-step.
    """
    _, whitening, cholesky_m = woodbury_factors(precisions_cholesky)
    beta = np.empty(whitening.transpose(0, 2, 1).shape)
    for k in range(whitening.shape[0]):
        beta[k] = scipy.linalg.solve_triangular(cholesky_m[k], whitening[k].T, lower=True, trans="T")  # C^-T W^T
    return beta


def factor_analysis_update(v_beta: np.ndarray, variance: np.ndarray, beta: np.ndarray,
                           loadings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One EM step of factor analysis from the products it needs, for a stack of components.

    Parameters
    ----------
    v_beta : ndarray of shape (K, d, q)
        ``V_k beta_k^T``: the component's covariance ``V_k`` (about its new mean) times the current
        posterior map.
    variance : ndarray of shape (K, d)
        ``diag(V_k)``.
    beta : ndarray of shape (K, q, d)
        Current ``beta_k`` (:func:`posterior_map`).
    loadings : ndarray of shape (K, d, q)
        Current ``Lambda_k``.

    Returns
    -------
    loadings : ndarray of shape (K, d, q)
        ``Lambda_new = V beta^T E^-1`` with ``E = E[z z^T] = I - beta Lambda + beta V beta^T``.
    residual_variance : ndarray of shape (K, d)
        ``diag(V - Lambda_new beta V)``, non-negative (clipped against rounding): the noise variance per
        feature maximising the expected complete-data likelihood, before averaging for isotropic or
        shared noise.

    Notes
    -----
    Cost O(K d q^2): nothing of size d x d is touched.
    """
    n_factors = loadings.shape[2]
    expected_zz = np.eye(n_factors) - beta @ loadings + beta @ v_beta
    expected_zz = 0.5 * (expected_zz + expected_zz.transpose(0, 2, 1))
    new_loadings = np.linalg.solve(expected_zz, v_beta.transpose(0, 2, 1)).transpose(0, 2, 1)
    residual = variance - np.einsum("kdq,kdq->kd", new_loadings, v_beta)
    return new_loadings, np.maximum(residual, 0.0)


def factor_analysis_step(covariance: np.ndarray, loadings: np.ndarray,
                         noise_variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`factor_analysis_update` from dense covariances ``V_k`` (K, d, d), O(K d^2 q)."""
    beta = posterior_map(pack(loadings / noise_variance[:, :, None], 1.0 / noise_variance))
    v_beta = covariance @ beta.transpose(0, 2, 1)
    return factor_analysis_update(v_beta, np.diagonal(covariance, axis1=1, axis2=2), beta, loadings)


def _top_eigenpairs(matrix: np.ndarray, n_factors: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_factors`` largest eigenvalues (descending) and their eigenvectors of a symmetric matrix."""
    n_features = matrix.shape[0]
    if n_factors == 0:
        return np.empty(0), np.empty((n_features, 0))
    values, vectors = scipy.linalg.eigh(matrix, subset_by_index=[n_features - n_factors, n_features - 1])
    return values[::-1], vectors[:, ::-1]


class FactorAnalyzers(CovarianceStructure):
    """Low-rank plus diagonal covariances ``Lambda_k Lambda_k^T + Psi_k``, shape (K, d, q + 1) packed.

    Parameters
    ----------
    n_factors : int, default=1
        ``q``, the number of latent factors per component (0 gives diagonal covariances).
    noise_type : {'diag', 'isotropic'}, default='diag'
        Diagonal ``Psi_k`` (factor analysers) or ``sigma_k^2 I`` (probabilistic PCA).
    shared_noise : bool, default=False
        One noise covariance for all components.

    Not registered by name: the family is parametrised by ``n_factors``, so it is used through
    :class:`~gaussmix.MixtureOfFactorAnalyzers` (or as ``GaussianMixture(covariance_type=FactorAnalyzers(q))``).
    """

    name = "factor"
    online = False  # its statistics are projections on the current loadings (scatter_under)

    def __init__(self, n_factors: int = 1, noise_type: str = "diag", shared_noise: bool = False):
        if noise_type not in NOISE_TYPES:
            raise ValueError(f"noise_type must be one of {list(NOISE_TYPES)}, got {noise_type!r}")
        self.n_factors = int(n_factors)
        self.noise_type = noise_type
        self.shared_noise = bool(shared_noise)

    def __repr__(self) -> str:
        return (f"FactorAnalyzers(n_factors={self.n_factors}, noise_type={self.noise_type!r}, "
                f"shared_noise={self.shared_noise})")

    # ------------------------------------------------------------------------------------- shapes
    def covariance_shape(self, n_components, n_features):
        return (n_components, n_features, self.n_factors + 1)

    def scatter_shape(self, n_components, n_features):
        """The EM iterations' projected scatter ``[S_k beta_k^T | diag S_k]`` (see :meth:`scatter_under`)."""
        return (n_components, n_features, self.n_factors + 1)

    def n_parameters(self, n_components, n_features):
        q = self.n_factors
        # Loadings are identified up to a q x q rotation: d q - q (q - 1) / 2 free values each.
        loadings = n_components * (n_features * q - q * (q - 1) // 2)
        noise_per_component = n_features if self.noise_type == "diag" else 1
        return loadings + noise_per_component * (1 if self.shared_noise else n_components)

    # ------------------------------------------------------------------------------------- E-step
    def squared_mahalanobis(self, X, means, precisions_cholesky):
        noise_precision, whitening, _ = woodbury_factors(precisions_cholesky)
        X = np.asarray(X, dtype=np.float64)  # float64: the Woodbury difference below cancels
        result = np.empty((X.shape[0], means.shape[0]))
        residual = np.empty_like(X)
        for k, mean in enumerate(means):
            np.subtract(X, mean, out=residual)
            projected = residual @ whitening[k]  # (n, q): C^-1 G^T r for every row
            result[:, k] = (residual * residual) @ noise_precision[k] - np.einsum("nq,nq->n", projected, projected)
        return np.maximum(result, 0.0)

    def log_det_precision_cholesky(self, precisions_cholesky, n_components, n_features):
        # -0.5 log det Sigma = 0.5 sum log Psi^-1 - sum log diag C   (matrix determinant lemma)
        noise_precision = precisions_cholesky[:, :, -1]
        _, _, cholesky_m = woodbury_factors(precisions_cholesky)
        log_diag = np.log(np.diagonal(cholesky_m, axis1=1, axis2=2)).sum(axis=1)
        return 0.5 * np.log(noise_precision).sum(axis=1) - log_diag

    def posterior_factor_means(self, X: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray) -> np.ndarray:
        """``E[z | x_n, k] = beta_k (x_n - mu_k)``, shape (n_samples, K, q)."""
        beta = posterior_map(precisions_cholesky)
        X = np.asarray(X, dtype=np.float64)
        return np.stack([(X - mean) @ beta[k].T for k, mean in enumerate(means)], axis=1)

    def scatter(self, X, responsibilities, sample_weight, means):
        """The full per-component scatter (K, d, d), O(n K d^2): only for the first M-step, which has no
        current loadings to project on (initialisation by probabilistic PCA)."""
        return Full().scatter(X, responsibilities, sample_weight, means)

    def scatter_under(self, X, responsibilities, sample_weight, means, precisions_cholesky):
        """``[S_k beta_k^T | diag S_k]``, shape (K, d, q + 1): all the factor-analysis step needs from the
        scatter ``S_k`` about ``means`` under the current ``beta_k``; O(n K d q) instead of O(n K d^2)."""
        beta = posterior_map(precisions_cholesky)
        X = np.asarray(X, dtype=np.float64)
        weights = responsibilities * sample_weight[:, None]
        result = np.empty((means.shape[0], X.shape[1], self.n_factors + 1))
        residual = np.empty_like(X)
        for k, mean in enumerate(means):
            np.subtract(X, mean, out=residual)
            weighted = residual * weights[:, k, None]
            result[k, :, :-1] = weighted.T @ (residual @ beta[k].T)
            result[k, :, -1] = np.einsum("nd,nd->d", weighted, residual)
        return result

    def scatter_from_dense(self, dense, precisions_cholesky=None):
        """``[S_k beta_k^T | diag S_k]`` from full scatter matrices (K, d, d) under ``precisions_cholesky``,
        O(K d^2 q); without them the full scatter itself (what :meth:`scatter` gives, for initialisation).

        The missing-value E-step accumulates full expected scatters of its incomplete rows; projecting them
        here makes them add to the complete rows' :meth:`scatter_under`, and the factor-analysis step sees
        the same statistic whichever rows it came from (the shape alone cannot tell the two forms apart
        when ``n_features == n_factors + 1``)."""
        if precisions_cholesky is None:
            return dense
        beta = posterior_map(precisions_cholesky)
        return pack(dense @ beta.transpose(0, 2, 1), np.diagonal(dense, axis1=1, axis2=2))

    # ------------------------------------------------------------------------------------- M-step
    def estimate_covariances(self, scatter, counts, shifts, reg_covar):
        """From the full scatter, without current loadings: probabilistic PCA of each ``V_k`` (top
        eigenvectors, O(d^3) per component, once per fit), then one factor-analysis step. For isotropic
        noise PPCA is the exact maximiser (Tipping & Bishop, 1999) and a fixed point of the step."""
        safe_counts = np.where(counts > 0, counts, 1.0)
        covariance = scatter / safe_counts[:, None, None] - shifts[:, :, None] * shifts[:, None, :]
        covariance = 0.5 * (covariance + covariance.transpose(0, 2, 1))
        n_components, n_features, _ = covariance.shape
        q = self.n_factors
        loadings = np.empty((n_components, n_features, q))
        noise = np.empty((n_components, n_features))
        for k in range(n_components):
            values, vectors = _top_eigenpairs(covariance[k], q)
            trace = np.trace(covariance[k])
            sigma2 = max((trace - values.sum()) / (n_features - q), 1e-12 * trace / n_features,
                         np.finfo(np.float64).tiny)
            loadings[k] = vectors * np.sqrt(np.maximum(values - sigma2, 0.0))
            noise[k] = sigma2
        return self._constrained(*factor_analysis_step(covariance, loadings, noise), counts, reg_covar)

    def update_covariances(self, scatter, counts, shifts, reg_covar, previous):
        """One factor-analysis step from ``previous`` (AECM: the means have moved by ``shifts``), given the
        projected scatter of :meth:`scatter_under` (a full (K, d, d) scatter is projected here)."""
        if previous is None:
            return self.estimate_covariances(scatter, counts, shifts, reg_covar)
        loadings, noise = unpack(previous)
        beta = posterior_map(self.cholesky_of_precisions(previous)[0])
        n_features = loadings.shape[1]
        if scatter.shape[2] == n_features and n_features != self.n_factors + 1:
            scatter = pack(scatter @ beta.transpose(0, 2, 1), np.diagonal(scatter, axis1=1, axis2=2))
        safe_counts = np.where(counts > 0, counts, 1.0)[:, None]
        projected_scatter, scatter_diagonal = unpack(scatter)
        # About the new means m + delta:  V beta^T = S beta^T / N - delta (beta delta)^T,  diag V = diag S / N - delta^2.
        beta_shift = np.einsum("kqd,kd->kq", beta, shifts)
        v_beta = projected_scatter / safe_counts[:, :, None] - shifts[:, :, None] * beta_shift[:, None, :]
        variance = scatter_diagonal / safe_counts - shifts * shifts
        return self._constrained(*factor_analysis_update(v_beta, variance, beta, loadings), counts, reg_covar)

    def _constrained(self, loadings, residual, counts, reg_covar):
        """Pack loadings with the residual variances averaged as the noise model requires, plus ``reg_covar``."""
        if self.noise_type == "isotropic":
            residual = np.broadcast_to(residual.mean(axis=1, keepdims=True), residual.shape)
        if self.shared_noise:
            weights = counts / counts.sum() if counts.sum() > 0 else np.full(counts.shape, 1 / counts.size)
            residual = np.broadcast_to(weights @ residual, residual.shape)
        return pack(loadings, residual + reg_covar)

    def cholesky_of_precisions(self, covariances):
        loadings, noise = unpack(covariances)
        singular = ~np.all(np.isfinite(covariances), axis=(1, 2)) | ~np.all(noise > 0, axis=1)
        safe_noise = np.where(singular[:, None], 1.0, noise)
        safe_loadings = np.where(singular[:, None, None], 0.0, loadings)
        return pack(safe_loadings / safe_noise[:, :, None], 1.0 / safe_noise), singular

    # -------------------------------------------------------------------------------- conversions
    def precisions_cholesky_from_precisions(self, precisions):
        raise ValueError("precisions_init is not supported for factor-analyser covariances: the low-rank "
                         "plus diagonal structure cannot be read off a precision matrix; omit it")

    def covariances_from_precisions_cholesky(self, precisions_cholesky):
        scaled, noise_precision = unpack(precisions_cholesky)
        return pack(scaled / noise_precision[:, :, None], 1.0 / noise_precision)

    def precisions_from_precisions_cholesky(self, precisions_cholesky):
        """Dense ``Psi^-1 - W W^T``, shape (K, d, d) (Woodbury; nothing d x d is inverted)."""
        noise_precision, whitening, _ = woodbury_factors(precisions_cholesky)
        dense = -whitening @ whitening.transpose(0, 2, 1)
        index = np.arange(noise_precision.shape[1])
        dense[:, index, index] += noise_precision
        return dense

    def invalid_precisions_cholesky(self, precisions_cholesky):
        if not np.all(np.isfinite(precisions_cholesky)) or not np.all(precisions_cholesky[:, :, -1] > 0):
            return "noise precisions are not finite and strictly positive"
        return None

    def dense_covariances(self, covariances, n_components, n_features):
        loadings, noise = unpack(covariances)
        dense = loadings @ loadings.transpose(0, 2, 1)
        index = np.arange(n_features)
        dense[:, index, index] += noise
        return dense

    # --------------------------------------------------------------------------------- degeneracy
    def collapsed(self, covariances, variance_floor, reg_covar=0.0):
        # Sigma_k >= Psi_k (Loewner order), so min_i Psi_ki / floor_i bounds the smallest eigenvalue of the
        # rescaled covariance from below: only components failing that cheap bound need the O(d^3) check.
        _, noise = unpack(covariances)
        keep = variance_floor > 0
        suspicious = np.any(noise[:, keep] - reg_covar < variance_floor[keep], axis=1)
        result = np.zeros(covariances.shape[0], dtype=bool)
        if suspicious.any():
            result[suspicious] = super().collapsed(covariances[suspicious], variance_floor, reg_covar)
        return result

    def replace_components(self, covariances, replace, weights):
        """Re-seeded components copy the heaviest healthy one (averaged loadings would cancel: their signs
        and rotations are arbitrary; zero loadings are a fixed point of the factor-analysis step)."""
        donor = int(np.argmax(np.where(replace, -np.inf, weights)))
        result = covariances.copy()
        result[replace] = covariances[donor]
        return result
