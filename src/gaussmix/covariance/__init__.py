"""Covariance structures: one small class per family, looked up by name.

Adding a structure means writing one module with a :class:`CovarianceStructure` subclass and naming it
in ``_STRUCTURES`` below.
"""

from __future__ import annotations

from ._base import CovarianceStructure
from .diag import Diag
from .full import Full
from .spherical import Spherical
from .tied import Tied

__all__ = ["CovarianceStructure", "Diag", "Full", "Spherical", "Tied", "get_structure", "STRUCTURE_NAMES",
           "ALL_MODEL_NAMES"]

_STRUCTURES: dict[str, type[CovarianceStructure]] = {cls.name: cls for cls in (Full, Tied, Diag, Spherical)}
STRUCTURE_NAMES: tuple[str, ...] = tuple(_STRUCTURES)
# What model selection's covariance_types='all' means: every registered structure.
ALL_MODEL_NAMES: tuple[str, ...] = STRUCTURE_NAMES


def get_structure(name: str | CovarianceStructure) -> CovarianceStructure:
    """The structure object for a name such as ``'full'`` (or the object itself)."""
    if isinstance(name, CovarianceStructure):
        return name
    try:
        return _STRUCTURES[name]()
    except (KeyError, TypeError):
        raise ValueError(
            f"covariance_type must be one of {list(STRUCTURE_NAMES)}, got {name!r}"
        ) from None
