"""Covariance structures: one small class per family, looked up by name.

Adding a structure means writing one module with a :class:`CovarianceStructure` subclass and naming it
in ``_STRUCTURES`` below.
"""

from __future__ import annotations

from ._base import KERNEL_BLOCK_ROWS, CovarianceStructure
from .diag import Diag
from .eigen import MCLUST_MODEL_NAMES, MCLUST_STRUCTURES
from .factor import FactorAnalyzers
from .full import Full
from .spherical import Spherical
from .tied import Tied

__all__ = ["KERNEL_BLOCK_ROWS", "CovarianceStructure", "Diag", "FactorAnalyzers", "Full", "Spherical", "Tied", "get_structure",
           "STRUCTURE_NAMES", "ALL_MODEL_NAMES", "MCLUST_MODEL_NAMES", "REGISTERED_NAMES", "VARIATIONAL_NAMES",
           "model_names"]

_STRUCTURES: dict[str, type[CovarianceStructure]] = {cls.name: cls for cls in (Full, Tied, Diag, Spherical)}
STRUCTURE_NAMES: tuple[str, ...] = tuple(_STRUCTURES)
"""scikit-learn's four names."""

_STRUCTURES.update({cls.name: cls for cls in MCLUST_STRUCTURES})
REGISTERED_NAMES: tuple[str, ...] = tuple(_STRUCTURES)
"""Every name :func:`get_structure` knows: scikit-learn's four, mclust's 14 and the one-dimensional 'E' and 'V'."""

VARIATIONAL_NAMES: tuple[str, ...] = tuple(name for name, cls in _STRUCTURES.items() if cls.variational)
"""The structures with a variational posterior (:attr:`CovarianceStructure.variational`)."""

ALL_MODEL_NAMES: tuple[str, ...] = MCLUST_MODEL_NAMES
"""What model selection tries for ``covariance_types="all"``: mclust's 14 models (the scikit-learn names
are four of them: spherical = VII, diag = VVI, tied = EEE, full = VVV)."""


def model_names(n_features: int) -> tuple[str, ...]:
    """Distinct models for data with ``n_features`` columns: mclust's 14, or ('E', 'V') in one dimension,
    where every three-letter model reduces to one of those two."""
    return ("E", "V") if n_features == 1 else ALL_MODEL_NAMES


def get_structure(name: str | CovarianceStructure) -> CovarianceStructure:
    """The structure object for a name such as ``'full'`` (or the object itself)."""
    if isinstance(name, CovarianceStructure):
        return name
    try:
        return _STRUCTURES[name]()
    except (KeyError, TypeError):
        raise ValueError(
            f"covariance_type must be one of {list(_STRUCTURES)}, got {name!r}"
        ) from None
