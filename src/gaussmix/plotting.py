"""Plots of fitted mixtures, in the spirit of R's mclust (needs matplotlib: ``pip install 'gaussmix[plot]'``).

Every function takes a fitted model (and data where it needs them; ``feature_names`` labels the axes when
the model has no ``feature_names_in_``), draws on ``ax`` (a new figure when None) and returns the ``Axes``
(or the ``Figure`` for multi-panel plots), so plots compose and can be saved::

    from gaussmix import plotting
    ax = plotting.plot_clusters(model, X)
    ax.figure.savefig("clusters.png")

=====================  ==============================================================================
plot_clusters          points coloured by cluster with covariance ellipses (2-D; d > 2: first two PCs)
plot_density           log-density contours over the data (2-D)
plot_histogram         histogram with the weighted component densities and the mixture density (1-D)
plot_uncertainty       1 - max responsibility per point (large = ambiguous)
plot_pairs             every pair of features, points and ellipses (d >= 2)
plot_criterion         BIC/ICL (or any criterion) across K, one line per covariance structure
plot_trace             the EM trace: mean log-likelihood per iteration
plot_model             the natural overview for the data's dimension
=====================  ==============================================================================

Ellipses are drawn at 1 and 2 standard deviations (Mahalanobis radius) of each component. For d > 2 the
projection on the first two principal components of the data shows each component's *projected* mean
``A^T mu`` and covariance ``A^T Sigma A``, which is exactly the distribution of the projected component.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["plot_clusters", "plot_density", "plot_histogram", "plot_uncertainty", "plot_pairs", "plot_criterion",
           "plot_trace", "plot_model", "principal_axes", "uncertainty"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt  # without a display matplotlib falls back to Agg by itself
    except ImportError:
        raise ImportError("gaussmix.plotting needs matplotlib: pip install 'gaussmix[plot]'") from None
    return plt


def _axes(ax, figsize=(6.0, 4.5)):
    if ax is not None:
        return ax
    figure, ax = _pyplot().subplots(figsize=figsize)
    return ax


def _data(model, X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != model.means_.shape[1]:
        raise ValueError(f"X must have shape (n_samples, {model.means_.shape[1]}), got {X.shape}")
    return X


def _dense_covariances(model) -> np.ndarray:
    n_components, n_features = model.means_.shape
    return model._structure.dense_covariances(model.covariances_, n_components, n_features)


def _colours(n_components: int):
    cmap = _pyplot().get_cmap("tab10" if n_components <= 10 else "tab20")
    return [cmap(k % cmap.N) for k in range(n_components)]


def principal_axes(X: np.ndarray, n_axes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Centre and the first ``n_axes`` principal directions of ``X``: (mean (d,), axes (d, n_axes))."""
    centre = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - centre, full_matrices=False)
    axes = vt[:n_axes].T
    # A sign convention, so that plots do not flip between runs: the largest loading of each axis is positive.
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    return centre, axes * signs


def _projection(model, X, features, feature_names=None):
    """2-D coordinates of the data, the means and the covariances, plus axis labels."""
    X = _data(model, X)
    means, covariances = model.means_, _dense_covariances(model)
    names = _feature_names(model, feature_names)
    if X.shape[1] < 2:
        raise ValueError("this plot needs at least 2 features; use plot_histogram for 1-D data")
    if features is not None or X.shape[1] == 2:
        i, j = features if features is not None else (0, 1)
        index = [i, j]
        return (X[:, index], means[:, index], covariances[:, index][:, :, index], names[i], names[j])
    centre, axes = principal_axes(X)
    return ((X - centre) @ axes, (means - centre) @ axes, np.einsum("di,kde,ej->kij", axes, covariances, axes),
            "principal component 1", "principal component 2")


def _feature_names(model, names=None) -> list[str]:
    if names is not None:
        return [str(name) for name in names]
    if hasattr(model, "feature_names_in_"):
        return [str(name) for name in model.feature_names_in_]
    return [f"x{i}" for i in range(model.means_.shape[1])]


