"""gaussmix: Gaussian mixture models on a sufficient-statistics EM kernel.

Public names::

    GaussianMixture, KMeans          scikit-learn compatible estimators
    BayesianGaussianMixture          variational Dirichlet / Dirichlet-process mixtures (learn K)
    save, load                       versioned, pickle-free model files
    DegenerateComponentError, DegenerateComponentWarning, DataError, ModelFileError
"""

__version__ = "0.1.0"

from .exceptions import (ConvergenceWarning, DataError, DegenerateComponentError, DegenerateComponentWarning,
                         ModelFileError)
from .bayesian_mixture import BayesianGaussianMixture
from .gaussian_mixture import GaussianMixture
from .io import load, save
from .kmeans import KMeans

__all__ = [
    "BayesianGaussianMixture", "ConvergenceWarning", "DataError", "DegenerateComponentError", "DegenerateComponentWarning",
    "GaussianMixture", "KMeans", "ModelFileError", "__version__", "load", "save",
]
