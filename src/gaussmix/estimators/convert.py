"""Move fitted models between gaussmix and scikit-learn, both ways, with identical predictions.

Both libraries store the same parameters in the same shapes (weights, means, covariances, precisions and
their Cholesky factors, per ``covariance_type``), so a conversion copies arrays; nothing is refitted.
mclust's other structures (and factor analysers) convert to scikit-learn's 'full' with the same dense
covariances: the same model, with more parameters stored. A model with a noise component does not convert.
The arrays keep their dtype both ways: a float32 model (fitted on float32 data) stays float32, as
scikit-learn's own fit on float32 data is.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._floating import as_float64, data_dtype, fitted
from ..covariance import get_structure

__all__ = ["copy_from_sklearn", "to_sklearn"]

_SHARED_PARAMS = ("n_components", "covariance_type", "tol", "reg_covar", "max_iter", "n_init", "init_params",
                  "weights_init", "means_init", "precisions_init", "random_state", "warm_start", "verbose",
                  "verbose_interval")
_SHARED_ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def _copy_fitted(source, target) -> None:
    for name in _SHARED_ARRAYS:
        value = np.asarray(getattr(source, name))
        setattr(target, name, np.array(value, dtype=data_dtype(value.dtype), copy=True))
    target.converged_ = bool(source.converged_)
    target.n_iter_ = int(source.n_iter_)
    target.lower_bound_ = float(source.lower_bound_)
    target.n_features_in_ = int(source.n_features_in_)
    if hasattr(source, "lower_bounds_"):
        target.lower_bounds_ = list(map(float, source.lower_bounds_))
    if hasattr(source, "feature_names_in_"):
        target.feature_names_in_ = np.array(source.feature_names_in_, dtype=object)


def _init_params(source) -> dict:
    params = source.get_params(deep=False)
    if params.get("init_params") not in {"kmeans", "k-means++", "random", "random_from_data"}:
        params["init_params"] = "kmeans"
    return {name: params[name] for name in _SHARED_PARAMS if name in params}


def to_sklearn(model):
    """A fitted ``sklearn.mixture.GaussianMixture`` with the parameters of a fitted gaussmix model.

    Parameters
    ----------
    model : gaussmix.GaussianMixture, fitted, with a scikit-learn covariance type

    Returns
    -------
    sklearn.mixture.GaussianMixture
        ``predict_proba``, ``score_samples``, ``predict`` and ``sample`` give the same results.
    """
    from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

    check_is_fitted(model, "means_")
    if getattr(model, "noise_volume_", None) is not None:
        raise ValueError("a model with a noise component has no scikit-learn equivalent")
    params = _init_params(model)
    structure = model._structure
    if structure.sklearn_name is not None:  # scikit-learn stores the same arrays: copy them
        estimator = SklearnGaussianMixture(**{**params, "covariance_type": structure.sklearn_name})
        _copy_fitted(model, estimator)
        return estimator
    # Any other structure: the same Gaussians with dense covariances, as scikit-learn's 'full'.
    n_components, n_features = model.means_.shape
    full = get_structure("full")  # the one scikit-learn structure that holds any covariance
    covariances = structure.dense_covariances(as_float64(model.covariances_), n_components, n_features)
    precisions_cholesky, singular = full.cholesky_of_precisions(covariances)
    if singular.any():
        raise ValueError("the model's covariances are not positive definite")
    estimator = SklearnGaussianMixture(**{**params, "covariance_type": "full", "precisions_init": None})
    _copy_fitted(model, estimator)
    dtype = data_dtype(model.means_.dtype)
    estimator.covariances_ = fitted(covariances, dtype)
    estimator.precisions_cholesky_ = fitted(precisions_cholesky, dtype)
    estimator.precisions_ = fitted(full.precisions_from_precisions_cholesky(precisions_cholesky), dtype)
    return estimator


def copy_from_sklearn(estimator, model_class):
    """A fitted ``model_class`` (:class:`gaussmix.GaussianMixture`) with the parameters of a fitted
    ``sklearn.mixture.GaussianMixture`` (see :func:`gaussmix.from_sklearn`)."""
    from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

    if not isinstance(estimator, SklearnGaussianMixture):
        raise TypeError(f"from_sklearn expects a sklearn.mixture.GaussianMixture, got {type(estimator).__name__}")
    check_is_fitted(estimator, "means_")
    model = model_class(**_init_params(estimator))
    _copy_fitted(estimator, model)
    model.n_reseeded_ = 0
    return model
