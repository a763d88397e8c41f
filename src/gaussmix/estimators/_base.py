"""BaseMixture: everything a fitted mixture does with new data, independent of how it was fitted."""

from __future__ import annotations

import functools
import hashlib
import numbers

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._floating import as_float64, fitted, output_dtype
from .._sources import check_predict_source, n_rows
from .._validation import check_int, check_predict_data, check_sample_weight
from ..covariance import CovarianceStructure, get_structure
from ..engines import is_chunked_source, make_engine
from ..families.missing import marginal_log_responsibilities, marginal_weighted_log_density, most_probable
from ..inference.density import (check_level, highest_density_threshold, mixture_cdf, mixture_quantiles,
                                 outlier_scores_from_reference)
from ..params import MixtureParams

__all__ = ["BaseMixture", "progress_callback"]


@functools.cache
def _constructor_parameters(cls) -> tuple:
    """scikit-learn's ``_get_param_names`` of ``cls``, once per class."""
    return tuple(BaseEstimator._get_param_names.__func__(cls))


class BaseMixture(DensityMixin, BaseEstimator):
    """Inference for a fitted Gaussian mixture: log-density, responsibilities, labels, sampling, criteria, and
    density tools (one-dimensional ``cdf``/``ppf``, highest-density regions and outlier scores).

    Subclasses implement ``_fit(X, sample_weight)``, which sets ``weights_``, ``means_``, ``covariances_`` and
    ``precisions_cholesky_``; prediction works on chunks of rows, so the n x K matrix of
    responsibilities exists only when asked for (``predict_proba``).

    dtypes (:mod:`gaussmix._floating`): float32 data give a float32 model (fitted arrays and outputs), any
    other data float64; statistics and predictions are computed in float64 all the same.
    """

    @classmethod
    def _get_param_names(cls) -> list:
        # scikit-learn reads the constructor's signature on every get_params (~50 us; every fit validates its
        # settings through get_params, 126 times in a model-selection grid); it never changes, so read it once.
        return list(_constructor_parameters(cls))

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model from ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a chunked source
            A ``.npy``/Parquet/CSV path, :func:`~gaussmix.open_dataset`, a list of 2-D arrays (out of core)
            or a dask array, where the estimator has an ``engine`` parameter (see :mod:`gaussmix.engines`).
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative frequency weights: an integer weight acts like repeating the row.

        Returns
        -------
        self
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return the labels of ``X`` under the fitted model."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    @property
    def _structure(self) -> CovarianceStructure:
        return get_structure(self.covariance_type)

    @property
    def _model_dtype(self) -> np.dtype:
        """float32 for a model fitted on float32 data, else float64 (the dtype of its fitted arrays)."""
        return self.means_.dtype

    def _fitted_offset(self) -> np.ndarray:
        """The weighted mean of the fitted means, float64: where prediction centres the data."""
        return as_float64(self.weights_) @ as_float64(self.means_)

    def _fitted_params(self, offset: np.ndarray) -> MixtureParams:
        """The fitted parameters about ``offset``, in float64 whatever the model's dtype."""
        return MixtureParams(as_float64(self.weights_), as_float64(self.means_) - offset, as_float64(self.covariances_),
                             as_float64(self.precisions_cholesky_), offset)

    def _prediction_model(self, offset: np.ndarray):
        """What the per-chunk prediction functions receive: the fitted parameters about ``offset``
        (a variational mixture passes its posterior instead)."""
        return self._fitted_params(offset)

    def _prediction_engine(self, X: np.ndarray, sample_weight=None, point_estimate: bool = False):
        """Chunks of ``X`` centred on the weighted mean of the fitted means (independent of X), and the model.

        ``X`` may be any source the fit accepts (a dataset, a dask array); results are numpy arrays.
        ``point_estimate=True``: the model is the mixture of the fitted ``weights_``, ``means_`` and
        ``covariances_`` even where :meth:`_prediction_model` is something else (a variational posterior).
        """
        offset = self._fitted_offset()
        engine = make_engine(X, sample_weight, offset=offset, chunk_size=getattr(self, "chunk_size", None),
                             n_jobs=getattr(self, "n_jobs", 1), n_components=self.weights_.shape[0],
                             allow_missing=self._accepts_missing)
        return engine, self._fitted_params(offset) if point_estimate else self._prediction_model(offset)

    def _map(self, X, function, checked: bool = False, output: bool = False,
             point_estimate: bool = False) -> np.ndarray:
        """Row-wise ``function(chunk, model, structure)`` over ``X`` (an array or any chunked source).

        ``checked=True``: ``X`` is an array the caller has validated for this model (no second validation).
        ``output=True``: the values are handed to the user, in float32 when the model and ``X`` are float32
        (otherwise, and for internal use, float64).
        ``point_estimate``: see :meth:`_prediction_engine`.
        """
        check_is_fitted(self)
        if not checked:
            X = (check_predict_source(self, X) if is_chunked_source(X)
                 else check_predict_data(self, X, allow_nan=self._accepts_missing))
        engine, params = self._prediction_engine(X, point_estimate=point_estimate)
        structure = self._structure
        values = engine.map(lambda chunk, weights: function(chunk, params, structure))
        return fitted(values, output_dtype(engine.dtype, self._model_dtype)) if output else values

    @property
    def _accepts_missing(self) -> bool:
        """NaN entries are missing values (``missing='em'``): rows are scored on their observed features."""
        return getattr(self, "missing", "error") == "em"

    def _noise_log_density(self):
        """``-log V`` of the fitted noise component, or None without one (see :mod:`gaussmix.families.noise`)."""
        volume = getattr(self, "noise_volume_", None)
        return None if volume is None else -float(np.log(volume))

    # The marginal_* functions score rows with NaN on their observed features; without NaN they are
    # exactly em.log_responsibilities / em.weighted_log_density (noise column included).
    def _log_responsibilities(self):
        noise = self._noise_log_density()
        return lambda chunk, params, structure: marginal_log_responsibilities(chunk, params, structure, np.float64, noise)

    def _weighted_log_density(self):
        noise = self._noise_log_density()
        return lambda chunk, params, structure: marginal_weighted_log_density(chunk, params, structure, noise)

    def _log_density(self):
        """``function(chunk, params, structure)`` giving the log-density of each row (float64)."""
        log_responsibilities = self._log_responsibilities()
        return lambda chunk, params, structure: log_responsibilities(chunk, params, structure)[0]

    def score_samples(self, X) -> np.ndarray:
        """Log-density ``log p(x_n)`` of each row, shape (n_samples,); float32 when the model and ``X`` are
        float32, else float64.

        With ``missing='em'``, a row with NaN gets the marginal density of its observed features.
        """
        return self._map(X, self._log_density(), output=True)

    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities ``p(z = k | x_n)``, shape (n_samples, n_components); rows sum to one. float32
        when the model and ``X`` are float32, else float64.

        With ``missing='em'``, rows with NaN get ``p(z = k | observed features)``. With a noise component
        the last of ``n_components + 1`` columns is the noise's.
        """
        log_responsibilities = self._log_responsibilities()
        return self._map(X, lambda chunk, params, structure: log_responsibilities(chunk, params, structure)[1],
                         output=True)

    def predict(self, X) -> np.ndarray:
        """Most probable component of each row, shape (n_samples,); ``-1`` for the noise component (given
        the observed features of rows with NaN, when ``missing='em'``)."""
        weighted_log_density = self._weighted_log_density()

        def labels_of(chunk, params, structure):
            with np.errstate(over="ignore", invalid="ignore"):  # overflowing rows are handled by most_probable
                log_prob = weighted_log_density(chunk, params, structure)
            return most_probable(log_prob, chunk, params, structure)

        labels = self._map(X, labels_of)
        if self._noise_log_density() is not None:
            labels[labels == self.weights_.shape[0]] = -1
        return labels

    def score(self, X, y=None, sample_weight=None) -> float:
        """Weighted mean log-density of ``X`` (per-sample average log-likelihood), a float computed from
        float64 log-densities whatever the dtypes."""
        log_density = self._map(X, self._log_density())
        return float(np.average(log_density, weights=check_sample_weight(sample_weight, log_density.shape[0])))

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` points; returns ``(X, labels)`` grouped by component (like scikit-learn).

        ``X`` has the model's dtype (scikit-learn returns float64 from a float32 model); the draws are made
        in float64."""
        check_is_fitted(self)
        check_int("n_samples", n_samples, 1)
        draws, labels = self._draw(n_samples, check_random_state(self.random_state), "sample()")
        return fitted(draws, self._model_dtype), labels

    def _draw(self, n_samples: int, rng: np.random.RandomState, caller: str) -> tuple[np.ndarray, np.ndarray]:
        """``n_samples`` float64 draws from the mixture of the fitted parameters, grouped by component, and
        their components. ``caller`` names the public method in the error for a noise component."""
        if self._noise_log_density() is not None:
            raise NotImplementedError(f"{caller} does not support a noise component: its region is not a shape "
                                      "to draw from (only its volume is known)")
        n_components, n_features = self.means_.shape
        weights, means = as_float64(self.weights_), as_float64(self.means_)
        counts = rng.multinomial(n_samples, weights)
        dense = self._dense_covariances()
        draws = [
            means[k] + rng.standard_normal((count, n_features)) @ np.linalg.cholesky(dense[k]).T
            for k, count in enumerate(counts)
        ]
        return np.vstack(draws), np.repeat(np.arange(n_components), counts)

    def _dense_covariances(self) -> np.ndarray:
        """The fitted covariances as (n_components, n_features, n_features) float64 matrices."""
        n_components, n_features = self.means_.shape
        return self._structure.dense_covariances(as_float64(self.covariances_), n_components, n_features)

    def _n_parameters(self) -> int:
        """Free parameters: covariances, means and ``n_components - 1`` weights (plus the noise weight)."""
        n_components, n_features = self.means_.shape
        noise = int(self._noise_log_density() is not None)
        return self._structure.n_parameters(n_components, n_features) + n_components * n_features + n_components - 1 + noise

    def bic(self, X) -> float:
        """Bayesian information criterion ``-2 log L + p log n`` (lower is better; mclust reports minus this)."""
        n_samples = n_rows(X)
        return -2.0 * self.score(X) * n_samples + self._n_parameters() * np.log(n_samples)

    def aic(self, X) -> float:
        """Akaike information criterion ``-2 log L + 2 p`` (lower is better)."""
        n_samples = n_rows(X)
        return -2.0 * self.score(X) * n_samples + 2 * self._n_parameters()

    def _log_map_responsibilities(self, X, checked: bool = False) -> np.ndarray:
        """``log max_k p(z = k | x_n)`` of each row, shape (n_samples,): the log-posterior of the MAP label.

        Computed as ``max_k log(pi_k N_k) - logsumexp_k log(pi_k N_k)``, accurate when it is near zero.
        """
        weighted_log_density = self._weighted_log_density()

        def log_map(chunk, params, structure):
            log_prob = weighted_log_density(chunk, params, structure)
            # max - logsumexp = -log sum_k exp(log_prob_k - max), with one exponentiation (scipy's logsumexp
            # cost more than the densities on the small data of a model-selection grid)
            log_prob -= log_prob.max(axis=1, keepdims=True)
            return -np.log(np.exp(log_prob, out=log_prob).sum(axis=1))

        return self._map(X, log_map, checked)

    def icl(self, X) -> float:
        """Integrated completed likelihood: ``bic(X) - 2 sum_n log max_k p(z = k | x_n)`` (lower is better).

        The BIC penalised by the entropy of the hard (MAP) classification, as in mclust's ``icl()``, which
        reports minus this (``BIC + 2 sum(C * log(z))`` in mclust's higher-is-better sign).
        """
        return self.bic(X) - 2.0 * float(np.sum(self._log_map_responsibilities(X)))

    # ------------------------------------------------------------------------------------ density tools
    # The maths is in gaussmix.inference.density (Hyndman 1996 for the HDRs); these methods feed it the fitted
    # mixture. They use the mixture of weights_, means_ and covariances_, the distribution sample() draws
    # from: for GaussianMixture that is score_samples' density; for BayesianGaussianMixture it is the mixture
    # at the posterior means (its score_samples is scikit-learn's variational score, not a density).

    def _mixture_log_density(self, X, checked: bool = False) -> np.ndarray:
        """``log sum_k pi_k N(x_n | mu_k, Sigma_k)`` of the fitted parameters, float64, shape (n_samples,)."""
        noise = self._noise_log_density()

        def log_density(chunk, params, structure):
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # underflowing rows give -inf
                return logsumexp(marginal_weighted_log_density(chunk, params, structure, noise), axis=1)

        return self._map(X, log_density, checked, point_estimate=True)

    def _check_one_dimensional(self, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(weights, means, standard deviations)`` of a fitted one-dimensional model, shape (K,) each, float64."""
        check_is_fitted(self)
        n_features = self.means_.shape[1]
        if n_features != 1:
            raise ValueError(f"{method} needs a one-dimensional model (a CDF orders the real line; in "
                             f"{n_features} dimensions use density_threshold or outlier_scores), got n_features="
                             f"{n_features}")
        if self._noise_log_density() is not None:
            raise NotImplementedError(f"{method} does not support a noise component: only its volume is known, "
                                      "not the interval it is uniform on")
        return (as_float64(self.weights_), as_float64(self.means_)[:, 0],
                np.sqrt(self._dense_covariances()[:, 0, 0]))

    def cdf(self, X) -> np.ndarray:
        """Cumulative distribution function of a one-dimensional model,
        ``F(x) = sum_k pi_k Phi((x - mu_k) / sigma_k)`` (mclust's ``cdfMclust``).

        Parameters
        ----------
        X : float, array-like of shape (n_samples,) or (n_samples, 1), or a chunked source
            Points on the real line (chunked sources as in :meth:`score_samples`).

        Returns
        -------
        ndarray of shape (n_samples,), or a float for a scalar ``X``
            Float64 whatever the dtypes.

        Raises
        ------
        ValueError
            For a model with more than one feature.
        """
        mixture = self._check_one_dimensional("cdf")
        chunked = is_chunked_source(X)
        scalar = not chunked and np.ndim(X) == 0
        if not chunked and np.ndim(X) <= 1:
            X = np.reshape(np.asarray(X, dtype=np.float64), (-1, 1))
        # In the prediction engine's centred coordinates the means are centred likewise: F is shift-invariant.
        values = self._map(X, lambda chunk, params, structure: mixture_cdf(
            np.asarray(chunk[:, 0], dtype=np.float64), mixture[0], params.means[:, 0], mixture[2]),
            point_estimate=True)
        return float(values[0]) if scalar else values

    def ppf(self, q) -> np.ndarray:
        """Quantiles of a one-dimensional model, the inverse of :meth:`cdf` (mclust's ``quantileMclust``).

        ``F(x) = q`` is solved for every ``q`` at once by a safeguarded Newton method inside an exact bracket
        (:func:`gaussmix.inference.density.mixture_quantiles`), to a few ulps; for one component the result
        is ``mu + sigma Phi^{-1}(q)`` exactly.

        Parameters
        ----------
        q : float or array-like of any shape
            Probabilities in ``[0, 1]``: 0 gives ``-inf`` and 1 gives ``+inf``.

        Returns
        -------
        ndarray of the shape of ``q`` (a float for a scalar ``q``), float64

        Raises
        ------
        ValueError
            For a model with more than one feature, or a ``q`` outside ``[0, 1]`` (or NaN).
        """
        weights, means, scales = self._check_one_dimensional("ppf")
        probabilities = np.asarray(q, dtype=np.float64)
        if not np.all((probabilities >= 0.0) & (probabilities <= 1.0)):
            raise ValueError("q must hold probabilities in [0, 1] (0 and 1 give -inf and +inf); got values outside "
                             "it or NaN")
        quantiles = mixture_quantiles(probabilities.reshape(-1), weights, means, scales).reshape(probabilities.shape)
        return float(quantiles) if quantiles.ndim == 0 else quantiles

    def _reference_log_densities(self, X, n_samples: int, random_state) -> np.ndarray:
        """Ascending log-densities of the reference sample of the HDR tools: of ``X`` when given, else of
        ``n_samples`` draws from the model.

        The draws' log-densities are cached on the estimator, keyed by the fitted parameters, ``n_samples``
        and the seed (``random_state``, or the estimator's when None), so :meth:`density_threshold` and
        :meth:`outlier_scores` with the same arguments share one sample and agree exactly. A RandomState
        instance is not a key: it draws afresh each time.
        """
        check_is_fitted(self)
        if X is not None:
            log_densities = self._mixture_log_density(X)
            if log_densities.shape[0] == 0 or not np.all(np.isfinite(log_densities)):
                raise ValueError("the reference rows X must be non-empty and have a finite density under the model")
            return np.sort(log_densities)
        check_int("n_samples", n_samples, 1)
        seed = self.random_state if random_state is None else random_state
        fitted_arrays = (self.weights_, self.means_, self.covariances_)
        key = (n_samples, seed, hashlib.sha1(b"".join(np.ascontiguousarray(a).tobytes() for a in fitted_arrays)).hexdigest())
        cached = getattr(self, "_hdr_reference", None)
        cacheable = seed is None or isinstance(seed, numbers.Integral)
        if cacheable and cached is not None and cached[0] == key:
            return cached[1]
        draws, _ = self._draw(n_samples, check_random_state(seed), "density_threshold/outlier_scores without X")
        reference = np.sort(self._mixture_log_density(draws, checked=True))
        if cacheable:
            self._hdr_reference = (key, reference)
        return reference

    def density_threshold(self, level: float, X=None, n_samples: int = 100_000, random_state=None) -> float:
        """Density ``c`` of the highest-density region (HDR) ``{x : p(x) >= c}`` of probability ``level``.

        The HDR is the smallest region of probability ``level``; ``c`` is the ``1 - level`` quantile of
        ``p(X)`` for ``X`` drawn from the model, estimated by the sample quantile over a Monte-Carlo sample
        (Hyndman 1996, section 3.2), or over the rows of ``X`` when given (mclust's ``hdrlevels`` does the
        latter). Compare it with ``np.exp(score_samples(X))``, or ``log(c)`` with ``score_samples(X)``.

        Parameters
        ----------
        level : float in (0, 1)
            Probability content of the region, e.g. 0.95.
        X : array-like of shape (n_samples, n_features), chunked source, or None
            Reference rows (e.g. the training data). None: ``n_samples`` draws from the model.
        n_samples : int, default=100_000
            Monte-Carlo sample size. The standard error of the estimated ``log c`` is
            ``sqrt(level (1 - level) / n_samples) / f(log c)``, with ``f`` the density of ``log p(X)``: for a
            single Gaussian in 3 dimensions at ``level=0.95``, about 0.017 (1.7 % in ``c``).
        random_state : int, RandomState instance or None
            Seeds the draws; None uses the estimator's ``random_state``. The sample is cached (see
            :meth:`outlier_scores`).

        Returns
        -------
        float
            The density threshold ``c`` (not its log; it may underflow to 0 in many dimensions, where
            ``log`` of it is ``-inf`` while :meth:`outlier_scores` still works).

        Raises
        ------
        ValueError
            When ``level`` is not strictly between 0 and 1.

        Notes
        -----
        Uses the mixture of ``weights_``, ``means_`` and ``covariances_`` (for BayesianGaussianMixture the
        posterior-mean mixture, which :meth:`sample` draws from). With a noise component, pass ``X``.

        References
        ----------
        Hyndman, R. J. (1996). Computing and graphing highest density regions. The American Statistician
        50(2), 120-126.
        """
        level = check_level(level)
        return float(np.exp(highest_density_threshold(self._reference_log_densities(X, n_samples, random_state),
                                                      level)))

    def outlier_scores(self, X, reference=None, n_samples: int = 100_000, random_state=None) -> np.ndarray:
        """How far outside the highest-density regions each row lies: ``P(p(Y) >= p(x_n))`` for ``Y`` drawn
        from the model, in ``[0, 1]``.

        The score is the probability content of the smallest HDR whose boundary passes through ``x_n``
        (Hyndman 1996): about 0 at the mode, near 1 for an outlier; ``x_n`` lies inside the ``100 alpha %``
        HDR when its score is at most ``alpha``. It is a non-increasing function of the density, so it
        ranks rows as :meth:`score_samples` does (reversed) but on a calibrated scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a chunked source
            Rows to score.
        reference : array-like, chunked source or None
            Rows whose densities stand for ``p(Y)`` (e.g. the training data). None: the Monte-Carlo sample
            of :meth:`density_threshold` (same ``n_samples`` and ``random_state`` give the same sample: it
            is cached on the estimator until the next fit).
        n_samples : int, default=100_000
        random_state : int, RandomState instance or None
            As in :meth:`density_threshold`.

        Returns
        -------
        ndarray of shape (n_samples,), float64
            Multiples of ``1 / n_reference``; the Monte-Carlo standard error is at most
            ``0.5 / sqrt(n_reference)``.
        """
        reference_log_densities = self._reference_log_densities(reference, n_samples, random_state)
        return outlier_scores_from_reference(self._mixture_log_density(X), reference_log_densities)


def progress_callback(user_callback, verbose: int, verbose_interval: int, quantity: str):
    """``progress(iteration, value, change)`` that prints every ``verbose_interval`` iterations when
    ``verbose >= 2`` and calls ``user_callback``; None when neither is wanted. ``quantity`` names the value."""
    if user_callback is None and verbose < 2:
        return None

    def progress(iteration, value, change):
        if verbose >= 2 and iteration % verbose_interval == 0:
            print(f"  Iteration {iteration}: {quantity} {value:.8f}, change {change:.3g}")
        if user_callback is not None:
            user_callback(iteration, value, change)

    return progress
