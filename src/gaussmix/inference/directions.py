"""Directions that show the clustering of a fitted mixture (Scrucca 2010; mclust's ``MclustDR``).

Principal components show where the data vary most, which need not be where the clusters differ. Scrucca's
directions are those along which the fitted components differ, in their means and in their covariances. With
``x_bar`` and ``S`` the mean and (maximum-likelihood) covariance of the data, ``pi_k, mu_k, Sigma_k`` the fitted
weights, means and covariances and ``Sigma_bar = sum_k pi_k Sigma_k``, the kernel

    S_mu = sum_k pi_k (mu_k - x_bar)(mu_k - x_bar)^T                       (between-component covariance)
    M    = 2 w S_mu S^-1 S_mu + 2 (1 - w) sum_k pi_k (Sigma_k - Sigma_bar) S^-1 (Sigma_k - Sigma_bar)

collects the variation of the means (first term) and of the covariances (second). The directions are the
eigenvectors of the generalised eigenproblem

    M v = lambda S v,    lambda_1 >= lambda_2 >= ... >= 0,

the first maximising ``v^T M v / v^T S v``. With ``w = 1/2`` (the default here) ``M`` is Scrucca's (2010, Sect. 3)
``S_mu S^-1 S_mu + sum_k pi_k (Sigma_k - Sigma_bar) S^-1 (Sigma_k - Sigma_bar)``; ``w`` is mclust's ``lambda``
(Scrucca 2014), whose default 1 keeps the means' term only. The eigenvalues do not depend on the units or any
invertible affine change of the data (``x -> A x + b`` maps ``v`` to ``A^-T v`` and leaves the projections
``(x - x_bar)^T v`` unchanged), so neither does the picture.

As ``MclustDR`` (``normalized = TRUE``), each basis vector is scaled to unit length and the projections are
``(X - x_bar) @ basis``; we also fix each vector's sign (largest entry positive), which mclust leaves to the
eigen-solver. The number of directions kept by default is that of eigenvalues above ``sqrt(machine epsilon)``.

References
----------
L. Scrucca (2010). Dimension reduction for model-based clustering. *Statistics and Computing* 20(4), 471-484.
L. Scrucca (2014). Graphical tools for model-based mixture discriminant analysis. *Advances in Data Analysis and
Classification* 8(2), 147-165 (the weight ``lambda``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MixtureDirections", "mixture_directions"]

EIGENVALUE_TOLERANCE = float(np.sqrt(np.finfo(float).eps))
"""Eigenvalues above this are directions with clustering information (mclust's threshold)."""


@dataclass(frozen=True, eq=False)
class MixtureDirections:
    """Scrucca's (2010) directions of a fitted mixture; made by :func:`mixture_directions`.

    Attributes
    ----------
    basis : array of shape (n_features, n_directions)
        The directions, columns of unit length, ordered by eigenvalue.
    eigenvalues : array of shape (n_directions,)
        ``v^T M v / v^T S v`` of each direction, decreasing, >= 0: how much clustering structure it carries.
    projections : array of shape (n_samples, n_directions)
        ``(X - centre) @ basis``: the data in the directions' coordinates.
    centre : array of shape (n_features,)
        The data's mean, subtracted before projecting.
    kernel : array of shape (n_features, n_features)
        ``M``, see the module docstring.
    """

    basis: np.ndarray
    eigenvalues: np.ndarray
    projections: np.ndarray
    centre: np.ndarray
    kernel: np.ndarray

    def transform(self, X) -> np.ndarray:
        """Other data in the same coordinates, ``(X - centre) @ basis``, shape (n_samples, n_directions)."""
        return (np.asarray(X, dtype=np.float64) - self.centre) @ self.basis


def _dense_covariances(estimator) -> np.ndarray:
    """The components' covariance matrices, shape (K, d, d), whatever structure stores them."""
    n_components, n_features = np.shape(estimator.means_)
    structure = getattr(estimator, "_structure", None)
    if structure is not None:
        return np.asarray(structure.dense_covariances(estimator.covariances_, n_components, n_features))
    return np.broadcast_to(np.asarray(estimator.covariances_, dtype=np.float64), (n_components, n_features, n_features))


def _inverse_square_root(S: np.ndarray) -> np.ndarray:
    """``S^-1/2`` on the range of ``S``: directions of (numerically) zero variance are dropped, as mclust does,
    so a constant column gets no direction instead of an infinite one."""
    values, vectors = np.linalg.eigh(S)
    kept = values > max(np.finfo(float).eps * values.max(initial=0.0), 0.0)
    return (vectors[:, kept] / np.sqrt(values[kept])) @ vectors[:, kept].T


def mixture_directions(estimator, X, n_directions: int | None = None, *,
                       means_weight: float = 0.5) -> MixtureDirections:
    """Directions that show the clusters of a fitted Gaussian mixture (Scrucca 2010; mclust's ``MclustDR``).

    Parameters
    ----------
    estimator : fitted GaussianMixture (or any model with ``weights_``, ``means_`` and covariances)
    X : array of shape (n_samples, n_features)
        The data (usually the training data): their mean and covariance enter the kernel.
    n_directions : int, optional
        Directions to return, at most ``n_features``; default those with an eigenvalue above
        :data:`EIGENVALUE_TOLERANCE` (at least one).
    means_weight : float in [0, 1], default=0.5
        ``w`` of the kernel: 1/2 weighs the means and the covariances as Scrucca (2010); 1 uses the means only
        (mclust's default, ``lambda = 1``), 0 the covariances only.

    Returns
    -------
    MixtureDirections
        ``basis`` (d x n_directions, unit columns), ``eigenvalues``, ``projections`` (centred), ``centre``,
        ``kernel``, ``transform(X_new)``.

    Notes
    -----
    See the module docstring for ``M``. The generalised problem ``M v = lambda S v`` is solved as the ordinary
    symmetric one ``(S^-1/2 M S^-1/2) u = lambda u`` with ``v = S^-1/2 u``, as mclust does.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture, mixture_directions
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 4)); X[:200, 2] += 6        # clusters apart along the third variable
    >>> directions = mixture_directions(GaussianMixture(2, random_state=0).fit(X), X)
    >>> int(np.abs(directions.basis[:, 0]).argmax())
    2
    """
    from sklearn.utils.validation import check_array, check_is_fitted

    check_is_fitted(estimator)
    X = check_array(X, dtype=np.float64, ensure_min_samples=2)
    weights = np.asarray(estimator.weights_, dtype=np.float64)
    means = np.asarray(estimator.means_, dtype=np.float64)
    n_features = means.shape[1]
    if X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, the model {n_features}")
    if not 0.0 <= means_weight <= 1.0:
        raise ValueError(f"means_weight must be in [0, 1], got {means_weight!r}")
    valid_count = isinstance(n_directions, (int, np.integer)) and 1 <= n_directions <= n_features
    if n_directions is not None and not valid_count:
        raise ValueError(f"n_directions must be an integer from 1 to {n_features}, got {n_directions!r}")

    centre = X.mean(axis=0)
    S = np.cov(X, rowvar=False, bias=True).reshape(n_features, n_features)  # mclust: var(x) * (n - 1) / n
    covariances = _dense_covariances(estimator)
    # Weights as fitted; with a noise component they sum to less than one and are not rescaled (as in mclust).
    between = np.einsum("k,ki,kj->ij", weights, means - centre, means - centre)
    deviations = covariances - np.einsum("k,kij->ij", weights, covariances)
    # In whitened coordinates each term of M is the square of a symmetric matrix, so the whitened kernel is
    # symmetric and positive semi-definite by construction, without forming S^-1.
    whiten = _inverse_square_root(S)
    white_between = whiten @ between @ whiten
    white_deviations = whiten @ deviations @ whiten
    white_kernel = (2 * means_weight * white_between @ white_between
                    + 2 * (1 - means_weight) * np.einsum("k,kij,kjl->il", weights, white_deviations, white_deviations))
    eigenvalues, eigenvectors = np.linalg.eigh((white_kernel + white_kernel.T) / 2)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.clip(eigenvalues[order], 0.0, None)  # round-off below zero on a semi-definite matrix
    if n_directions is None:
        n_directions = max(1, min(n_features, int(np.sum(eigenvalues > EIGENVALUE_TOLERANCE))))
    basis = whiten @ eigenvectors[:, order[:n_directions]]
    basis /= np.linalg.norm(basis, axis=0)
    # Sign convention, so pictures do not flip between runs: each direction's largest entry is positive.
    basis *= np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(n_directions)])
    square_root = np.linalg.pinv(whiten)  # S^1/2 on the same range, to undo the whitening of the kernel
    kernel = square_root @ white_kernel @ square_root
    return MixtureDirections(basis=basis, eigenvalues=eigenvalues[:n_directions], projections=(X - centre) @ basis,
                             centre=centre, kernel=kernel)
