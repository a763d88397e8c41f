"""MixtureOfFactorAnalyzers: Gaussian mixtures with low-rank plus diagonal covariances, fitted by EM.

The model, its E-step (Woodbury) and its M-step (one factor-analysis step on each component's scatter)
live in :mod:`gaussmix.covariance.factor`; this estimator is :class:`~gaussmix.GaussianMixture` with that
covariance structure, so it shares the EM loop, the engines, initialisation and degeneracy handling.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._floating import as_float64, fitted, output_dtype
from .._validation import check_int, check_predict_data
from ..covariance.factor import NOISE_TYPES, FactorAnalyzers, pack
from ..exceptions import DataError
from ..families.missing import incomplete_patterns, marginal_log_responsibilities
from ..params import MixtureParams
from .gaussian_mixture import GaussianMixture

__all__ = ["MixtureOfFactorAnalyzers"]


class MixtureOfFactorAnalyzers(TransformerMixin, GaussianMixture):
    """Mixture of factor analysers: ``Sigma_k = Lambda_k Lambda_k^T + Psi_k`` with ``Psi_k`` diagonal.

    Each component explains the data by ``n_factors`` latent Gaussian factors plus independent noise
    per feature (Ghahramani & Hinton, 1996). With ``noise_type='isotropic'`` this is a mixture of
    probabilistic PCA (Tipping & Bishop, 1999). A component has ``d q - q (q - 1) / 2 + d`` covariance
    parameters instead of ``d (d + 1) / 2``, so it models correlated high-dimensional data (images,
    spectra) where full covariances overfit and diagonal ones miss the correlations.

    Costs: the E-step is O(n K d q) (Woodbury identity and matrix determinant lemma, no d x d inverse),
    and so is the statistic the M-step needs: the scatter ``S_k`` only through ``S_k beta_k^T`` and
    ``diag S_k`` under the current parameters (:meth:`FactorAnalyzers.scatter_under
    <gaussmix.covariance.factor.FactorAnalyzers.scatter_under>`), K d (q + 1) numbers per pass. Only the
    first M-step, from the k-means partition, forms each component's d x d scatter (O(n K d^2) and K d^2
    memory, once). Rows with missing values (``missing='em'``) are the exception: their expected scatter
    is formed densely, per missingness pattern (see :mod:`gaussmix.families.missing`).

    Parameters
    ----------
    n_components : int, default=1
    n_factors : int, default=1
        Latent factors per component, ``0 <= n_factors < n_features`` (0 gives diagonal covariances).
    noise_type : {'diag', 'isotropic'}, default='diag'
        Diagonal noise (factor analysers) or ``sigma_k^2 I`` (mixture of probabilistic PCA).
    shared_noise : bool, default=False
        One noise covariance for all components.
    tol, reg_covar, max_iter, n_init, init_params, weights_init, means_init, random_state, warm_start,
    verbose, verbose_interval, on_degenerate, detect_collapse, chunk_size, n_jobs, callback, checkpoint, engine
        As in :class:`~gaussmix.GaussianMixture`; ``reg_covar`` is added to every noise variance.
        Initialisation: k-means (by default), then probabilistic PCA of each cluster's covariance.
    missing : {'error', 'em'}, default='error'
        As in :class:`~gaussmix.GaussianMixture`: with 'em', NaN entries are missing at random; EM uses
        each row's observed features, and :meth:`transform` and :meth:`posterior_factors` give
        ``E[z | observed features]`` for rows with NaN (the factor model of the observed features is
        the rows of ``Lambda_k`` and ``Psi_k`` that belong to them).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    loadings_ : ndarray of shape (n_components, n_features, n_factors)
        ``Lambda_k``; identified up to an orthogonal rotation of the factors.
    noise_variance_ : ndarray of shape (n_components, n_features)
        Diagonal of ``Psi_k`` (rows equal when ``shared_noise``, constant when isotropic).
    converged_, n_iter_, lower_bound_, lower_bounds_, n_reseeded_, n_features_in_
        As in :class:`~gaussmix.GaussianMixture`.

    The fitted arrays, and what :meth:`transform`, :meth:`posterior_factors`, :meth:`predict_proba`,
    :meth:`score_samples` and :meth:`sample` return, are float32 for float32 data, as in
    :class:`~gaussmix.GaussianMixture`.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import MixtureOfFactorAnalyzers
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((500, 2)) @ rng.standard_normal((2, 10)) + 0.1 * rng.standard_normal((500, 10))
    >>> model = MixtureOfFactorAnalyzers(n_components=1, n_factors=2, random_state=0).fit(X)
    >>> model.loadings_.shape, model.transform(X).shape
    ((1, 10, 2), (500, 2))
    """

    # GaussianMixture's fit reads these; factor-analyser covariances cannot be given as precisions and
    # the conjugate priors (gaussmix.families.priors) have no factor-analyser form. (A noise component would work,
    # but is not offered yet; nor are frozen parameters, hard assignment or given responsibilities.)
    precisions_init = None
    prior = None
    noise = None
    freeze = ()
    assignment = "soft"
    responsibilities_init = None
    acceleration = None

    def __init__(self, n_components=1, *, n_factors=1, noise_type="diag", shared_noise=False, tol=1e-3,
                 reg_covar=1e-6, max_iter=100, n_init=1, init_params="kmeans", weights_init=None, means_init=None,
                 random_state=None, warm_start=False, verbose=0, verbose_interval=10, on_degenerate="reseed",
                 detect_collapse=True, chunk_size=None, n_jobs=None, callback=None, checkpoint=None, engine="auto",
                 missing="error"):
        self.n_components = n_components
        self.n_factors = n_factors
        self.noise_type = noise_type
        self.shared_noise = shared_noise
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.on_degenerate = on_degenerate
        self.detect_collapse = detect_collapse
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.callback = callback
        self.checkpoint = checkpoint
        self.engine = engine
        self.missing = missing

    @property
    def covariance_type(self) -> FactorAnalyzers:
        """The covariance structure object (GaussianMixture's ``covariance_type`` accepts one)."""
        return FactorAnalyzers(self.n_factors, self.noise_type, self.shared_noise)

    # ------------------------------------------------------------------------------------ validation
    def _check_parameters(self):
        check_int("n_factors", self.n_factors, 0)
        if not isinstance(self.noise_type, str) or self.noise_type not in NOISE_TYPES:
            raise ValueError(f"noise_type must be one of {list(NOISE_TYPES)}, got {self.noise_type!r}")
        if not isinstance(self.shared_noise, (bool, np.bool_)):
            raise ValueError(f"shared_noise must be True or False, got {self.shared_noise!r}")
        super()._check_parameters()

    def _check_initial_parameters(self, n_samples, n_features):
        if self.n_factors >= n_features:
            raise DataError(
                f"n_factors={self.n_factors} must be smaller than the number of features, got "
                f"n_features={n_features}; with n_factors >= n_features use GaussianMixture(covariance_type='full')"
            )
        super()._check_initial_parameters(n_samples, n_features)

    # ------------------------------------------------------------------------------- fitted values
    def _set_fitted(self, params: MixtureParams, structure, dtype):
        self.weights_ = fitted(params.weights, dtype)
        self.means_ = fitted(params.absolute_means, dtype)
        self.loadings_ = fitted(np.ascontiguousarray(params.covariances[:, :, :-1]), dtype)
        self.noise_variance_ = fitted(np.ascontiguousarray(params.covariances[:, :, -1]), dtype)

    def _fitted_params(self, offset: np.ndarray) -> MixtureParams:
        covariances, precisions_cholesky = self._fitted_factors()
        return MixtureParams(as_float64(self.weights_), as_float64(self.means_) - offset, covariances,
                             precisions_cholesky, offset)

    def _fitted_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """Packed ``[Lambda | Psi]`` and ``[Psi^-1 Lambda | Psi^-1]`` of the fitted model, float64."""
        check_is_fitted(self)
        covariances = pack(as_float64(self.loadings_), as_float64(self.noise_variance_))
        precisions_cholesky, singular = self._structure.cholesky_of_precisions(covariances)
        if singular.any():
            raise ValueError(f"noise_variance_ of component {int(np.argmax(singular))} is not strictly positive")
        return covariances, precisions_cholesky

    def get_covariance(self) -> np.ndarray:
        """Dense covariances ``Lambda_k Lambda_k^T + Psi_k``, shape (n_components, n_features, n_features).

        Formed on request only: K d^2 floats (K x 4.9 MB for d=784).
        """
        return fitted(self._structure.dense_covariances(self._fitted_factors()[0], *self.means_.shape),
                      self._model_dtype)

    def get_precision(self) -> np.ndarray:
        """Dense precisions by Woodbury's identity (no d x d inverse), shape (n_components, n_features, n_features)."""
        return fitted(self._structure.precisions_from_precisions_cholesky(self._fitted_factors()[1]), self._model_dtype)

    # ------------------------------------------------------------------------------ latent factors
    def _factor_posteriors(self, X) -> tuple[np.ndarray, np.dtype]:
        """Per-row concatenation of responsibilities (K) and per-component factor means (K q), given the
        observed features of rows with NaN (``missing='em'``), in float64; and the dtype of outputs on ``X``."""
        check_is_fitted(self)
        X = check_predict_data(self, X, allow_nan=self._accepts_missing)
        engine, params = self._prediction_engine(X)
        structure = self._structure

        def posterior(chunk, weights):
            _, responsibilities = marginal_log_responsibilities(chunk, params, structure, np.float64)
            return np.concatenate([responsibilities, _posterior_factor_means(structure, chunk, params)], axis=1)

        return engine.map(posterior), output_dtype(engine.dtype, self._model_dtype)

    def posterior_factors(self, X) -> np.ndarray:
        """``E[z | x_n, component k]`` for every row and component, shape (n_samples, n_components, n_factors)."""
        posteriors, dtype = self._factor_posteriors(X)
        n_components = self.weights_.shape[0]
        return fitted(posteriors[:, n_components:].reshape(posteriors.shape[0], n_components, -1), dtype)

    def transform(self, X) -> np.ndarray:
        """Posterior mean of the latent factors, ``E[z | x_n] = sum_k p(k | x_n) E[z | x_n, k]``.

        The factors ``z ~ N(0, I)`` are common to all components in the generative model (Ghahramani &
        Hinton, 1996); each component maps them through its own loadings.

        Returns
        -------
        ndarray of shape (n_samples, n_factors)
        """
        posteriors, dtype = self._factor_posteriors(X)
        n_components = self.weights_.shape[0]
        responsibilities = posteriors[:, :n_components]
        factors = posteriors[:, n_components:].reshape(posteriors.shape[0], n_components, -1)
        return fitted(np.einsum("nk,nkq->nq", responsibilities, factors), dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]  # float32 data: float32 factors
        return tags

    # ------------------------------------------------------------------------------------ sampling
    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``x = mu_k + Lambda_k z + sqrt(Psi_k) e`` (O(d q) per point); returns ``(X, labels)``."""
        check_is_fitted(self)
        if isinstance(n_samples, numbers.Integral) and not isinstance(n_samples, bool):
            check_int("n_samples", n_samples, 1)
        else:
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
        rng = check_random_state(self.random_state)
        n_components, n_features = self.means_.shape
        means, loadings = as_float64(self.means_), as_float64(self.loadings_)
        noise_variance = as_float64(self.noise_variance_)
        counts = rng.multinomial(n_samples, as_float64(self.weights_))
        draws = [
            means[k] + rng.standard_normal((count, loadings.shape[2])) @ loadings[k].T
            + rng.standard_normal((count, n_features)) * np.sqrt(noise_variance[k])
            for k, count in enumerate(counts)
        ]
        return fitted(np.vstack(draws), self._model_dtype), np.repeat(np.arange(n_components), counts)


def _posterior_factor_means(structure: FactorAnalyzers, chunk: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``E[z | x_o, k]`` for every row of a centred chunk, flattened to shape (n_rows, K q).

    The observed features of a factor analyser are a factor analyser with the observed rows of
    ``Lambda_k`` and ``Psi_k`` (the rows of ``[Psi^-1 Lambda | Psi^-1]`` that belong to them), so rows with
    NaN use the ordinary posterior map of that smaller model: still O(d q^2) per component, no d x d matrix.
    """
    missing = np.isnan(chunk)
    complete = ~missing.any(axis=1)
    factors = np.empty((chunk.shape[0], params.n_components, structure.n_factors))
    if complete.any():
        factors[complete] = structure.posterior_factor_means(chunk[complete], params.means, params.precisions_cholesky)
    for observed, rows in incomplete_patterns(missing):
        factors[rows] = structure.posterior_factor_means(chunk[rows][:, observed], params.means[:, observed],
                                                         params.precisions_cholesky[:, observed])
    return factors.reshape(chunk.shape[0], -1)
