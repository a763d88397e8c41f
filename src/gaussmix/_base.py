"""BaseMixture: everything a fitted mixture does with new data, independent of how it was fitted."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._validation import check_int, check_predict_data, check_sample_weight
from .covariance import CovarianceStructure, get_structure
from .em import log_responsibilities, weighted_log_density
from ._sources import check_predict_source, n_rows
from .engines import is_chunked_source, make_engine
from .params import MixtureParams

__all__ = ["BaseMixture"]


class BaseMixture(DensityMixin, BaseEstimator):
    """Inference for a fitted Gaussian mixture: log-density, responsibilities, labels, sampling, criteria.

    Subclasses fit the model and set ``weights_``, ``means_``, ``covariances_`` and
    ``precisions_cholesky_``; prediction works on chunks of rows, so the n x K matrix of
    responsibilities exists only when asked for (``predict_proba``).
    """

    @property
    def _structure(self) -> CovarianceStructure:
        return get_structure(self.covariance_type)

    def _fitted_params(self, offset: np.ndarray) -> MixtureParams:
        return MixtureParams(self.weights_, self.means_ - offset, self.covariances_, self.precisions_cholesky_, offset)

    def _prediction_engine(self, X: np.ndarray, sample_weight=None):
        """Chunks of ``X`` centred on the weighted mean of the fitted means (independent of X).

        ``X`` may be any source the fit accepts (a dataset, a dask array); results are numpy arrays.
        """
        offset = self.weights_ @ self.means_
        engine = make_engine(X, sample_weight, offset=offset, chunk_size=getattr(self, "chunk_size", None),
                             n_jobs=getattr(self, "n_jobs", 1), n_components=self.weights_.shape[0])
        return engine, self._fitted_params(offset)

    def _map(self, X, function) -> np.ndarray:
        check_is_fitted(self)
        X = check_predict_source(self, X) if is_chunked_source(X) else check_predict_data(self, X)
        engine, params = self._prediction_engine(X)
        structure = self._structure
        return engine.map(lambda chunk, weights: function(chunk, params, structure))

    def score_samples(self, X) -> np.ndarray:
        """Log-density ``log p(x_n)`` of each row, shape (n_samples,), float64."""
        return self._map(X, lambda chunk, params, structure: log_responsibilities(chunk, params, structure, np.float64)[0])

    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities ``p(z = k | x_n)``, shape (n_samples, n_components), float64; rows sum to one."""
        return self._map(X, lambda chunk, params, structure: log_responsibilities(chunk, params, structure, np.float64)[1])

    def predict(self, X) -> np.ndarray:
        """Most probable component of each row, shape (n_samples,)."""
        return self._map(X, lambda chunk, params, structure: weighted_log_density(chunk, params, structure).argmax(axis=1))

    def score(self, X, y=None, sample_weight=None) -> float:
        """Weighted mean log-density of ``X`` (per-sample average log-likelihood)."""
        log_density = self.score_samples(X)
        return float(np.average(log_density, weights=check_sample_weight(sample_weight, log_density.shape[0])))

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` points; returns ``(X, labels)`` grouped by component (like scikit-learn)."""
        check_is_fitted(self)
        check_int("n_samples", n_samples, 1)
        rng = check_random_state(self.random_state)
        n_components, n_features = self.means_.shape
        counts = rng.multinomial(n_samples, self.weights_)
        dense = self._structure.dense_covariances(self.covariances_, n_components, n_features)
        draws = [
            self.means_[k] + rng.standard_normal((count, n_features)) @ np.linalg.cholesky(dense[k]).T
            for k, count in enumerate(counts)
        ]
        labels = np.repeat(np.arange(n_components), counts)
        return np.vstack(draws), labels

    def _n_parameters(self) -> int:
        """Free parameters: covariances, means and ``n_components - 1`` weights."""
        n_components, n_features = self.means_.shape
        return self._structure.n_parameters(n_components, n_features) + n_components * n_features + n_components - 1

    def bic(self, X) -> float:
        """Bayesian information criterion ``-2 log L + p log n`` (lower is better; mclust reports minus this)."""
        n_samples = n_rows(X)
        return -2.0 * self.score(X) * n_samples + self._n_parameters() * np.log(n_samples)

    def aic(self, X) -> float:
        """Akaike information criterion ``-2 log L + 2 p`` (lower is better)."""
        n_samples = n_rows(X)
        return -2.0 * self.score(X) * n_samples + 2 * self._n_parameters()
