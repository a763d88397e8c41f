"""Combining mixture components into clusters by entropy (Baudry et al. 2010; mclust's ``clustCombi``).

A Gaussian mixture fitted for density (chosen by BIC) often uses several Gaussian components for one cluster
that is not Gaussian: a banana, a half-moon, a skewed blob. Baudry et al. merge components afterwards. The
responsibilities of a union of components are the sums of theirs, ``z_{n,A u B} = z_nA + z_nB``, and the
entropy of the soft classification

    ENT(K) = - sum_n sum_k z_nk log z_nk                                  (Baudry et al. 2010, eq. 2)

measures how uncertain it is. Starting from the K fitted components, each step merges the two clusters whose
union lowers the entropy most (eq. 3),

    (a, b) = argmax over pairs of  sum_n [ (z_na + z_nb) log(z_na + z_nb) - z_na log z_na - z_nb log z_nb ],

until one cluster is left. The mixture density never changes, only which components are read as one cluster;
the number of clusters is chosen where the entropy, plotted against it, stops dropping steeply (the elbow of
:meth:`CombinedComponents.plot`).

Numbering follows ``clustCombi``: the union of clusters ``a < b`` keeps the number ``a``, ``b`` disappears and
the clusters after it move down by one; ties go to the pair found first in mclust's search (smallest ``b``,
then smallest ``a``). At the K fitted components the clusters are the components themselves, so
``labels(K)`` is ``estimator.predict(X)``.

A noise component (``GaussianMixture(noise=...)``) is never merged: it stays a cluster of its own, labelled
``-1`` as by ``predict``, and its responsibilities are the last column of :meth:`CombinedComponents.predict_proba`.

References
----------
J.-P. Baudry, A. E. Raftery, G. Celeux, K. Lo and R. Gottardo (2010). Combining mixture components for
clustering. *Journal of Computational and Graphical Statistics* 19(2), 332-353.
L. Scrucca, M. Fop, T. B. Murphy and A. E. Raftery (2016). mclust 5. *The R Journal* 8(1), 289-317
(``clustCombi``, ``combiTree``, ``entPlot``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import entr

__all__ = ["CombinedComponents", "MergeStep", "combine_components"]


@dataclass(frozen=True)
class MergeStep:
    """One merge: from ``n_clusters + 1`` clusters to ``n_clusters``.

    Attributes
    ----------
    n_clusters : int
        Clusters after the merge.
    pair : tuple of int
        The two clusters merged, ``a < b``, numbered as among the ``n_clusters + 1`` before the merge.
    entropy : float
        Entropy of the responsibilities after the merge.
    entropy_decrease : float
        Entropy before minus after (>= 0).
    n_merged : int
        Rows of the training data that the two merged clusters held (by most probable cluster) before the merge:
        Baudry et al. normalise the entropy decrease by it, since merging two large clusters lowers the entropy
        more than merging two small ones even when each is equally ambiguous.
    """

    n_clusters: int
    pair: tuple[int, int]
    entropy: float
    entropy_decrease: float
    n_merged: int


def _entropy(responsibilities: np.ndarray) -> float:
    """``- sum z log z`` over all entries, with ``0 log 0 = 0`` (scipy's ``entr``)."""
    return float(entr(responsibilities).sum())


def _best_pair(responsibilities: np.ndarray) -> tuple[int, int]:
    """The pair ``a < b`` whose union lowers the entropy most; ties as in mclust (smallest b, then smallest a)."""
    n_clusters = responsibilities.shape[1]
    column_entropies = entr(responsibilities).sum(axis=0)
    best, best_decrease = (0, 1), -np.inf
    for b in range(1, n_clusters):
        for a in range(b):
            union = _entropy(responsibilities[:, a] + responsibilities[:, b])
            decrease = column_entropies[a] + column_entropies[b] - union
            if decrease > best_decrease:
                best, best_decrease = (a, b), decrease
    return best


def _merge_matrix(n_clusters: int, a: int, b: int) -> np.ndarray:
    """The (n_clusters - 1, n_clusters) 0/1 matrix that adds column ``b`` to column ``a`` and drops ``b``:
    ``z_after = z_before @ matrix.T`` (mclust's ``combMat``)."""
    keep = np.delete(np.eye(n_clusters), b, axis=0)
    keep[a, b] = 1.0
    return keep


@dataclass(frozen=True, eq=False)
class CombinedComponents:
    """The merge hierarchy of a fitted mixture, from its K components down to one cluster.

    Made by :func:`combine_components`. Clusters at each level are unions of components:
    :meth:`components` says which, :meth:`combining_matrix` maps responsibilities of the components to those of
    the clusters.

    Attributes
    ----------
    estimator : fitted mixture
        The model whose components are combined (used for new data).
    responsibilities : array of shape (n_samples, K)
        The components' responsibilities on the training data (without the noise column).
    noise_responsibilities : array of shape (n_samples,) or None
        The noise component's, when the model has one.
    steps : tuple of MergeStep
        The K - 1 merges, first (K to K - 1 clusters) to last (2 to 1).
    entropies : array of shape (K,)
        ``entropies[k - 1]`` is the entropy with ``k`` clusters (noise column included, which adds the same
        amount at every level).
    """

    estimator: object
    responsibilities: np.ndarray
    noise_responsibilities: np.ndarray | None
    steps: tuple[MergeStep, ...]
    entropies: np.ndarray

    @property
    def n_components(self) -> int:
        """K, the number of fitted (Gaussian) components."""
        return self.responsibilities.shape[1]

    @property
    def n_clusters(self) -> np.ndarray:
        """``1, ..., K``: the number of clusters that ``entropies`` is indexed by (x axis of the entropy plot)."""
        return np.arange(1, self.n_components + 1)

    def _check(self, n_clusters: int) -> int:
        if not (isinstance(n_clusters, (int, np.integer)) and 1 <= n_clusters <= self.n_components):
            raise ValueError(f"n_clusters must be an integer from 1 to {self.n_components}, got {n_clusters!r}")
        return int(n_clusters)

    def combining_matrix(self, n_clusters: int) -> np.ndarray:
        """The 0/1 matrix ``M`` of shape (n_clusters, K) with ``M[c, k] = 1`` when component ``k`` is in cluster
        ``c``: the clusters' responsibilities are ``z @ M.T`` (mclust's ``combiM``, composed from K)."""
        matrix = np.eye(self.n_components)
        for step in self.steps[: self.n_components - self._check(n_clusters)]:
            matrix = _merge_matrix(step.n_clusters + 1, *step.pair) @ matrix
        return matrix

    def components(self, n_clusters: int) -> list[list[int]]:
        """Which fitted components make up each of the ``n_clusters`` clusters, e.g. ``[[0, 3], [1, 2, 4]]``."""
        return [np.flatnonzero(row).tolist() for row in self.combining_matrix(n_clusters)]

    def predict_proba(self, n_clusters: int, X_new=None) -> np.ndarray:
        """Responsibilities of the ``n_clusters`` clusters: sums of those of their components.

        Parameters
        ----------
        n_clusters : int, 1 <= n_clusters <= K
        X_new : array of shape (n_samples, n_features), optional
            Other data, scored with the estimator; default the data the hierarchy was built on.

        Returns
        -------
        array of shape (n_samples, n_clusters), or (n_samples, n_clusters + 1) with a noise component (last)
        """
        components, noise = (self.responsibilities, self.noise_responsibilities) if X_new is None \
            else _split_noise(self.estimator, self.estimator.predict_proba(X_new))
        combined = components @ self.combining_matrix(n_clusters).T
        return combined if noise is None else np.column_stack([combined, noise])

    def labels(self, n_clusters: int, X_new=None) -> np.ndarray:
        """Most probable of the ``n_clusters`` clusters for each row, shape (n_samples,); ``-1`` for the noise.

        At ``n_clusters = K`` these are ``estimator.predict`` (the clusters are the components).
        """
        probabilities = self.predict_proba(n_clusters, X_new)
        labels = probabilities.argmax(axis=1)
        if self.noise_responsibilities is not None:
            labels[labels == n_clusters] = -1
        return labels

    def normalised_differences(self) -> np.ndarray:
        """Entropy decrease of each merge divided by the rows it merged, shape (K - 1,), indexed like
        ``n_clusters[:-1]`` (clusters after the merge): Baudry et al.'s normalised difference, whose jump marks the
        first merge of two clusters that are really apart."""
        decreases = np.array([step.entropy_decrease for step in self.steps])[::-1]
        merged = np.array([step.n_merged for step in self.steps], dtype=float)[::-1]
        return decreases / np.maximum(merged, 1.0)

    def summary(self) -> str:
        """One line per merge: clusters after it, the components joined and the entropy."""
        lines = [f"{self.n_components:>3} clusters  (fitted components)          entropy {self.entropies[-1]:.3f}"]
        for step in self.steps:
            joined = self.components(step.n_clusters)[step.pair[0]]
            lines.append(f"{step.n_clusters:>3} clusters  merged {step.pair} -> components {joined}  "
                         f"entropy {step.entropy:.3f} (-{step.entropy_decrease:.3f}, {step.n_merged} rows)")
        return "\n".join(lines)

    def plot(self, ax=None, *, kind: str = "entropy"):
        """The entropy plot of Baudry et al. (2010, Figs. 2-4; mclust's ``entPlot``); returns the Axes.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        kind : {"entropy", "difference", "normalised"}
            ``"entropy"``: entropy against the number of clusters; choose the elbow, after which merging stops
            lowering it much. ``"difference"``: the decrease of each merge. ``"normalised"``: the decrease divided
            by the number of rows merged (:meth:`normalised_differences`).
        """
        from ..cli.plotting import _axes

        ax = _axes(ax)
        if kind == "entropy":
            ax.plot(self.n_clusters, self.entropies, marker="o", label=f"merging {self.n_components} components")
            ax.set_ylabel("entropy of the responsibilities")
            ax.set_title("Entropy of the combined clusters")
        elif kind in {"difference", "normalised"}:
            values = (np.array([step.entropy_decrease for step in self.steps])[::-1] if kind == "difference"
                      else self.normalised_differences())
            per_row = " per merged row" if kind == "normalised" else ""
            ax.plot(self.n_clusters[:-1], values, marker="o", label=f"entropy decrease{per_row}")
            ax.set_ylabel(f"entropy decrease{per_row}")
            ax.set_title("Entropy decrease of each merge" + (" (normalised)" if kind == "normalised" else ""))
        else:
            raise ValueError(f"kind must be 'entropy', 'difference' or 'normalised', got {kind!r}")
        ax.legend(fontsize="small")
        ax.set_xlabel("number of clusters (after the merge)" if kind != "entropy" else "number of clusters")
        ax.set_xticks(self.n_clusters)
        ax.grid(alpha=0.3)
        return ax


def _split_noise(estimator, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The components' columns and the noise column (None without a noise component)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if getattr(estimator, "noise_volume_", None) is None:
        return probabilities, None
    return probabilities[:, :-1], probabilities[:, -1]


def combine_components(estimator, X) -> CombinedComponents:
    """Merge the components of a fitted mixture into clusters, K down to 1, by entropy (Baudry et al. 2010).

    Parameters
    ----------
    estimator : fitted mixture with ``predict_proba``
        ``GaussianMixture``, ``BayesianGaussianMixture``, ``MixtureOfFactorAnalyzers`` ...
    X : array of shape (n_samples, n_features)
        The data whose responsibilities are merged (usually the training data).

    Returns
    -------
    CombinedComponents
        ``entropies``, ``steps``, ``labels(n_clusters)``, ``predict_proba(n_clusters, X_new=None)``,
        ``components(n_clusters)``, ``combining_matrix(n_clusters)``, ``plot()``.

    Notes
    -----
    See the module docstring for the criterion. Each step tries every pair, ``O(n K^2)``; all steps
    ``O(n K^3)``, a fraction of a second for thousands of rows and K of a few tens.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from gaussmix import GaussianMixture, combine_components
    >>> X, moon = make_moons(1000, noise=0.06, random_state=0)
    >>> merged = combine_components(GaussianMixture(8, random_state=0).fit(X), X)
    >>> merged.labels(2).shape
    (1000,)
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    components, noise = _split_noise(estimator, estimator.predict_proba(X))
    noise_entropy = 0.0 if noise is None else _entropy(noise)
    n_components = components.shape[1]
    current = components
    entropies = [_entropy(current) + noise_entropy]
    steps = []
    for n_before in range(n_components, 1, -1):
        a, b = _best_pair(current)
        winners = current.argmax(axis=1)
        if noise is not None:  # rows the noise holds are in neither merged cluster
            winners = np.where(noise > current.max(axis=1), -1, winners)
        merged = _merge_matrix(n_before, a, b)
        current = current @ merged.T
        entropies.append(_entropy(current) + noise_entropy)
        steps.append(MergeStep(n_clusters=n_before - 1, pair=(a, b), entropy=entropies[-1],
                               entropy_decrease=entropies[-2] - entropies[-1],
                               n_merged=int(np.isin(winners, (a, b)).sum())))
    return CombinedComponents(estimator=estimator, responsibilities=components, noise_responsibilities=noise,
                              steps=tuple(steps), entropies=np.array(entropies[::-1]))
