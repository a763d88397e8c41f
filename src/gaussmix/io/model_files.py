"""Model files: versioned, pickle-free, validated on load.

Format (version 1)
------------------
A single ``.npz`` archive (NumPy's zip of ``.npy`` arrays, read with ``allow_pickle=False``) holding:

``__meta__``
    A 0-d unicode array with UTF-8 JSON: ``{"format": "gaussmix-model", "format_version": 1,
    "estimator": "GaussianMixture" | "KMeans" | "StudentTMixture" | "GaussianMixtureClassifier" |
    "BayesianGaussianMixture" | "MixtureOfFactorAnalyzers" | "MixtureOfExperts", "gaussmix_version": ...,
    "params": {constructor parameters that are JSON values}, "attributes": {scalar fitted attributes}}``;
    a classifier's also has ``"members"``: its Gaussian mixtures (EDDA: ``"mixture"``, one component per
    class; MclustDA: ``"class0"``, ``"class1"``, ...), each with its own estimator, params and attributes.
One array per fitted array attribute, named as the attribute (``weights_``, ``means_``,
``covariances_``, ``precisions_cholesky_``, ... or ``cluster_centers_``; a classifier's ``priors_`` and its
members' arrays as ``<member>.<attribute>``), in the model's own dtype: a model
fitted on float32 data is stored, and loaded back, as float32 (bit for bit, so it predicts exactly as before
and its outputs stay float32); a float64 model as float64.

Files are written to a temporary file in the target folder and put in place in one atomic step, so an
existing file is never left half-written (``save(..., overwrite=False)`` refuses to replace one). Loading checks the format tag and version, array names, shapes, finiteness,
that weights are a probability vector and that precision factors are valid (positive diagonal,
triangular), and refuses anything else with :class:`~gaussmix.exceptions.ModelFileError`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..covariance import CovarianceStructure, get_structure
from ..estimators.bayesian_mixture import _check_covariance_prior
from ..exceptions import ModelFileError
from .atomic import _without_pickle_advice, write_npz_atomically

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION"]

FORMAT = "gaussmix-model"
FORMAT_VERSION = 1

_GAUSSIAN = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
_ARRAYS = {  # kind -> its fitted arrays (the first one tells whether a model is fitted)
    "GaussianMixture": _GAUSSIAN,
    "StudentTMixture": (*_GAUSSIAN, "dof_"),
    "KMeans": ("cluster_centers_", "labels_"),
    # The variational posterior (Dirichlet / stick-breaking concentrations, Normal-Wishart terms) and the
    # prior it was fitted under; a Dirichlet-process weight_concentration_ pair is stored as one (2, K) array.
    "BayesianGaussianMixture": (*_GAUSSIAN, "weight_concentration_", "mean_precision_", "degrees_of_freedom_",
                                "mean_prior_", "covariance_prior_"),
    "MixtureOfFactorAnalyzers": ("weights_", "means_", "loadings_", "noise_variance_"),
    "MixtureOfExperts": ("coef_", "intercept_", "gate_coef_", "gate_intercept_", "covariances_"),
}
CLASSIFIER = "GaussianMixtureClassifier"
_CLASSIFIER_ATTRIBUTES = ("classes_", "model_type_", "covariance_type_", "n_components_", "n_features_in_",
                          "converged_", "n_iter_", "log_likelihood_", "candidates_")

_TRACE = ("converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_")
_SCALARS = {  # kind -> its scalar fitted attributes (in the metadata's "attributes")
    "GaussianMixture": (*_TRACE, "n_reseeded_", "noise_weight_", "noise_volume_"),
    "StudentTMixture": (*_TRACE, "n_reseeded_"),
    "KMeans": ("converged_", "n_iter_", "inertia_", "n_features_in_"),
    "BayesianGaussianMixture": (*_TRACE, "elbo_", "elbos_", "n_components_", "n_effective_components_",
                                "weight_concentration_prior_", "mean_precision_prior_", "degrees_of_freedom_prior_"),
    "MixtureOfFactorAnalyzers": (*_TRACE, "n_reseeded_", "noise_weight_", "noise_volume_"),
    "MixtureOfExperts": (*_TRACE, "_y_ndim"),  # _y_ndim: 1 when fitted on 1-D y (predictions are 1-D too)
}


_PER_ROW_PARAMS = ("responsibilities_init",)
"""Constructor parameters with one entry per training row: a start for that data, not part of the model
(and as large as the data), so never written to a model file."""


def _json_params(estimator) -> dict:
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if name in _PER_ROW_PARAMS:
            continue
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, CovarianceStructure):
            value = value.name  # a structure object (e.g. with its own inner tolerances) is saved by its name
        try:
            json.dumps(value)
        except TypeError:
            continue  # callables and objects are not part of a model file
        params[name] = value
    return params


def _json_scalar(value):
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, list):
        return [float(v) for v in value]
    return value


def save(model, path, *, overwrite: bool = True) -> Path:
    """Write a fitted estimator (any kind in ``_ARRAYS``, or a ``GaussianMixtureClassifier``) to ``path`` (an
    ``.npz`` file), atomically; docs/model-format.md describes each kind's arrays.

    Parameters
    ----------
    model : fitted GaussianMixture, KMeans, StudentTMixture, BayesianGaussianMixture, MixtureOfFactorAnalyzers,
        MixtureOfExperts or GaussianMixtureClassifier
    path : str or Path
    overwrite : bool, default=True
        Replace an existing file (by a complete one). False: raise ``FileExistsError`` if ``path`` exists,
        also when it appears while the file is being written.
    """
    from .. import __version__

    kind = type(model).__name__
    if kind == CLASSIFIER:
        if not hasattr(model, "classes_"):
            raise ValueError(f"this {kind} is not fitted yet; call fit before save")
        meta, arrays = _classifier_payload(model)
    else:
        if kind not in _ARRAYS:
            raise TypeError(f"save() supports {', '.join([*_ARRAYS, CLASSIFIER])}, got {kind}")
        if not hasattr(model, _ARRAYS[kind][0]):
            raise ValueError(f"this {kind} is not fitted yet; call fit before save")
        meta, arrays = _payload(model)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "gaussmix_version": __version__, **meta}
    return write_npz_atomically(Path(path), meta, arrays, overwrite=overwrite)


def _payload(model) -> tuple[dict, dict]:
    """The metadata (estimator, params, scalar attributes) and arrays of a fitted GaussianMixture or KMeans."""
    kind = type(model).__name__
    meta = {
        "estimator": kind,
        "params": _json_params(model),
        "attributes": {name: _json_scalar(getattr(model, name)) for name in _SCALARS[kind] if hasattr(model, name)},
    }
    if hasattr(model, "feature_names_in_"):
        meta["attributes"]["feature_names_in_"] = [str(name) for name in model.feature_names_in_]
    return meta, {name: _as_array(getattr(model, name)) for name in _ARRAYS[kind]}


def _as_array(value) -> np.ndarray:
    """A fitted attribute as one array (a Dirichlet process's pair of concentration vectors stacked)."""
    return np.stack(value) if isinstance(value, tuple) else np.asarray(value)


def _classifier_payload(model) -> tuple[dict, dict]:
    """A classifier's file: its own settings and attributes, and its Gaussian mixtures as members whose arrays
    are named ``<member>.<attribute>`` (EDDA: the one mixture of all classes; MclustDA: one per class)."""
    members = [model.mixture_] if model.model_type_ == "EDDA" else list(model.models_)
    names = ["mixture"] if model.model_type_ == "EDDA" else [f"class{c}" for c in range(len(members))]
    meta = {"estimator": CLASSIFIER, "params": _json_params(model),
            "attributes": {name: _jsonable(getattr(model, name)) for name in _CLASSIFIER_ATTRIBUTES},
            "members": []}
    if hasattr(model, "feature_names_in_"):
        meta["attributes"]["feature_names_in_"] = [str(name) for name in model.feature_names_in_]
    arrays = {"priors_": np.asarray(model.priors_, dtype=np.float64)}
    for name, member in zip(names, members):
        member_meta, member_arrays = _payload(member)
        meta["members"].append({"name": name, **member_meta})
        arrays.update({f"{name}.{key}": value for key, value in member_arrays.items()})
    return meta, arrays


def _jsonable(value):
    """``value`` with NumPy scalars and arrays as plain JSON values (for the classifier's metadata)."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def load(path):
    """Read a model written by :func:`save`; every array is validated before the model is returned."""
    path = Path(path)
    try:
        _check_archive_signature(path)
        archive = np.load(path, allow_pickle=False)
        with archive:
            contents = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise ModelFileError(f"model file not found: {path}") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a directory, not a gaussmix model file") from None
    except ModelFileError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure to parse untrusted bytes means a damaged or foreign file
        raise ModelFileError(f"{path} is not a gaussmix model file (unreadable archive: "
                             f"{_without_pickle_advice(error)})") from None
    try:
        meta = json.loads(str(contents.pop("__meta__")))
    except (KeyError, json.JSONDecodeError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path} is not a gaussmix model file (no valid metadata: {error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a gaussmix model file (format tag missing)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {meta.get('format_version')!r}; this gaussmix reads version {FORMAT_VERSION}"
        )
    if meta.get("estimator") == CLASSIFIER:
        return _restore_classifier(meta, contents, path)
    return _restore(meta, contents, path)


def _restore(meta: dict, contents: dict, path):
    """A GaussianMixture or KMeans from its metadata and arrays, every value validated."""
    kind = meta.get("estimator")
    if kind not in _ARRAYS:
        raise ModelFileError(f"{path}: unknown estimator {kind!r}")
    missing = [name for name in _ARRAYS[kind] if name not in contents]
    if missing:
        raise ModelFileError(f"{path}: missing arrays {missing}")

    import gaussmix

    params = meta.get("params", {})
    if not isinstance(params, dict):
        raise ModelFileError(f"{path}: invalid metadata (params is not a mapping)")
    try:
        model = getattr(gaussmix, kind)(**params)
        # The same checks as fit's, so that a tampered value (max_iter="abc") is refused here, not later.
        _PARAMETER_CHECKS.get(kind, _check_own_parameters)(model, meta)
    except Exception as error:  # noqa: BLE001 - whatever a tampered parameter makes the checks raise
        raise ModelFileError(f"{path}: invalid estimator parameters ({error})") from None
    attributes = meta.get("attributes", {})
    if not isinstance(attributes, dict):
        raise ModelFileError(f"{path}: invalid metadata (attributes is not a mapping)")
    allowed = set(_SCALARS[kind]) | {"feature_names_in_"}
    unknown = sorted(set(attributes) - allowed)
    if unknown:
        raise ModelFileError(f"{path}: unknown attributes in metadata {unknown}")
    required = {"n_features_in_", "n_iter_", "converged_"}
    missing = sorted(required - set(attributes))
    if missing:
        raise ModelFileError(f"{path}: metadata lacks required attributes {missing}")
    for name, value in attributes.items():
        if name == "feature_names_in_":
            value = np.asarray(value, dtype=object)
        elif not _SCALAR_CHECKS[name][0](value):
            raise ModelFileError(f"{path}: invalid metadata ({name} = {value!r} is not {_SCALAR_CHECKS[name][1]})")
        setattr(model, name, value)
    for name in _ARRAYS[kind]:
        setattr(model, name, contents[name])
    _validate(model, kind, path)
    return model


def _restore_classifier(meta: dict, contents: dict, path):
    """A GaussianMixtureClassifier: its members restored and validated as GaussianMixtures, then the classifier's
    own attributes checked against them."""
    from ..estimators.classifier import GaussianMixtureClassifier, _component_model

    def fail(problem):
        raise ModelFileError(f"{path}: invalid model ({problem})")

    params, attributes, members = meta.get("params"), meta.get("attributes"), meta.get("members")
    if not isinstance(params, dict) or not isinstance(attributes, dict) or not isinstance(members, list):
        fail("params, attributes and members must be a mapping, a mapping and a list")
    try:
        model = GaussianMixtureClassifier(**params)
        _PARAMETER_CHECKS[CLASSIFIER](model, meta)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: invalid estimator parameters ({error})") from None
    missing = sorted(set(_CLASSIFIER_ATTRIBUTES) - set(attributes))
    if missing:
        fail(f"metadata lacks required attributes {missing}")
    unknown = sorted(set(attributes) - set(_CLASSIFIER_ATTRIBUTES) - {"feature_names_in_"})
    if unknown:
        fail(f"unknown attributes in metadata {unknown}")
    classes = attributes["classes_"]
    if not isinstance(classes, list) or len(classes) < 2 or len(set(map(repr, classes))) != len(classes):
        fail("classes_ is not a list of at least two distinct labels")
    model.classes_ = np.asarray(classes)
    n_classes = len(classes)
    if attributes["model_type_"] not in ("EDDA", "MclustDA"):
        fail(f"model_type_ {attributes['model_type_']!r} is not 'EDDA' or 'MclustDA'")
    for name in ("model_type_", "covariance_type_", "n_components_", "n_features_in_", "converged_", "n_iter_",
                 "log_likelihood_", "candidates_"):
        setattr(model, name, attributes[name])
    if "feature_names_in_" in attributes:
        model.feature_names_in_ = np.asarray(attributes["feature_names_in_"], dtype=object)
    priors = contents.get("priors_")
    if priors is None or priors.shape != (n_classes,) or priors.dtype.kind != "f" or not np.all(np.isfinite(priors)) \
            or np.any(priors <= 0) or abs(float(priors.sum()) - 1.0) > 1e-9:
        fail("priors_ is not a probability vector with one positive entry per class")
    model.priors_ = priors
    expected = ["mixture"] if model.model_type_ == "EDDA" else [f"class{c}" for c in range(n_classes)]
    if [member.get("name") if isinstance(member, dict) else None for member in members] != expected:
        fail(f"members are not {expected}")
    restored = []
    for member in members:
        prefix = f"{member['name']}."
        arrays = {key[len(prefix):]: value for key, value in contents.items() if key.startswith(prefix)}
        if member.get("estimator") != "GaussianMixture":
            fail(f"member {member['name']} is not a GaussianMixture")
        restored.append(_restore(member, arrays, path))
    if any(member.n_features_in_ != model.n_features_in_ for member in restored):
        fail("a member's n_features_in_ differs from the classifier's")
    if model.model_type_ == "EDDA":
        mixture = restored[0]
        if mixture.n_components != n_classes:
            fail("the EDDA mixture does not have one component per class")
        if not np.allclose(mixture.weights_, priors, rtol=1e-6, atol=1e-12):
            fail("the EDDA mixture's weights are not priors_")
        model.mixture_ = mixture
        model.models_ = [_component_model(mixture, c) for c in range(n_classes)]
    else:
        model.mixture_ = None
        model.models_ = restored
    return model


def _check_own_parameters(model, meta: dict) -> None:
    model._check_parameters()


def _check_bayesian_parameters(model, meta: dict) -> None:
    model._check_parameters()
    model._check_prior_parameters(_attributes_n_features(meta))  # mean_prior, covariance_prior, dof prior


_PARAMETER_CHECKS = {  # kind -> fit's checks of the constructor parameters (default: _check_parameters())
    "KMeans": lambda model, meta: model._check_parameters(_attributes_n_features(meta)),
    "GaussianMixtureClassifier": lambda model, meta: model._check_parameters(_attributes_n_features(meta)),
    "BayesianGaussianMixture": _check_bayesian_parameters,
}


_ZIP_SIGNATURE = b"PK\x03\x04"
_NPY_SIGNATURE = b"\x93NUMPY"
_PICKLE_PROTOCOL = 0x80


def _check_archive_signature(path: Path) -> None:
    """Refuse a file that is not a zip archive by its first bytes, saying what it is instead (numpy would call
    anything that is neither .npy nor .npz "pickled data", a text file included)."""
    with open(path, "rb") as stream:
        head = stream.read(len(_NPY_SIGNATURE))
    if head.startswith(_ZIP_SIGNATURE):
        return
    if head.startswith(_NPY_SIGNATURE):  # a .npy array: data, not a model archive
        raise ModelFileError(f"{path} is a NumPy array file, not a gaussmix model file (models are .npz "
                             "archives written by `gaussmix fit -o` or gaussmix.save)")
    if head[:1] == bytes([_PICKLE_PROTOCOL]):
        raise ModelFileError(f"{path} is not a gaussmix model file (it holds Python objects (pickled data), which "
                             "gaussmix never writes and does not load)")
    raise ModelFileError(f"{path} is not a gaussmix model file (models are .npz archives written by `gaussmix fit "
                         "-o` or gaussmix.save; this file is not an archive)")


def _attributes_n_features(meta: dict) -> int:
    """``n_features_in_`` from a model file's metadata (checked to be a positive integer)."""
    value = (meta.get("attributes") or {}).get("n_features_in_") if isinstance(meta.get("attributes"), dict) else None
    if not _is_int(value) or value < 1:
        raise ValueError(f"n_features_in_ = {value!r} is not a positive integer")
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


_SCALAR_CHECKS = {  # name -> (test, what a valid value is)
    "converged_": (lambda v: isinstance(v, bool), "true or false"),
    "n_iter_": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "n_reseeded_": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "n_features_in_": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
    "lower_bound_": (_is_number, "a finite number"),
    "inertia_": (lambda v: _is_number(v) and v >= 0, "a non-negative number"),
    "lower_bounds_": (lambda v: isinstance(v, list) and all(_is_number(x) for x in v), "a list of finite numbers"),
    "noise_weight_": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "noise_volume_": (lambda v: v is None or (_is_number(v) and v > 0), "a positive number or null"),
    "elbo_": (_is_number, "a finite number"),
    "elbos_": (lambda v: isinstance(v, list) and all(_is_number(x) for x in v), "a list of finite numbers"),
    "n_components_": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
    "n_effective_components_": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "weight_concentration_prior_": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "mean_precision_prior_": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "degrees_of_freedom_prior_": (_is_number, "a finite number"),
    "_y_ndim": (lambda v: v in (1, 2) and _is_int(v), "1 or 2"),
}


def _validate(model, kind, path):
    """Checks every kind shares (numeric, finite arrays; feature names), then the kind's own (``_CHECKS``)."""
    def fail(problem):
        raise ModelFileError(f"{path}: invalid model ({problem})")

    for name in _ARRAYS[kind]:
        array = getattr(model, name)
        if array.dtype.kind not in "fiu":
            fail(f"{name} is not numeric")
        if not np.all(np.isfinite(array)):
            fail(f"{name} contains NaN or infinity")
    if not isinstance(model.n_features_in_, int) or isinstance(model.n_features_in_, bool):
        fail("n_features_in_ is not an integer")
    names = getattr(model, "feature_names_in_", None)
    if names is not None and (names.ndim != 1 or len(names) != model.n_features_in_
                              or not all(isinstance(name, str) for name in names)):
        fail("feature_names_in_ is not a list of n_features_in_ strings")
    _CHECKS[kind](model, kind, fail)


def _single_precision(model, kind, fail) -> bool:
    """Whether the model's floating arrays are all float32 (else all float64; anything else fails).

    A float32 model's arrays were each rounded to float32 from the fit's float64 values, so arrays derived
    from one another agree only to float32 precision; a float64 model's agree to the last few digits."""
    # 0-d arrays are scalars, which fit may leave as Python floats (a spherical covariance_prior_) in any model.
    floating = {getattr(model, name).dtype for name in _ARRAYS[kind]
                if getattr(model, name).dtype.kind == "f" and getattr(model, name).ndim > 0}
    if not floating <= {np.dtype(np.float32), np.dtype(np.float64)} or len(floating) > 1:
        fail(f"the arrays are not all float64 or all float32 (found {sorted(map(str, floating))})")
    return floating == {np.dtype(np.float32)}


def _check_shape(model, name: str, shape: tuple, fail) -> np.ndarray:
    array = getattr(model, name)
    if array.shape != tuple(shape):
        fail(f"{name} has shape {array.shape}, expected {tuple(shape)}")
    return array


def _check_kmeans(model, kind, fail):
    centers = model.cluster_centers_
    if centers.shape != (model.n_clusters, model.n_features_in_):
        fail(f"cluster_centers_ has shape {centers.shape}, expected ({model.n_clusters}, {model.n_features_in_})")
    labels = model.labels_
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or (labels.size and (labels.min() < 0
                                                                              or labels.max() >= model.n_clusters)):
        fail(f"labels_ are not integers in [0, n_clusters = {model.n_clusters})")


def _check_weights_and_means(model, fail, single: bool, n_components: int):
    """``weights_`` a probability vector (with a noise component's share) and ``means_`` (K, d)."""
    weights, means = model.weights_, model.means_
    if means.ndim != 2 or weights.shape != (means.shape[0],) or means.shape[0] != n_components:
        fail("weights_ and means_ shapes disagree with n_components")
    if means.shape[1] != model.n_features_in_:
        fail("n_features_in_ disagrees with means_")
    noise_weight = getattr(model, "noise_weight_", 0.0) or 0.0  # a noise component takes its share
    volume = getattr(model, "noise_volume_", None)
    if volume is not None and not (isinstance(volume, float) and np.isfinite(volume) and volume > 0):
        fail("noise_volume_ is not a positive number")
    if not (isinstance(noise_weight, (int, float)) and 0.0 <= noise_weight < 1.0):
        fail("noise_weight_ is not in [0, 1)")
    # Saved weights sum to one within a few rounding steps; 1 + 5e-6 is a tampered or damaged file (float32
    # weights: 1 + 5e-5).
    weight_tolerance = (2e-6 if single else 1e-10) * max(1, weights.shape[0])
    if np.any(weights < 0) or abs(float(np.sum(weights, dtype=np.float64)) + noise_weight - 1.0) > weight_tolerance:
        fail(f"weights_ are not a probability vector (they sum to {weights.sum() + noise_weight!r})")


def _check_gaussian(model, kind, fail, n_components=None):
    """Weights, means and the covariance structure's three arrays, which must agree with one another."""
    single = _single_precision(model, kind, fail)
    means = model.means_
    _check_weights_and_means(model, fail, single, model.n_components if n_components is None else n_components)
    try:
        structure = get_structure(model.covariance_type)
    except ValueError as error:
        fail(str(error))
    shape = structure.covariance_shape(*means.shape)
    for name in ("covariances_", "precisions_", "precisions_cholesky_"):
        _check_shape(model, name, shape, fail)
    factors = np.asarray(model.precisions_cholesky_, dtype=np.float64)
    problem = structure.invalid_precisions_cholesky(factors)
    if problem:
        fail(problem)
    precisions = structure.precisions_from_precisions_cholesky(factors)
    covariances = structure.covariances_from_precisions_cholesky(factors)
    if single:
        # Rounding each factor to float32 moves an entry (i, j) of a product by at most a few float32 steps
        # of sqrt(a_ii a_jj) (Cauchy-Schwarz), whatever the conditioning; the inverse (covariances) moves by
        # that much times the condition number of the correlation matrix, which a mixture keeps modest.
        if _scaled_difference(precisions, model.precisions_, structure, means.shape) > 1e-5:
            fail("precisions_ do not match precisions_cholesky_")
        if _scaled_difference(covariances, model.covariances_, structure, means.shape) > 1e-3:
            fail("covariances_ do not match precisions_cholesky_")
        return
    if not np.allclose(precisions, model.precisions_, rtol=1e-8, atol=0):
        fail("precisions_ do not match precisions_cholesky_")
    if not np.allclose(covariances, model.covariances_, rtol=1e-6, atol=1e-12 * np.abs(model.covariances_).max()):
        fail("covariances_ do not match precisions_cholesky_")


def _check_student_t(model, kind, fail):
    dof = model.dof_
    if dof.shape != (model.means_.shape[0],) or np.any(dof <= 0):
        fail("dof_ is not one positive number per component")
    model.dof_ = np.asarray(dof, dtype=np.float64)
    _check_gaussian(model, kind, fail)


def _check_bayesian(model, kind, fail):
    """The Gaussian arrays for the n_components_ components left after pruning, then the variational
    posterior (concentrations, mean precisions and degrees of freedom all positive; dof > d - 1, as the
    Wishart needs) and the prior it was fitted under."""
    n_components, n_features = model.n_components_, model.n_features_in_
    if n_components > model.n_components or model.n_effective_components_ > n_components:
        fail("n_components_ is not in [1, n_components] or n_effective_components_ exceeds it")
    _check_gaussian(model, kind, fail, n_components=n_components)
    pair = model.weight_concentration_prior_type == "dirichlet_process"  # stick-breaking Beta(a_k, b_k)
    concentration = _check_shape(model, "weight_concentration_", (2, n_components) if pair else (n_components,),
                                 fail)
    if np.any(concentration <= 0):
        fail("weight_concentration_ is not positive")
    if pair:
        model.weight_concentration_ = (concentration[0].copy(), concentration[1].copy())
    if np.any(_check_shape(model, "mean_precision_", (n_components,), fail) <= 0):
        fail("mean_precision_ is not positive")
    tied = model.covariance_type == "tied"  # one Wishart for all components: one number
    dof = _check_shape(model, "degrees_of_freedom_", () if tied else (n_components,), fail)
    if np.any(dof <= n_features - 1):
        fail(f"degrees_of_freedom_ are not all greater than n_features - 1 = {n_features - 1}")
    if tied:
        model.degrees_of_freedom_ = dof[()]  # a NumPy scalar of the model's dtype, as fit leaves it
    if model.degrees_of_freedom_prior_ <= n_features - 1:
        fail(f"degrees_of_freedom_prior_ is not greater than n_features - 1 = {n_features - 1}")
    _check_shape(model, "mean_prior_", (n_features,), fail)
    prior = model.covariance_prior_
    if prior.ndim == 0:
        model.covariance_prior_ = prior = float(prior)  # a spherical prior is a Python float, as fit leaves it
    try:
        _check_covariance_prior(prior, model.covariance_type, n_features)
    except ValueError as error:
        fail(f"covariance_prior_: {error}")


def _check_factor_analyzers(model, kind, fail):
    """Weights and means, loadings (K, d, q) with q = n_factors < d, and positive noise variances (K, d):
    equal across components for shared_noise, equal across features for noise_type='isotropic'."""
    single = _single_precision(model, kind, fail)
    _check_weights_and_means(model, fail, single, model.n_components)
    n_components, n_features = model.means_.shape
    if model.n_factors >= n_features:
        fail(f"n_factors = {model.n_factors} is not smaller than n_features_in_ = {n_features}")
    _check_shape(model, "loadings_", (n_components, n_features, model.n_factors), fail)
    noise = _check_shape(model, "noise_variance_", (n_components, n_features), fail)
    if np.any(noise <= 0):
        fail("noise_variance_ is not positive")
    if model.shared_noise and np.any(noise != noise[:1]):
        fail("noise_variance_ differs between components although shared_noise is true")
    if model.noise_type == "isotropic" and np.any(noise != noise[:, :1]):
        fail("noise_variance_ differs between features although noise_type is 'isotropic'")


def _check_experts(model, kind, fail):
    """Slopes (K, m, d), intercepts (K, m), gate (K, d) and (K,), and covariances positive definite in the
    shape of covariance_type: (K, m, m) symmetric, (K, m) or (K,)."""
    _single_precision(model, kind, fail)
    n_experts, n_features = model.n_experts, model.n_features_in_
    coef = model.coef_
    if coef.ndim != 3 or coef.shape[0] != n_experts or coef.shape[2] != n_features:
        fail(f"coef_ has shape {coef.shape}, expected ({n_experts}, n_targets, {n_features})")
    n_targets = coef.shape[1]
    if n_targets < 1 or (model._y_ndim == 1 and n_targets != 1):
        fail(f"coef_ has {n_targets} targets, which does not fit y with {model._y_ndim} dimension(s)")
    _check_shape(model, "intercept_", (n_experts, n_targets), fail)
    _check_shape(model, "gate_coef_", (n_experts, n_features), fail)
    _check_shape(model, "gate_intercept_", (n_experts,), fail)
    shapes = {"full": (n_experts, n_targets, n_targets), "diag": (n_experts, n_targets), "spherical": (n_experts,)}
    covariances = _check_shape(model, "covariances_", shapes[model.covariance_type], fail)
    if covariances.ndim == 3 and np.any(covariances != covariances.transpose(0, 2, 1)):
        fail("covariances_ are not symmetric")
    if covariances.ndim < 3 and np.any(covariances <= 0):
        fail("covariances_ are not positive")
    try:
        model._set_prediction_factors()
    except ValueError as error:  # DegenerateComponentError: a covariance that is not positive definite
        fail(f"covariances_ are not positive definite ({error})")


_CHECKS = {  # kind -> its own validation (after _validate's shared checks)
    "GaussianMixture": _check_gaussian,
    "StudentTMixture": _check_student_t,
    "KMeans": _check_kmeans,
    "BayesianGaussianMixture": _check_bayesian,
    "MixtureOfFactorAnalyzers": _check_factor_analyzers,
    "MixtureOfExperts": _check_experts,
}


def _scaled_difference(expected: np.ndarray, stored: np.ndarray, structure, shape: tuple[int, int]) -> float:
    """``max |A_ij - B_ij| / sqrt(A_ii A_jj)`` over the dense matrices of two arrays in the structure's shape
    (the difference in units of the entries' own scale, so that features on different scales count alike)."""
    expected = structure.dense_covariances(np.asarray(expected, dtype=np.float64), *shape)
    stored = structure.dense_covariances(np.asarray(stored, dtype=np.float64), *shape)
    diagonal = np.sqrt(np.abs(np.diagonal(expected, axis1=-2, axis2=-1)))
    scale = diagonal[..., :, None] * diagonal[..., None, :]
    return float(np.max(np.abs(expected - stored) / np.where(scale > 0, scale, 1.0)))
