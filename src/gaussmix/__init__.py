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

# Each public name and the module that defines it, one per line, sorted: independent features add lines without
# touching each other's. A name is imported on first use (PEP 562), so ``import gaussmix`` and ``gaussmix --help``
# load neither scikit-learn, SciPy, numba nor matplotlib (about 1.5 s); ``from gaussmix import X`` is unchanged.
_PUBLIC = {
    "BayesianGaussianMixture": "bayesian_mixture",
    "ConvergenceWarning": "exceptions",
    "DataError": "exceptions",
    "DegenerateComponentError": "exceptions",
    "DegenerateComponentWarning": "exceptions",
    "GaussianMixture": "gaussian_mixture",
    "GaussianMixtureClassifier": "classifier",
    "KMeans": "kmeans",
    "MixtureOfExperts": "experts",
    "MixtureOfFactorAnalyzers": "factor_analyzers",
    "ModelFileError": "exceptions",
    "PruningWarning": "exceptions",
    "ScaleWarning": "exceptions",
    "SelectionResult": "selection",
    "StudentTMixture": "student_t",
    "bootstrap_lrt": "inference.bootstrap",
    "bootstrap_parameters": "inference.bootstrap",
    "combine_components": "inference.merging",
    "from_sklearn": "convert",
    "load": "io",
    "mixture_directions": "inference.directions",
    "open_dataset": "engines.ooc",
    "save": "io",
    "select_experts": "experts",
    "select_model": "selection",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    import importlib
    import importlib.util

    module = _PUBLIC.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # later lookups are ordinary attributes
        return value
    if not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        # A submodule (gaussmix.progress, gaussmix.plotting, ...): reachable as an attribute, as when this file
        # imported most of them.
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
