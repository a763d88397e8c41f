"""gaussmix: Gaussian mixture models on a sufficient-statistics EM kernel.

Public names::

    GaussianMixture, KMeans          scikit-learn compatible estimators
    MixtureOfFactorAnalyzers         mixtures of factor analysers / probabilistic PCA
    save, load                       versioned, pickle-free model files
    DegenerateComponentError, DegenerateComponentWarning, DataError, ModelFileError
"""

__version__ = "0.1.0"

from .exceptions import (ConvergenceWarning, DataError, DegenerateComponentError, DegenerateComponentWarning,
                         ModelFileError)
from .gaussian_mixture import GaussianMixture
from .factor_analyzers import MixtureOfFactorAnalyzers
from .io import load, save
from .kmeans import KMeans

__all__ = [
    "ConvergenceWarning", "DataError", "DegenerateComponentError", "DegenerateComponentWarning",
    "GaussianMixture", "KMeans", "MixtureOfFactorAnalyzers", "ModelFileError", "__version__", "load", "save",
]
