"""Errors and warnings raised by gaussmix.

Every error a user can cause is a ``ValueError`` subclass (so ``except ValueError`` keeps working for
code written against scikit-learn) and names the problem and what to do about it.

``ConvergenceWarning`` is scikit-learn's own class (so filters written for scikit-learn catch ours), looked up
on first use: importing scikit-learn takes about a second, which ``import gaussmix`` and ``gaussmix --help``
do not pay.
"""

from __future__ import annotations

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "DegenerateComponentError",
    "DegenerateComponentWarning",
    "ModelFileError",
    "PruningWarning",
    "zero_density_error",
]


def __getattr__(name: str):
    if name == "ConvergenceWarning":
        from sklearn.exceptions import ConvergenceWarning

        return ConvergenceWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


class ZeroDensityError(FloatingPointError):
    """A training sample has zero density under every component, or its density overflowed: the fit cannot
    assign it. (Prediction gives such a row log-density -inf instead.)"""


def zero_density_error() -> ZeroDensityError:
    """What the E-step raises for a sample of zero density under every component (not a user error)."""
    return ZeroDensityError(
        "a sample has zero density under every component (or the density overflowed); "
        "the data may contain extreme outliers relative to the fitted covariances"
    )


class DataError(ValueError):
    """The input data cannot be used as given (NaN, wrong shape, too few samples, ...)."""


class ModelFileError(ValueError):
    """A model file is missing, corrupt, of an unknown version or describes an invalid model."""


class DegenerateComponentError(ValueError):
    """A mixture component became empty or its covariance singular during EM.

    Parameters
    ----------
    component : int
        Index of the (first) degenerate component.
    reason : str
        ``"empty"`` (it explains no data), ``"singular"`` (its covariance is not positive definite) or
        ``"collapsed"`` (its variance in some direction is negligible relative to the data's).
    advice : str
        What the user can change so that the fit succeeds.
    components : tuple of int, optional
        All degenerate components found in the same M-step (defaults to ``(component,)``).
    """

    def __init__(self, component: int, reason: str, advice: str = "", components: tuple[int, ...] = ()):
        self.component = int(component)
        self.reason = reason
        self.advice = advice
        self.components = tuple(int(k) for k in components) or (self.component,)
        what = {
            "empty": "is empty (it is responsible for no data)",
            "singular": "has a singular covariance matrix (not positive definite)",
            "collapsed": "has collapsed (its variance in some direction is negligible next to the data's: "
                         "it sits on a single point, on tied values or in a subspace)",
        }.get(reason, reason)
        message = f"Mixture component {self.component} {what}."
        if len(self.components) > 1:
            message += f" Degenerate components: {list(self.components)}."
        if advice:
            message += " " + advice
        super().__init__(message)


class DegenerateComponentWarning(UserWarning):
    """A degenerate component was re-seeded and the fit went on."""


class ScaleWarning(UserWarning):
    """The data's scale makes the absolute ``reg_covar`` swamp its structure (advice on how to fix it)."""


class PruningWarning(UserWarning):
    """Pruning components of a variational mixture lowered its evidence lower bound: the dropped
    components explained data (see ``BayesianGaussianMixture(prune=True)``)."""
