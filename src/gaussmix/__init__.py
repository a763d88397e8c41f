"""gaussmix: Gaussian mixture models on a sufficient-statistics EM kernel.

Public names::

    GaussianMixture, KMeans          scikit-learn compatible estimators
    BayesianGaussianMixture          variational Dirichlet / Dirichlet-process mixtures (learn K)
    MixtureOfFactorAnalyzers         mixtures of factor analysers / probabilistic PCA
    MixtureOfExperts                 mixture of linear experts with a softmax gate (a regressor)
    select_model, SelectionResult    fit a grid of models, choose by BIC, ICL, AIC or held-out likelihood
    open_dataset                     .npy / Parquet / CSV / iterable sources for out-of-core fits
    save, load                       versioned, pickle-free model files
    from_sklearn                     a fitted sklearn GaussianMixture as a gaussmix one (and .to_sklearn())
    DegenerateComponentError, DegenerateComponentWarning, DataError, ModelFileError, PruningWarning, ScaleWarning
"""

__version__ = "0.1.0"

from .exceptions import (ConvergenceWarning, DataError, DegenerateComponentError, DegenerateComponentWarning,
                         ModelFileError, PruningWarning, ScaleWarning)
from .bayesian_mixture import BayesianGaussianMixture
from .convert import from_sklearn
from .experts import MixtureOfExperts
from .factor_analyzers import MixtureOfFactorAnalyzers
from .gaussian_mixture import GaussianMixture
from .io import load, save
from .kmeans import KMeans
from .engines.ooc import open_dataset
from .selection import SelectionResult, select_model

# One name per line, sorted: independent features add lines without touching each other's.
__all__ = [
    "BayesianGaussianMixture",
    "ConvergenceWarning",
    "DataError",
    "DegenerateComponentError",
    "DegenerateComponentWarning",
    "GaussianMixture",
    "KMeans",
    "MixtureOfExperts",
    "MixtureOfFactorAnalyzers",
    "ModelFileError",
    "PruningWarning",
    "ScaleWarning",
    "SelectionResult",
    "__version__",
    "from_sklearn",
    "load",
    "open_dataset",
    "save",
    "select_model",
]
