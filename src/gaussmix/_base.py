"""BaseMixture: everything a fitted mixture does with new data, independent of how it was fitted."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._floating import as_float64, fitted, output_dtype
from ._validation import check_int, check_predict_data, check_sample_weight
from .covariance import CovarianceStructure, get_structure
from ._sources import check_predict_source, n_rows
from .engines import is_chunked_source, make_engine
from .missing import marginal_log_responsibilities, marginal_weighted_log_density, most_probable
from .params import MixtureParams

__all__ = ["BaseMixture", "progress_callback"]


class BaseMixture(DensityMixin, BaseEstimator):
    """Inference for a fitted Gaussian mixture: log-density, responsibilities, labels, sampling, criteria.

    Subclasses implement ``_fit(X, sample_weight)``, which sets ``weights_``, ``means_``, ``covariances_`` and
    ``precisions_cholesky_``; prediction works on chunks of rows, so the n x K matrix of
    responsibilities exists only when asked for (``predict_proba``).

    dtypes (:mod:`gaussmix._floating`): float32 data give a float32 model (fitted arrays and outputs), any
    other data float64; statistics and predictions are computed in float64 all the same.
    """

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

    def _prediction_engine(self, X: np.ndarray, sample_weight=None):
        """Chunks of ``X`` centred on the weighted mean of the fitted means (independent of X), and the model.

        ``X`` may be any source the fit accepts (a dataset, a dask array); results are numpy arrays.
        """
        offset = self._fitted_offset()
        engine = make_engine(X, sample_weight, offset=offset, chunk_size=getattr(self, "chunk_size", None),
                             n_jobs=getattr(self, "n_jobs", 1), n_components=self.weights_.shape[0],
                             allow_missing=self._accepts_missing)
        return engine, self._prediction_model(offset)

    def _map(self, X, function, checked: bool = False, output: bool = False) -> np.ndarray:
        """Row-wise ``function(chunk, model, structure)`` over ``X`` (an array or any chunked source).

        ``checked=True``: ``X`` is an array the caller has validated for this model (no second validation).
        ``output=True``: the values are handed to the user, in float32 when the model and ``X`` are float32
        (otherwise, and for internal use, float64).
        """
        check_is_fitted(self)
        if not checked:
            X = (check_predict_source(self, X) if is_chunked_source(X)
                 else check_predict_data(self, X, allow_nan=self._accepts_missing))
        engine, params = self._prediction_engine(X)
        structure = self._structure
        values = engine.map(lambda chunk, weights: function(chunk, params, structure))
        return fitted(values, output_dtype(engine.dtype, self._model_dtype)) if output else values

    @property
    def _accepts_missing(self) -> bool:
        """NaN entries are missing values (``missing='em'``): rows are scored on their observed features."""
        return getattr(self, "missing", "error") == "em"

    def _noise_log_density(self):
        """``-log V`` of the fitted noise component, or None without one (see :mod:`gaussmix.noise`)."""
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
        if self._noise_log_density() is not None:
            raise NotImplementedError("sample() does not support a noise component: its region is not a shape "
                                      "to draw from (only its volume is known)")
        rng = check_random_state(self.random_state)
        n_components, n_features = self.means_.shape
        weights, means = as_float64(self.weights_), as_float64(self.means_)
        counts = rng.multinomial(n_samples, weights)
        dense = self._structure.dense_covariances(as_float64(self.covariances_), n_components, n_features)
        draws = [
            means[k] + rng.standard_normal((count, n_features)) @ np.linalg.cholesky(dense[k]).T
            for k, count in enumerate(counts)
        ]
        labels = np.repeat(np.arange(n_components), counts)
        return fitted(np.vstack(draws), self._model_dtype), labels

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
            return log_prob.max(axis=1) - logsumexp(log_prob, axis=1)

        return self._map(X, log_map, checked)

    def icl(self, X) -> float:
        """Integrated completed likelihood: ``bic(X) - 2 sum_n log max_k p(z = k | x_n)`` (lower is better).

        The BIC penalised by the entropy of the hard (MAP) classification, as in mclust's ``icl()``, which
        reports minus this (``BIC + 2 sum(C * log(z))`` in mclust's higher-is-better sign).
        """
        return self.bic(X) - 2.0 * float(np.sum(self._log_map_responsibilities(X)))

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