def _draw_ellipses(ax, means2d, covariances2d, colours, radii=(1.0, 2.0)) -> None:
    from matplotlib.patches import Ellipse

    for mean, covariance, colour in zip(means2d, covariances2d, colours):
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        eigenvalues = np.clip(eigenvalues, 0.0, None)
        angle = np.degrees(np.arctan2(eigenvectors[1, 1], eigenvectors[0, 1]))
        for radius in radii:
            width, height = 2 * radius * np.sqrt(eigenvalues[::-1])
            ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, edgecolor=colour, linewidth=1.5,
                                 linestyle="-" if radius == radii[0] else "--"))
        ax.plot(*mean, marker="x", color="black", markersize=8, markeredgewidth=2)


def plot_clusters(model, X, *, ax=None, features: Sequence[int] | None = None, point_size: float = 8.0,
                  feature_names: Sequence[str] | None = None):
    """Scatter of ``X`` coloured by ``model.predict(X)`` with 1- and 2-sd covariance ellipses.

    Parameters
    ----------
    model : fitted GaussianMixture
    X : array of shape (n_samples, n_features), n_features >= 2
    features : pair of int, optional
        Columns to plot; default the two features (d = 2) or the first two principal components (d > 2).
    """
    ax = _axes(ax)
    labels = model.predict(_data(model, X))
    points, means, covariances, xlabel, ylabel = _projection(model, X, features, feature_names)
    colours = _colours(model.means_.shape[0])
    ax.scatter(points[:, 0], points[:, 1], c=[colours[k] for k in labels], s=point_size, alpha=0.7, linewidths=0)
    _draw_ellipses(ax, means, covariances, colours)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"Clusters: {model.covariance_type}, K={model.means_.shape[0]}")
    ax.autoscale_view()
    return ax


def plot_density(model, X, *, ax=None, grid_size: int = 120, levels: int = 12,
                 feature_names: Sequence[str] | None = None):
    """Contours of the mixture log-density ``log p(x)`` over the range of 2-D data, with the points."""
    X = _data(model, X)
    if X.shape[1] != 2:
        raise ValueError(f"plot_density needs 2-D data, got {X.shape[1]} features; use plot_clusters or plot_pairs")
    ax = _axes(ax)
    low, high = X.min(axis=0), X.max(axis=0)
    margin = 0.1 * (high - low + (high == low))
    xs, ys = (np.linspace(low[i] - margin[i], high[i] + margin[i], grid_size) for i in range(2))
    grid_x, grid_y = np.meshgrid(xs, ys)
    log_density = model.score_samples(np.column_stack([grid_x.ravel(), grid_y.ravel()])).reshape(grid_x.shape)
    # Levels spread over the densities the data actually reach, so the tails do not swallow the picture.
    floor = np.percentile(model.score_samples(X), 1) - 2.0
    contour = ax.contour(grid_x, grid_y, np.maximum(log_density, floor), levels=levels, cmap="viridis")
    ax.scatter(X[:, 0], X[:, 1], s=4, color="0.4", alpha=0.5, linewidths=0)
    ax.figure.colorbar(contour, ax=ax, label="log density")
    names = _feature_names(model, feature_names)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title("Mixture density (log scale)")
    return ax


def plot_histogram(model, X, *, ax=None, bins: int | str = "auto", feature_names: Sequence[str] | None = None):
    """1-D data: a density histogram, each component's ``pi_k N(x | mu_k, sigma_k^2)`` and their sum."""
    X = _data(model, X)
    if X.shape[1] != 1:
        raise ValueError(f"plot_histogram needs 1-D data, got {X.shape[1]} features")
    ax = _axes(ax)
    x = X[:, 0]
    ax.hist(x, bins=bins, density=True, color="0.8", edgecolor="0.6", label="data")
    span = x.max() - x.min() or 1.0
    grid = np.linspace(x.min() - 0.05 * span, x.max() + 0.05 * span, 600)
    variances = _dense_covariances(model)[:, 0, 0]
    colours = _colours(model.means_.shape[0])
    for k, (weight, mean, variance) in enumerate(zip(model.weights_, model.means_[:, 0], variances)):
        density = weight * np.exp(-0.5 * (grid - mean) ** 2 / variance) / np.sqrt(2 * np.pi * variance)
        ax.plot(grid, density, color=colours[k], linewidth=1.5,
                label=f"component {k}: w={weight:.2f}, mean={mean:.2f}, sd={np.sqrt(variance):.2f}")
    ax.plot(grid, np.exp(model.score_samples(grid[:, None])), color="black", linewidth=2, label="mixture")
    ax.set_xlabel(_feature_names(model, feature_names)[0])
    ax.set_ylabel("density")
    ax.set_title(f"Histogram and mixture density, K={model.means_.shape[0]}")
    ax.legend(fontsize="small")
    return ax


