"""What a fitted Gaussian mixture says about some features given others: conditioning, regression, imputation.

:class:`ConditioningMixin` gives :class:`~gaussmix.GaussianMixture` three methods built on
:func:`gaussmix.families.conditional.condition_components`:

* :meth:`~ConditioningMixin.condition` -- the mixture of the remaining features given the values of some
  (per-component Gaussian conditioning; weights ``pi_k N(x_o | mu_ko, Sigma_koo)`` renormalised in log space);
* :meth:`~ConditioningMixin.predict_conditional` -- Gaussian mixture regression: the conditional mean
  ``E[x_m | x_o] = sum_k p(k | x_o) (mu_mk + Sigma_mo,k Sigma_oo,k^{-1} (x_o - mu_ok))`` (and standard
  deviation) for many points;
* :meth:`~ConditioningMixin.impute` -- NaN entries replaced by conditional means or draws.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._floating import data_dtype, fitted, output_dtype
from .._validation import check_predict_data
from ..families.conditional import condition_components, conditional_mixture_weights
from ..families.missing import IMPUTE_METHODS, _dense_covariances, _log_weights, impute_centred

__all__ = ["ConditioningMixin"]


def _given_mask(given_features, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean mask of the given features and the permutation that sorts ``given_features`` (the column
    order of the user's values); rejects duplicates, out-of-range indices, none or all."""
    given = np.asarray(given_features)
    if given.ndim != 1 or given.size == 0 or not all(isinstance(i, numbers.Integral) and not isinstance(i, bool)
                                                      for i in given.tolist()):
        raise ValueError(f"given_features must be a non-empty 1-D sequence of integer feature indices, got {given_features!r}")
    if given.min() < -n_features or given.max() >= n_features:
        raise ValueError(f"given_features {given.tolist()} out of range for {n_features} features")
    mask = np.zeros(n_features, dtype=bool)
    mask[given % n_features] = True
    if mask.sum() != given.size:
        raise ValueError(f"given_features contains duplicate indices: {given.tolist()}")
    if mask.all():
        raise ValueError("given_features names every feature: nothing would remain to condition")
    return mask, np.argsort(given % n_features)


