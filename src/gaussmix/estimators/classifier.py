"""Classification with Gaussian mixtures: mclust's EDDA and MclustDA, and semi-supervised fitting (MclustSSC).

Each class ``c`` has a density ``p(x | c)`` and a prior ``pi_c``; a row is classified by Bayes' rule,
``p(c | x) = pi_c p(x | c) / sum_j pi_j p(x | j)``, computed in log space.

``EDDA`` (eigenvalue decomposition discriminant analysis, Bensmail & Celeux 1996)
    One Gaussian per class, all classes under one covariance structure: 'EEE' (one covariance shared
    by every class) is linear discriminant analysis, 'VVV' quadratic, and the twelve models between
    share volume, shape or orientation across classes. Given the labels, the fit is one M-step of
    the mixture whose responsibilities are the labels (closed form, or the structure's iterative M-step).
``MclustDA`` (Fraley & Raftery 2002, section 6)
    A Gaussian mixture per class, its number of components and structure chosen per class by BIC.
Semi-supervised (Dean, Murphy & Downey 2006; mclust's ``MclustSSC``)
    Rows labelled ``unlabelled_label`` (e.g. ``-1``, scikit-learn's convention) are unlabelled. One EM over all rows fits the EDDA model: labelled rows keep
    their class as a fixed responsibility, unlabelled rows get E-step responsibilities, and the objective
    ``sum_labelled log pi_y N(x | y) + sum_unlabelled log sum_c pi_c N(x | c)`` never decreases.

References
----------
Bensmail, H. and Celeux, G. (1996). Regularized Gaussian discriminant analysis through eigenvalue
decomposition. JASA 91, 1743-1748.
Fraley, C. and Raftery, A. E. (2002). Model-based clustering, discriminant analysis, and density
estimation. JASA 97, 611-631.
Dean, N., Murphy, T. B. and Downey, G. (2006). Using unlabelled data to update classification rules with
applications in food authenticity studies. JRSS C 55, 1-14.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._sources import check_predict_source, fit_engine, n_rows
from .._validation import check_int, check_nonnegative_float, check_sample_weight
from ..covariance import CovarianceStructure, get_structure, model_names
from ..engines import is_chunked_source, make_engine, open_source
from ..exceptions import DataError, DegenerateComponentError
from ..families.em import estimate_parameters, run_em, statistics_from_responsibilities, weighted_log_density
from ..params import MixtureParams
from ..selection import SELECTION_DEFAULTS, select_model
from .gaussian_mixture import GaussianMixture

__all__ = ["GaussianMixtureClassifier", "minimum_rows"]

MODEL_TYPES = ("auto", "EDDA", "MclustDA")
SELECTIONS = ("bic", "cv")


def minimum_rows(covariance_type: str, n_components: int, n_features: int) -> int:
    """Rows a class (or, for a structure shared across components, all of them) needs for a non-singular fit.

    A covariance with off-diagonal terms per component needs ``d + 1`` rows per component; a diagonal or
    spherical one 2; one covariance shared by ``K`` components is estimated from the pooled scatter, with
    ``n - K`` degrees of freedom: ``K + d`` rows (``K + 1`` if it is diagonal or spherical).
    """
    structure = get_structure(covariance_type)
    dense = structure.n_parameters(1, n_features) > n_features
    if structure.shared:
        return n_components + (n_features if dense else 1)
    return n_components * (n_features + 1 if dense else 2)


@dataclass(frozen=True)
class _Labels:
    """Training labels encoded once: which rows are labelled, and each labelled row's class index."""

    classes: np.ndarray
    labelled: np.ndarray    # (n,) bool
    indices: np.ndarray     # (n_labelled,) class index of each labelled row

    @property
    def n_classes(self) -> int:
        return self.classes.shape[0]

    @property
    def semi_supervised(self) -> bool:
        return not bool(self.labelled.all())

    def one_hot(self) -> np.ndarray:
        return np.eye(self.n_classes)[self.indices]