def uncertainty(model, X) -> np.ndarray:
    """``1 - max_k p(z = k | x_n)`` for every row, shape (n_samples,), in [0, 1 - 1/K]."""
    return 1.0 - model.predict_proba(_data(model, X)).max(axis=1)


def plot_uncertainty(model, X, *, ax=None, features: Sequence[int] | None = None,
                     feature_names: Sequence[str] | None = None):
    """Classification uncertainty ``1 - max responsibility``: point size and colour grow with it (mclust's)."""
    X = _data(model, X)
    ax = _axes(ax)
    values = uncertainty(model, X)
    if X.shape[1] == 1:
        order = np.argsort(X[:, 0])
        ax.plot(X[order, 0], values[order], ".", color="C3", markersize=4)
        ax.set_xlabel(_feature_names(model, feature_names)[0])
        ax.set_ylabel("1 - max responsibility")
    else:
        points, means, covariances, xlabel, ylabel = _projection(model, X, features, feature_names)
        # On the scale of the largest possible uncertainty, 1 - 1/(number of classes), not of the largest seen:
        # a near-certain classification must not look uncertain. The colour map starts at a visible light
        # orange, so confident points do not vanish on white.
        from matplotlib.colors import ListedColormap

        ceiling = max(1.0 - 1.0 / _n_classes(model), 1e-12)
        colours = _pyplot().get_cmap("magma_r")(np.linspace(0.2, 1.0, 256))
        drawn = ax.scatter(points[:, 0], points[:, 1], c=values, cmap=ListedColormap(colours),
                           s=4 + 60 * np.minimum(values / ceiling, 1.0), vmin=0.0, vmax=ceiling, linewidths=0)
        _draw_ellipses(ax, means, covariances, ["0.3"] * len(means), radii=(2.0,))
        ax.figure.colorbar(drawn, ax=ax, label="1 - max responsibility")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    ax.set_title("Classification uncertainty")
    return ax


def _n_classes(model) -> int:
    """Columns of ``predict_proba``: the components, and the noise when the model has one."""
    return model.means_.shape[0] + int(getattr(model, "noise_volume_", None) is not None)


def plot_pairs(model, X, *, max_features: int = 6, feature_names: Sequence[str] | None = None):
    """A grid of every pair of the first ``max_features`` features with clusters and ellipses; returns the Figure."""
    X = _data(model, X)
    n_features = min(X.shape[1], max_features)
    if n_features < 2:
        raise ValueError("plot_pairs needs at least 2 features")
    plt = _pyplot()
    figure, grid = plt.subplots(n_features, n_features, figsize=(2.2 * n_features, 2.2 * n_features), squeeze=False)
    labels = model.predict(X)
    colours = _colours(model.means_.shape[0])
    covariances = _dense_covariances(model)
    names = _feature_names(model, feature_names)
    for i in range(n_features):
        for j in range(n_features):
            ax = grid[i, j]
            if i == j:
                ax.hist(X[:, i], bins=30, color="0.7")
            else:
                index = [j, i]
                ax.scatter(X[:, j], X[:, i], c=[colours[k] for k in labels], s=3, linewidths=0, alpha=0.7)
                _draw_ellipses(ax, model.means_[:, index], covariances[:, index][:, :, index], colours, radii=(2.0,))
            if i == n_features - 1:
                ax.set_xlabel(names[j], fontsize="small")
            if j == 0:
                ax.set_ylabel(names[i], fontsize="small")
            ax.tick_params(labelsize="x-small")
    figure.suptitle(f"Pairs: {model.covariance_type}, K={model.means_.shape[0]}")
    figure.tight_layout()
    return figure