def _given_values(values, n_given: int, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if name == "values":  # condition() takes one point
        if values.ndim != 1:
            raise ValueError(f"values must be 1-D (one point; use predict_conditional for many), got shape {values.shape}")
        values = values[None, :]
    if values.ndim != 2 or values.shape[1] != n_given:
        raise ValueError(f"{name} must have {n_given} column(s), one per given feature; got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinity")
    return values


class ConditioningMixin:
    """Conditioning, regression and imputation for a fitted Gaussian mixture (see the module docstring).

    The host class supplies ``_gaussian_mixture(**params)``, an unfitted Gaussian mixture for :meth:`condition`'s
    result (so this module, below the estimators, never imports them)."""

    def _component_conditionals(self, given_features, values, name: str):
        """Mask of the given features, and conditionals of every component in centred coordinates with
        their posterior weights."""
        given, order = _given_mask(given_features, self.means_.shape[1])
        values = _given_values(values, int(given.sum()), name)[:, order]  # columns in feature order
        params = self._fitted_params(self._fitted_offset())
        dense = _dense_covariances(params, self._structure)
        conditionals = condition_components(params.means, dense, given, values - params.offset[given])
        weights, _ = conditional_mixture_weights(_log_weights(params), conditionals.log_marginal)
        return given, params, conditionals, weights

    def condition(self, given_features, values):
        """The mixture of the remaining features given ``x[given_features] = values``.

        Parameters
        ----------
        given_features : sequence of int
            Indices of the observed features.
        values : array-like of shape (n_given,)
            Their values.

        Returns
        -------
        GaussianMixture
            A fitted mixture over the remaining features (in their original order) with weights
            ``p(k | x_o)``, means ``E[x_m | x_o, k]`` and covariances ``Cov[x_m | x_o, k]``. It keeps the
            ``covariance_type`` when the conditional stays in that family (true for 'full', 'tied',
            'diag' and 'spherical'), else it is 'full'. Its arrays have this model's dtype.
        """
        check_is_fitted(self)
        given, params, conditionals, weights = self._component_conditionals(given_features, values, "values")
        means = conditionals.means[0] + params.offset[~given]
        covariance_type, covariances = self._in_family(conditionals.covariances)
        result = self._gaussian_mixture(n_components=self.weights_.shape[0], covariance_type=covariance_type,
                                        random_state=self.random_state, missing=getattr(self, "missing", "error"))
        structure = result._structure
        precisions_cholesky, singular = structure.cholesky_of_precisions(covariances)
        if singular.any():
            raise np.linalg.LinAlgError("a conditional covariance is not positive definite")
        dtype = self._model_dtype
        result.weights_ = fitted(weights[0], dtype)
        result.means_ = fitted(means, dtype)
        result.covariances_ = fitted(covariances, dtype)
        result.precisions_cholesky_ = fitted(precisions_cholesky, dtype)
        result.precisions_ = fitted(structure.precisions_from_precisions_cholesky(precisions_cholesky), dtype)
        result.converged_, result.n_iter_ = True, 0
        result.n_features_in_ = int((~given).sum())
        if hasattr(self, "feature_names_in_"):
            result.feature_names_in_ = self.feature_names_in_[~given]
        return result

    def _in_family(self, dense: np.ndarray) -> tuple[str, np.ndarray]:
        """``(covariance_type, covariances)`` for dense conditional covariances (K, m, m): this model's
        structure if re-estimating them in it (one M-step on their scatter) reproduces them, else 'full'."""
        structure = self._structure
        n_components, n_remaining, _ = dense.shape
        candidate = structure.estimate_covariances(structure.scatter_from_dense(dense), np.ones(n_components),
                                                   np.zeros((n_components, n_remaining)), 0.0)
        rebuilt = structure.dense_covariances(candidate, n_components, n_remaining)
        if np.allclose(rebuilt, dense, rtol=1e-10, atol=1e-12 * np.abs(dense).max()):
            return self.covariance_type, candidate
        return "full", dense

    def predict_conditional(self, X_given, given_features, return_std: bool = False):
        """Gaussian mixture regression: ``E[x_m | x_o]`` for each row of ``X_given``.

        Parameters
        ----------
        X_given : array-like of shape (n_points, n_given)
            Values of the given features, columns in the order of ``given_features``.
        given_features : sequence of int
        return_std : bool, default=False
            Also return the conditional standard deviation of each remaining feature (from the mixture's
            total conditional variance, ``sum_k w_k (C_k + mu_k^2) - mean^2``).

        Returns
        -------
        mean : ndarray of shape (n_points, n_remaining)
            Remaining features in their original order.
        std : ndarray of shape (n_points, n_remaining), only with ``return_std``

        float32 when the model and ``X_given`` are float32, else float64.
        """
        check_is_fitted(self)
        dtype = output_dtype(self._model_dtype, data_dtype(getattr(X_given, "dtype", np.float64)))
        given, params, conditionals, weights = self._component_conditionals(given_features, X_given, "X_given")
        centred_mean = np.einsum("nk,nkm->nm", weights, conditionals.means)
        mean = centred_mean + params.offset[~given]
        if not return_std:
            return fitted(mean, dtype)
        # The law of total variance about the mixture mean (centred coordinates keep it well conditioned).
        spread = conditionals.means - centred_mean[:, None, :]
        variance = weights @ np.diagonal(conditionals.covariances, axis1=1, axis2=2)
        variance += np.einsum("nk,nkm->nm", weights, spread * spread)
        return fitted(mean, dtype), fitted(np.sqrt(variance), dtype)

    def impute(self, X, method: str = "mean", random_state=None) -> np.ndarray:
        """A copy of ``X`` with NaN entries filled from the fitted mixture (``X`` is not modified).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks a missing value; a row must have at least one observed feature.
        method : {'mean', 'sample'}, default='mean'
            'mean': the conditional mean ``sum_k p(k | x_o) E[x_m | x_o, k]`` (best in squared error);
            'sample': a draw from ``p(x_m | x_o)`` (keeps the spread, for multiple imputation).
        random_state : int, RandomState instance or None
            For ``method='sample'``.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            float32 when the model and ``X`` are float32, else float64; computed in float64.
        """
        check_is_fitted(self)
        if method not in IMPUTE_METHODS:
            raise ValueError(f"method must be one of {list(IMPUTE_METHODS)}, got {method!r}")
        X = check_predict_data(self, X, allow_nan=True)
        empty_rows = np.flatnonzero(np.isnan(X).all(axis=1))
        if empty_rows.size:
            raise ValueError(f"rows {empty_rows[:10].tolist()} of X have every feature missing; impute needs at "
                             "least one observed feature per row")
        params = self._fitted_params(self._fitted_offset())
        centred = np.subtract(X, params.offset, dtype=np.float64)
        filled = impute_centred(centred, params, self._structure, method, check_random_state(random_state))
        filled += params.offset
        observed = ~np.isnan(X)
        filled[observed] = X[observed]  # observed entries come back bit for bit
        return fitted(filled, output_dtype(X.dtype, self._model_dtype))
