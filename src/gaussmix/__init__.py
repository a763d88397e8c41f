"""gaussmix: Gaussian mixture models on a sufficient-statistics EM kernel.

Public names::

    GaussianMixture, KMeans          scikit-learn compatible estimators
    GaussianMixtureClassifier        a mixture per class: mclust's MclustDA, EDDA and semi-supervised MclustSSC
    BayesianGaussianMixture          variational Dirichlet / Dirichlet-process mixtures (learn K)
    MixtureOfFactorAnalyzers         mixtures of factor analysers / probabilistic PCA
    MixtureOfExperts                 mixture of linear experts with a softmax gate (a regressor)
    StudentTMixture                  mixtures of multivariate Student-t distributions (robust to outliers)
    select_model, SelectionResult    fit a grid of models, choose by BIC, ICL, AIC or held-out likelihood
    select_experts                   the same for MixtureOfExperts: how many experts, which noise covariance
    open_dataset                     .npy / Parquet / CSV / iterable sources for out-of-core fits
    save, load                       versioned, pickle-free model files
    from_sklearn                     a fitted sklearn GaussianMixture as a gaussmix one (and .to_sklearn())
    DegenerateComponentError, DegenerateComponentWarning, DataError, ModelFileError, PruningWarning, ScaleWarning
"""

__version__ = "0.1.0"

# The folders show the layers: estimators/ (scikit-learn's API) on families/ (each model's expect and maximize), run
# by fitting/ (the one driver, the starts); covariance/ holds all covariance maths, engines/ where the data live;
# io/ the files, cli/ the command line, report and plots; selection and inference/ work on fitted estimators.
# Each public name and the module that defines it, one per line, sorted: independent features add lines without
# touching each other's. A name is imported on first use (PEP 562), so ``import gaussmix`` and ``gaussmix --help``
# load neither scikit-learn, SciPy, numba nor matplotlib (about 1.5 s); ``from gaussmix import X`` is unchanged.
_PUBLIC = {
    "BayesianGaussianMixture": "estimators.bayesian_mixture",
    "ConvergenceWarning": "exceptions",
    "DataError": "exceptions",
    "DegenerateComponentError": "exceptions",
    "DegenerateComponentWarning": "exceptions",
    "GaussianMixture": "estimators.gaussian_mixture",
    "GaussianMixtureClassifier": "estimators.classifier",
    "KMeans": "estimators.kmeans",
    "MixtureOfExperts": "estimators.experts",
    "MixtureOfFactorAnalyzers": "estimators.factor_analyzers",
    "ModelFileError": "exceptions",
    "PruningWarning": "exceptions",
    "ScaleWarning": "exceptions",
    "SelectionResult": "selection",
    "StudentTMixture": "estimators.student_t",
    "bootstrap_lrt": "inference.bootstrap",
    "bootstrap_parameters": "inference.bootstrap",
    "combine_components": "inference.merging",
    "from_sklearn": "estimators.gaussian_mixture",
    "load": "io.model_files",
    "mixture_directions": "inference.directions",
    "open_dataset": "engines.ooc",
    "save": "io.model_files",
    "select_experts": "selection",
    "select_model": "selection",
}

__all__ = ["__version__", *_PUBLIC]

_MODULES = {"plotting": "cli.plotting"}
"""Modules people import by their short name (``from gaussmix import plotting``), wherever they live."""


def __getattr__(name: str):
    import importlib
    import importlib.util

    module = _PUBLIC.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # later lookups are ordinary attributes
        return value
    if name in _MODULES:
        return importlib.import_module(f".{_MODULES[name]}", __name__)
    if not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        # A submodule (gaussmix.selection, gaussmix.engines, ...): reachable as an attribute, as when this file
        # imported most of them.
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