def plot_criterion(records: Sequence[dict], *, criterion: str = "bic", ax=None, mclust_sign: bool = False):
    """A criterion across K, one line per covariance structure, the best candidate circled.

    Parameters
    ----------
    records : sequence of dict
        ``select_model(...).records``: each with ``covariance_type``, ``n_components``, ``failed`` and the
        criterion's value (``bic``, ``icl``, ``aic``, ``mclust_bic`` ...; lower is better except for
        ``mclust_bic`` and ``heldout_log_likelihood``). Candidates that did not converge (``converged`` False)
        are drawn as hollow markers.
    mclust_sign : bool, default=False
        Plot ``-criterion`` (mclust's convention: higher is better) for bic/icl/aic, to set beside R's plots.
        The rest of gaussmix (tables, report) shows scikit-learn's sign: lower is better.
    """
    ax = _axes(ax)
    higher_is_better = criterion in {"mclust_bic", "heldout_log_likelihood"}
    sign = -1.0 if mclust_sign and not higher_is_better else 1.0
    usable = [r for r in records if not r.get("failed") and r.get(criterion) is not None]
    if not usable:
        raise ValueError(f"no successful candidate has a {criterion!r} value")
    structures = list(dict.fromkeys(r["covariance_type"] for r in usable))
    markers = "os^vD<>pPh*X8d"
    for index, structure in enumerate(structures):
        rows = sorted((r for r in usable if r["covariance_type"] == structure), key=lambda r: r["n_components"])
        line, = ax.plot([r["n_components"] for r in rows], [sign * r[criterion] for r in rows],
                        marker=markers[index % len(markers)], linewidth=1.2, markersize=5, label=structure)
        stalled = [r for r in rows if r.get("converged") is False]
        if stalled:  # a hollow marker on top: the line's colour, a white face
            ax.plot([r["n_components"] for r in stalled], [sign * r[criterion] for r in stalled], linestyle="none",
                    marker=line.get_marker(), markersize=5, markerfacecolor="white", markeredgecolor=line.get_color())
    if any(r.get("converged") is False for r in usable):
        ax.plot([], [], linestyle="none", marker="o", markerfacecolor="white", markeredgecolor="0.3",
                label="hollow: not converged")
    best = (max if higher_is_better else min)(usable, key=lambda r: r[criterion])
    ax.plot(best["n_components"], sign * best[criterion], "o", markersize=14, markerfacecolor="none",
            markeredgecolor="red", markeredgewidth=2, label=f"best: {best['covariance_type']}, K={best['n_components']}")
    name = criterion.upper().replace("MCLUST_", "mclust ")
    better = "higher" if (higher_is_better or sign < 0) else "lower"
    ax.set_xlabel("number of components K")
    ax.set_ylabel(f"{'-' if sign < 0 else ''}{name} ({better} is better)")
    ax.set_title(f"Model selection by {name}")
    ax.set_xticks(sorted({r["n_components"] for r in usable}))
    ax.legend(fontsize="small", ncol=2 if len(structures) > 5 else 1)
    return ax


def plot_trace(model, *, ax=None):
    """EM trace: per-sample mean log-likelihood entering each iteration, and the returned parameters' value."""
    trace = np.asarray(getattr(model, "lower_bounds_", []), dtype=np.float64)
    if trace.size == 0:
        raise ValueError("this model has no EM trace (lower_bounds_ is empty)")
    ax = _axes(ax)
    iterations = np.arange(1, trace.size + 1)
    ax.plot(iterations, trace, marker="o", markersize=3, label="entering iteration")
    ax.axhline(model.lower_bound_, color="C3", linestyle="--", linewidth=1,
               label=f"returned parameters: {model.lower_bound_:.6f}")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # iterations are whole numbers
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("mean log-likelihood per sample")
    ax.set_title(f"EM trace ({model.n_iter_} iterations, converged={bool(model.converged_)})")
    ax.legend(fontsize="small")
    return ax


def plot_model(model, X, *, feature_names: Sequence[str] | None = None):
    """The overview for the data's dimension: a histogram (1-D), density contours (2-D) or pairs (d > 2)."""
    X = _data(model, X)
    if X.shape[1] == 1:
        return plot_histogram(model, X, feature_names=feature_names).figure
    if X.shape[1] == 2:
        return plot_density(model, X, feature_names=feature_names).figure
    return plot_pairs(model, X, feature_names=feature_names)
