"""gaussmix: Gaussian mixture models on a sufficient-statistics EM kernel.

Public names::

    GaussianMixture, KMeans          scikit-learn compatible estimators
    open_dataset                     .npy / Parquet / CSV / iterable sources for out-of-core fits
    save, load                       versioned, pickle-free model files
    DegenerateComponentError, DegenerateComponentWarning, DataError, ModelFileError
"""

__version__ = "0.1.0"

from .exceptions import (ConvergenceWarning, DataError, DegenerateComponentError, DegenerateComponentWarning,
                         ModelFileError)
from .gaussian_mixture import GaussianMixture
from .io import load, save
from .kmeans import KMeans
from .engines.ooc import open_dataset

__all__ = [
    "ConvergenceWarning", "DataError", "DegenerateComponentError", "DegenerateComponentWarning",
    "GaussianMixture", "KMeans", "ModelFileError", "__version__", "load", "open_dataset", "save",
]