class GaussianMixtureClassifier(ClassifierMixin, BaseEstimator):
    """A classifier with a Gaussian mixture density per class (mclust's ``MclustDA``, EDDA and ``MclustSSC``).

    Parameters
    ----------
    n_components : int, list or iterable of int, default=1
        Components per class. An int is the same for every class; a ``list`` gives one entry per class (in
        the order of ``classes_``), each an int or an iterable of candidates; any other iterable (a
        ``range``, a tuple) is a set of candidates for every class. Candidates are chosen per class by BIC.
    covariance_type : str, iterable of str or 'all', default='all'
        Covariance structure: scikit-learn's four names or mclust's 14 models; several, or 'all' (mclust's
        14), are chosen by ``selection`` (EDDA) or per class by BIC (MclustDA).
    model_type : {'auto', 'EDDA', 'MclustDA'}, default='auto'
        'EDDA': one Gaussian per class, one structure for all classes (shared volume, shape or orientation
        are shared *across classes*). 'MclustDA': a mixture per class, each with its own structure. 'auto'
        is EDDA when ``n_components`` is 1, else MclustDA.
    priors : array-like of shape (n_classes,), optional
        Class priors ``pi_c`` used for prediction; default the (weighted) class frequencies of the labelled
        rows.
    selection : {'bic', 'cv'}, default='bic'
        How EDDA chooses among several structures: the lowest BIC, or the highest ``cv``-fold stratified
        cross-validated accuracy (ties broken by BIC). MclustDA always chooses by BIC per class.
    cv : int, cross-validation splitter or iterable of (train, test) splits, default=5
        Folds for ``selection='cv'`` (an int: shuffled stratified folds seeded by ``random_state``).
    unlabelled_label : scalar or None, default=None
        The label that marks an unlabelled row, for semi-supervised fitting: ``-1`` is scikit-learn's
        ``semi_supervised`` convention. None: every label is a class. (Not -1 by default, so that labels such
        as -1/+1 are never silently taken for missing ones.)
    reg_covar, tol, max_iter, n_init, init_params, random_state, n_jobs
        As for :func:`gaussmix.select_model` (its defaults, :data:`~gaussmix.selection.SELECTION_DEFAULTS`,
        apply where they are None); ``tol`` and ``max_iter`` also govern semi-supervised EM.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    priors_ : ndarray of shape (n_classes,)
    model_type_ : {'EDDA', 'MclustDA'}
    covariance_type_ : str or list of str
        The chosen structure (EDDA), or each class's (MclustDA).
    n_components_ : list of int
        Components of each class's mixture.
    models_ : list of GaussianMixture
        Each class's density ``p(x | c)`` (for EDDA, one-component mixtures that together are the EDDA model).
    mixture_ : GaussianMixture or None
        EDDA: the fitted mixture with one component per class, weights ``priors_``: its ``predict_proba``
        is this classifier's.
    candidates_ : list of dict
        Every structure (EDDA) or (class, structure, K) candidate (MclustDA) with its BIC (lower is better),
        cross-validated accuracy where measured, and whether it failed and why.
    log_likelihood_ : float
        The fit's objective (total): complete-data log-likelihood of the labelled rows plus, when
        semi-supervised, the log-likelihood of the unlabelled rows (EDDA: ``mixture_.lower_bounds_`` is its
        trace per unit weight, which never decreases).
    converged_ : bool
        Semi-supervised EM converged (always True for supervised EDDA, whose fit is one M-step; MclustDA:
        every class's mixture converged).
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray
    """

    def __init__(self, n_components=1, *, covariance_type="all", model_type="auto", priors=None, selection="bic",
                 cv=5, unlabelled_label=None, reg_covar=1e-6, tol=None, max_iter=None, n_init=1, init_params=None,
                 random_state=None, n_jobs=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.model_type = model_type
        self.priors = priors
        self.selection = selection
        self.cv = cv
        self.unlabelled_label = unlabelled_label
        self.reg_covar = reg_covar
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------------------------------ checks
    def _check_parameters(self, n_features: int) -> None:
        if self.model_type not in MODEL_TYPES:
            raise ValueError(f"model_type must be one of {list(MODEL_TYPES)}, got {self.model_type!r}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {list(SELECTIONS)}, got {self.selection!r}")
        if isinstance(self.cv, numbers.Integral):
            check_int("cv", self.cv, 2)
        check_int("n_init", self.n_init, 1)
        check_nonnegative_float("reg_covar", self.reg_covar)
        self._structures(n_features)

    def _structures(self, n_features: int) -> list[str]:
        if isinstance(self.covariance_type, str):
            names = list(model_names(n_features)) if self.covariance_type == "all" else [self.covariance_type]
        else:
            names = list(dict.fromkeys(self.covariance_type))
        if not names:
            raise ValueError("covariance_type must name at least one structure")
        for name in names:
            get_structure(name)  # a ValueError naming the valid structures
        return names

    def _component_candidates(self, n_classes: int) -> list[list[int]]:
        """Candidate numbers of components for each class."""
        def candidates(value, what):
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                return [check_int(what, value, 1)]
            try:
                values = sorted({check_int(what, int(v) if isinstance(v, np.integer) else v, 1) for v in value})
            except TypeError:
                raise ValueError(f"{what} must be an int or an iterable of ints, got {value!r}") from None
            if not values:
                raise ValueError(f"{what} must not be empty")
            return values

        if isinstance(self.n_components, list):
            if len(self.n_components) != n_classes:
                raise ValueError(f"n_components as a list gives one entry per class: expected {n_classes}, got "
                                 f"{len(self.n_components)} (a range or tuple gives candidates for every class)")
            return [candidates(value, f"n_components[{c}]") for c, value in enumerate(self.n_components)]
        return [candidates(self.n_components, "n_components")] * n_classes

    def _resolved_model_type(self, component_candidates) -> str:
        one_each = all(values == [1] for values in component_candidates)
        if self.model_type == "auto":
            return "EDDA" if one_each else "MclustDA"
        if self.model_type == "EDDA" and not one_each:
            raise ValueError("model_type='EDDA' fits one component per class; use n_components=1 or "
                             "model_type='MclustDA'")
        return self.model_type

    def _labels(self, y, n_samples: int) -> _Labels:
        y = column_or_1d(y, warn=True)
        if y.shape[0] != n_samples:
            raise ValueError(f"y has {y.shape[0]} labels for {n_samples} rows of X")
        if self.unlabelled_label is None:
            unlabelled = np.zeros(n_samples, dtype=bool)
        else:
            unlabelled = np.asarray(y == self.unlabelled_label, dtype=bool).reshape(n_samples)
        labelled = ~unlabelled
        check_classification_targets(y[labelled])
        classes, indices = np.unique(y[labelled], return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(f"GaussianMixtureClassifier needs labelled rows of at least two classes, got "
                             f"{classes.shape[0]} class")
        return _Labels(classes, labelled, indices)

    def _check_priors(self, n_classes: int) -> np.ndarray | None:
        """The given priors, checked (None: the class frequencies, known after the fit)."""
        if self.priors is None:
            return None
        priors = np.asarray(self.priors, dtype=np.float64)
        if priors.shape != (n_classes,) or not np.all(np.isfinite(priors)) or np.any(priors <= 0):
            raise ValueError(f"priors must be {n_classes} positive numbers (one per class), got {self.priors!r}")
        if not np.isclose(priors.sum(), 1.0, rtol=0, atol=1e-8):
            raise ValueError(f"priors must sum to one, got sum {priors.sum():.6g}")
        return priors / priors.sum()

    def _fit_settings(self) -> dict:
        """GaussianMixture settings of every fit: select_model's defaults where a parameter is None."""
        settings = dict(SELECTION_DEFAULTS, reg_covar=self.reg_covar)
        for name in ("tol", "max_iter", "init_params"):
            if getattr(self, name) is not None:
                settings[name] = getattr(self, name)
        return settings

    # -------------------------------------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None):
        """Fit the class densities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a chunked source
            A ``.npy``/Parquet/CSV path, :func:`~gaussmix.open_dataset`, a list of 2-D arrays or a dask array is
            fitted where it lives (EDDA with ``selection='bic'``; the labelled rows are read into memory, the
            others visited chunk by chunk in each EM iteration), as :class:`~gaussmix.GaussianMixture` does.
        y : array-like of shape (n_samples,)
            Class labels of any type; rows labelled ``unlabelled_label`` are unlabelled (semi-supervised
            fitting, EDDA only).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        chunked = is_chunked_source(X)
        if chunked:
            n_samples = n_rows(X)
            y = column_or_1d(y, warn=True)
            weights = check_sample_weight(sample_weight, n_samples)
            n_features = fit_engine(self, X, weights, n_components=1,
                                    check_shape=lambda n, d: self._check_parameters(d)).engine.n_features
            X = open_source(X)
        else:
            X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=False, ensure_min_samples=2)
            n_samples, n_features = X.shape
            weights = check_sample_weight(sample_weight, n_samples)
            self._check_parameters(n_features)
        labels = self._labels(y, n_samples)
        labelled_weight = np.bincount(labels.indices, weights=weights[labels.labelled], minlength=labels.n_classes)
        if np.any(labelled_weight <= 0):
            raise ValueError(f"class {labels.classes[np.argmin(labelled_weight)]!r} has no labelled row of positive weight")
        component_candidates = self._component_candidates(labels.n_classes)
        self.model_type_ = self._resolved_model_type(component_candidates)
        if labels.semi_supervised and self.model_type_ != "EDDA":
            raise ValueError("semi-supervised fitting (rows labelled unlabelled_label) fits one Gaussian per class "
                             "(EDDA, as mclust's MclustSSC): use n_components=1")
        if labels.semi_supervised and self.selection == "cv" and len(self._structures(n_features)) > 1:
            raise ValueError("selection='cv' needs every row labelled; use selection='bic' for semi-supervised fitting")
        given_priors = self._check_priors(labels.n_classes)
        if chunked and (self.model_type_ != "EDDA" or (self.selection == "cv" and len(self._structures(n_features)) > 1)):
            raise ValueError("a chunked source is fitted as EDDA with selection='bic'; MclustDA and selection='cv' "
                             "need the data in memory (gaussmix.open_dataset(X).to_numpy())")
        self.classes_ = labels.classes
        frequencies = labelled_weight / labelled_weight.sum()
        if self.model_type_ == "EDDA":
            data = _EDDAData.of(X, weights, labels)
            self._fit_edda(data, X, weights, labels, n_features)
            frequencies = self.mixture_.weights_.astype(np.float64)
        else:
            self._fit_mclustda(X, weights, labels, component_candidates, n_features)
        self.priors_ = frequencies if given_priors is None else given_priors
        if self.mixture_ is not None:
            self.mixture_.weights_ = self.priors_.astype(self.mixture_.means_.dtype)
        return self

    def _fit_edda(self, data: "_EDDAData", X, weights, labels: _Labels, n_features: int) -> None:
        names = self._structures(n_features)
        counts = np.bincount(labels.indices, minlength=labels.n_classes)
        feasible = []
        candidates = []
        for name in names:
            needed = _edda_minimum(name, counts, n_features)
            if needed is not None:
                candidates.append({"covariance_type": name, "bic": None, "failed": True,
                                   "reason": f"too few labelled rows: {needed}"})
            else:
                feasible.append(name)
        if not feasible:
            raise DataError(f"too few labelled rows for every covariance structure tried: "
                            f"{'; '.join(c['covariance_type'] + ': ' + c['reason'] for c in candidates)}")
        if candidates:
            warnings.warn(f"skipped the structures the classes are too small for: "
                          f"{', '.join(c['covariance_type'] for c in candidates)} (see candidates_)", UserWarning,
                          stacklevel=3)
        fits = {}
        for name in feasible:
            try:
                fits[name] = _fit_edda_structure(data, labels, name, self.reg_covar, self._fit_settings())
                candidates.append({"covariance_type": name, "bic": fits[name].bic, "failed": False, "reason": ""})
            except DegenerateComponentError as error:
                candidates.append({"covariance_type": name, "bic": None, "failed": True, "reason": str(error)})
        if not fits:
            raise DataError("every covariance structure failed: "
                            + "; ".join(f"{c['covariance_type']}: {c['reason']}" for c in candidates))
        if self.selection == "cv" and len(fits) > 1:
            accuracy = {name: self._cv_accuracy(X, weights, labels, name) for name in fits}
            for candidate in candidates:
                candidate["cv_accuracy"] = accuracy.get(candidate["covariance_type"])
            chosen = max(fits, key=lambda name: (accuracy[name], -fits[name].bic))
        else:
            chosen = min(fits, key=lambda name: fits[name].bic)
        order = {name: i for i, name in enumerate(names)}
        self.candidates_ = sorted(candidates, key=lambda c: order[c["covariance_type"]])
        fit = fits[chosen]
        self.covariance_type_ = chosen
        self.n_components_ = [1] * labels.n_classes
        self.mixture_ = fit.mixture
        self.models_ = [_component_model(fit.mixture, c) for c in range(labels.n_classes)]
        self.log_likelihood_ = fit.log_likelihood
        self.converged_ = fit.converged
        self.n_iter_ = fit.n_iter

    def _cv_accuracy(self, X, weights, labels: _Labels, name: str) -> float:
        if isinstance(self.cv, numbers.Integral):
            seed = check_random_state(self.random_state).randint(2**31)
            splits = StratifiedKFold(self.cv, shuffle=True, random_state=seed).split(X, labels.indices)
        else:
            splits = check_cv(self.cv, labels.indices, classifier=True).split(X, labels.indices)
        correct = 0.0
        for train, test in splits:
            fold_labels = _Labels(labels.classes, labels.labelled[train], labels.indices[train])
            try:
                fit = _fit_edda_structure(_EDDAData.of(X[train], weights[train], fold_labels), fold_labels, name,
                                          self.reg_covar, self._fit_settings())
            except DegenerateComponentError:
                return 0.0
            predicted = np.argmax(fit.mixture.predict_proba(X[test]), axis=1)
            correct += weights[test] @ (predicted == labels.indices[test])
        return float(correct / weights.sum())

    def _fit_mclustda(self, X, weights, labels: _Labels, component_candidates, n_features: int) -> None:
        names = self._structures(n_features)
        self.models_, self.covariance_type_, self.n_components_, self.candidates_ = [], [], [], []
        log_likelihood, converged, n_iter = 0.0, True, 0
        settings = self._fit_settings()
        for c, label in enumerate(labels.classes):
            rows = np.flatnonzero(labels.labelled)[labels.indices == c]
            grid = [(name, k) for name in names for k in component_candidates[c]
                    if rows.size >= minimum_rows(name, k, n_features)]
            if not grid:
                smallest = min(minimum_rows(name, k, n_features) for name in names for k in component_candidates[c])
                raise DataError(f"class {label!r} has {rows.size} rows; the smallest model tried needs {smallest} "
                                f"(fewer components or a simpler covariance_type, e.g. 'EII' or 'spherical')")
            skipped = len(names) * len(component_candidates[c]) - len(grid)
            if skipped:
                warnings.warn(f"class {label!r} has {rows.size} rows: skipped {skipped} candidate(s) it is too "
                              f"small for", UserWarning, stacklevel=3)
            result = select_model(X[rows], n_components=sorted({k for _, k in grid}),
                                  covariance_types=list(dict.fromkeys(name for name, _ in grid)),
                                  sample_weight=weights[rows], n_init=self.n_init, random_state=self.random_state,
                                  n_jobs=self.n_jobs, **settings)
            model = result.best_estimator_
            self.models_.append(model)
            self.covariance_type_.append(model.covariance_type)
            self.n_components_.append(model.n_components)
            self.candidates_ += [{"class": label, **record} for record in result.records]
            log_likelihood += result.best_record["log_likelihood"]
            converged &= bool(model.converged_)
            n_iter = max(n_iter, int(model.n_iter_))
        self.mixture_ = None
        self.log_likelihood_ = log_likelihood
        self.converged_ = converged
        self.n_iter_ = n_iter

    # ------------------------------------------------------------------------------------- prediction
    def _class_log_densities(self, X) -> np.ndarray:
        """``log pi_c + log p(x_n | c)``, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        chunked = is_chunked_source(X)
        X = check_predict_source(self, X) if chunked else validate_data(
            self, X, dtype=[np.float64, np.float32], reset=False)
        if self.mixture_ is not None:  # EDDA: the mixture's weights are the priors, so one pass gives the joint
            return self.mixture_._map(X, self.mixture_._weighted_log_density(), checked=not chunked)
        return np.log(self.priors_) + np.column_stack([model.score_samples(X) for model in self.models_])

    def predict_log_proba(self, X) -> np.ndarray:
        """``log p(c | x_n)``, shape (n_samples, n_classes), columns in the order of ``classes_``."""
        joint = self._class_log_densities(X)
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(self, X) -> np.ndarray:
        """``p(c | x_n)``, shape (n_samples, n_classes); rows sum to one."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        joint = self._class_log_densities(X)
        return self.classes_[np.argmax(joint, axis=1)]

    def bic(self) -> float:
        """The fit's BIC, ``-2 log L + p log n`` (lower is better), of the chosen model."""
        check_is_fitted(self)
        if self.model_type_ == "EDDA":
            return next(c["bic"] for c in self.candidates_ if c["covariance_type"] == self.covariance_type_)
        return float(sum(model_record["bic"] for model_record in self._chosen_records()))

    def _chosen_records(self):
        for label, model in zip(self.classes_, self.models_):
            yield next(record for record in self.candidates_ if record["class"] == label
                       and record["covariance_type"] == model.covariance_type
                       and record["n_components"] == model.n_components)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = False
        return tags


@dataclass(frozen=True)
class _EDDAFit:
    mixture: GaussianMixture
    log_likelihood: float
    bic: float
    converged: bool
    n_iter: int


def _edda_minimum(name: str, counts: np.ndarray, n_features: int) -> str | None:
    """Why the labelled rows are too few for EDDA under ``name`` (None if they suffice)."""
    structure = get_structure(name)
    if structure.shared:
        needed = minimum_rows(name, counts.shape[0], n_features)
        return None if counts.sum() >= needed else f"{needed} in all, got {counts.sum()}"
    per_class = minimum_rows(name, 1, n_features)
    small = np.flatnonzero(counts < per_class)
    return None if small.size == 0 else f"{per_class} per class, the smallest class has {counts.min()}"


def _labelled_statistics(rows: np.ndarray, weights: np.ndarray, one_hot: np.ndarray, indices: np.ndarray,
                         structure: CovarianceStructure):
    """``params -> statistics`` of labelled (centred) rows, whose responsibilities are their classes."""
    def statistics(params: MixtureParams):
        if params.precisions_cholesky is None:  # the start: means only, no density yet
            return statistics_from_responsibilities(rows, weights, one_hot, params.means, structure)
        log_density = weighted_log_density(rows, params, structure)[np.arange(rows.shape[0]), indices]
        return statistics_from_responsibilities(rows, weights, one_hot, params.means, structure,
                                                log_likelihood=float(weights @ log_density),
                                                precisions_cholesky=params.precisions_cholesky)
    return statistics


@dataclass(frozen=True, eq=False)
class _EDDAData:
    """What every EDDA fit of one training set reads: the engine over the unlabelled rows (labelled rows weigh
    zero there: every engine visits the same chunks), and the labelled rows, centred by the engine's offset,
    with their weights (read once, into memory)."""

    engine: object
    labelled_rows: np.ndarray
    labelled_weights: np.ndarray
    weight_sum: float

    @classmethod
    def of(cls, X, weights: np.ndarray, labels: _Labels) -> "_EDDAData":
        """``X``: a validated array, or an opened chunked source (a Dataset or a dask array)."""
        engine = make_engine(X, np.where(labels.labelled, 0.0, weights), n_components=labels.n_classes)
        rows = engine.rows(np.flatnonzero(labels.labelled)).astype(np.float64)
        return cls(engine, rows, weights[labels.labelled], float(weights.sum()))


def _fit_edda_structure(data: _EDDAData, labels: _Labels, name: str, reg_covar: float, settings: dict) -> _EDDAFit:
    """EDDA under one structure: one M-step on the labelled rows, then (semi-supervised) EM over all rows."""
    structure = get_structure(name)
    engine, labelled_rows, labelled_weights = data.engine, data.labelled_rows, data.labelled_weights
    one_hot = labels.one_hot()
    counts = one_hot.T @ labelled_weights
    class_means = (one_hot * labelled_weights[:, None]).T @ labelled_rows / counts[:, None]
    reference = MixtureParams(counts / counts.sum(), class_means, None, None, engine.offset)
    labelled_statistics = _labelled_statistics(labelled_rows, labelled_weights, one_hot, labels.indices, structure)
    params = _checked(estimate_parameters(labelled_statistics(reference), reference, structure, reg_covar))
    n = data.weight_sum
    if labels.semi_supervised:
        result = run_em(engine, params, structure, tol=settings["tol"], max_iter=settings["max_iter"],
                        reg_covar=reg_covar, fixed_statistics=labelled_statistics)
        params, converged, n_iter, trace = result.params, result.converged, result.n_iter, list(result.trace)
        log_likelihood = result.log_likelihood * n  # run_em's objective is per unit weight, all rows
    else:
        converged, n_iter = True, 1
        log_likelihood = labelled_statistics(params).log_likelihood
        trace = [log_likelihood / n]
    n_parameters = (structure.n_parameters(labels.n_classes, engine.n_features) + labels.n_classes * engine.n_features
                    + labels.n_classes - 1)
    # lower_bounds_: semi-supervised EM's objective per unit weight, iteration by iteration.
    mixture = _fitted_mixture(params, name, reg_covar, engine.dtype, converged, n_iter, trace, log_likelihood / n)
    return _EDDAFit(mixture, log_likelihood, -2.0 * log_likelihood + n_parameters * np.log(n), converged, n_iter)


def _checked(estimate) -> MixtureParams:
    if estimate.degenerate:
        first = next(iter(estimate.degenerate))
        raise DegenerateComponentError(first, estimate.degenerate[first], "the class's covariance is singular: "
                                       "a simpler covariance_type, or more labelled rows")
    return estimate.to_params()


def _component_model(mixture: GaussianMixture, component: int) -> GaussianMixture:
    """Component ``component`` of a fitted mixture as a one-component GaussianMixture (the class density)."""
    structure = get_structure(mixture.covariance_type)
    dense = structure.dense_covariances(mixture.covariances_, mixture.means_.shape[0], mixture.means_.shape[1])
    covariance = dense[component:component + 1].astype(np.float64)
    precisions_cholesky, _ = get_structure("full").cholesky_of_precisions(covariance)
    params = MixtureParams(np.ones(1), mixture.means_[component:component + 1].astype(np.float64), covariance,
                           precisions_cholesky, np.zeros(mixture.means_.shape[1]))
    return _fitted_mixture(params, "full", mixture.reg_covar, mixture.means_.dtype, True, 0, [], np.nan)


def _fitted_mixture(params: MixtureParams, covariance_type: str, reg_covar: float, dtype, converged: bool,
                    n_iter: int, trace: list, lower_bound: float) -> GaussianMixture:
    """A GaussianMixture holding ``params`` as if fitted (no noise, nothing re-seeded, not stepwise-updated), with
    the given trace (``lower_bounds_``) and ``lower_bound_`` (the objective of ``params`` themselves)."""
    model = GaussianMixture(params.n_components, covariance_type=covariance_type, reg_covar=reg_covar)
    model._set_fitted(params, get_structure(covariance_type), dtype)
    model.n_features_in_ = params.n_features
    model.converged_, model.n_iter_ = converged, n_iter
    model.lower_bounds_, model.lower_bound_ = list(trace), lower_bound
    model.n_reseeded_, model.n_steps_, model._online = 0, 0, None
    model.noise_volume_, model.noise_weight_ = None, 0.0
    return model
