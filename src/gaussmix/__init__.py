"""gaussmix: Gaussian mixture models on a sufficient-statistics EM kernel.

Public names::

    GaussianMixture, KMeans          scikit-learn compatible estimators
    select_model, SelectionResult    fit a grid of models, choose by BIC, ICL, AIC or held-out likelihood
    save, load                       versioned, pickle-free model files
    from_sklearn                     a fitted sklearn GaussianMixture as a gaussmix one (and .to_sklearn())
    DegenerateComponentError, DegenerateComponentWarning, DataError, ModelFileError
"""

__version__ = "0.1.0"

from .exceptions import (ConvergenceWarning, DataError, DegenerateComponentError, DegenerateComponentWarning,
                         ModelFileError)
from .convert import from_sklearn
from .gaussian_mixture import GaussianMixture
from .io import load, save
from .kmeans import KMeans
from .selection import SelectionResult, select_model

__all__ = [
    "ConvergenceWarning", "DataError", "DegenerateComponentError", "DegenerateComponentWarning",
    "GaussianMixture", "KMeans", "from_sklearn", "ModelFileError", "__version__", "load", "save",
    "SelectionResult", "select_model",
]
