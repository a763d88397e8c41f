"""Plots of fitted mixtures, in the spirit of R's mclust (needs matplotlib: ``pip install 'gaussmix[plot]'``).

Every function takes a fitted model (and data where it needs them; ``feature_names`` labels the axes when
the model has no ``feature_names_in_``), draws on ``ax`` (a new figure when None) and returns the ``Axes``
(or the ``Figure`` for multi-panel plots), so plots compose and can be saved::

    from gaussmix import plotting
    ax = plotting.plot_clusters(model, X)
    ax.figure.savefig("clusters.png")

=====================  ==============================================================================
plot_clusters          points coloured by cluster with covariance ellipses (2-D; d > 2: first two PCs of the
                       standardised data, or ``projection="directions"``: the first two MclustDR directions)
plot_density           log-density contours over the data (2-D)
plot_histogram         histogram with the weighted component densities and the mixture density (1-D)
plot_uncertainty       1 - max responsibility per point (large = ambiguous)
plot_pairs             every pair of features, points and ellipses (d > 6: the 6 that separate the components
                       best, by :func:`separation_ratios`)
plot_correlations      a heat map of each component's correlation matrix (for wide data, instead of numbers)
plot_criterion         BIC/ICL (or any criterion) across K, one line per covariance structure
plot_trace             the EM trace: mean log-likelihood per iteration
plot_model             the natural overview for the data's dimension
=====================  ==============================================================================

Every plot that colours components has a legend naming them. Ellipses are drawn at 1 and 2 standard deviations
(Mahalanobis radius) of each component. For d > 2 the data are projected on the first two principal components
of the *standardised* data (each column scaled to unit variance, so that a column in large units, such as wine's
``proline``, does not make the first component by itself); the plot shows each component's projected mean
``A^T (mu - c)`` and covariance ``A^T Sigma A``, which is exactly the distribution of the projected component.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["PROJECTIONS", "plot_clusters", "plot_density", "plot_histogram", "plot_uncertainty", "plot_pairs",
           "plot_correlations", "plot_criterion", "plot_trace", "plot_model", "principal_axes", "pairs_features",
           "separation_ratios", "uncertainty", "PAIRS_MAX_FEATURES"]

PAIRS_MAX_FEATURES = 6
"""Most variables a pairs plot shows: 6 x 6 panels still read at the width of a page."""


def _pyplot():
    try:
        import matplotlib.pyplot as plt  # without a display matplotlib falls back to Agg by itself
    except ImportError:
        raise ImportError("gaussmix.cli.plotting needs matplotlib: pip install 'gaussmix[plot]'") from None
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


def principal_axes(X: np.ndarray, n_axes: int = 2, standardise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Centre and directions of the first ``n_axes`` principal components of ``X``: scores are ``(X - centre) @ axes``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_axes : int, default=2
    standardise : bool, default=True
        Principal components of the standardised data (each column divided by its standard deviation; a constant
        column is left as it is), so that the units of a column do not decide the picture. ``axes`` then maps the
        original columns to the scores: it is the unit directions divided row-wise by the standard deviations.

    Returns
    -------
    centre : array of shape (n_features,)
        The column means.
    axes : array of shape (n_features, n_axes)
    """
    centre = X.mean(axis=0)
    scale = X.std(axis=0) if standardise else np.ones(X.shape[1])
    scale = np.where(scale > 0, scale, 1.0)
    _, _, vt = np.linalg.svd((X - centre) / scale, full_matrices=False)
    directions = vt[:n_axes].T
    # A sign convention, so that plots do not flip between runs: the largest loading of each axis is positive.
    signs = np.sign(directions[np.abs(directions).argmax(axis=0), np.arange(directions.shape[1])])
    return centre, directions * signs / scale[:, None]


def _explained(X: np.ndarray, axes: np.ndarray, standardise: bool = True) -> np.ndarray:
    """The share of the (standardised) total variance that each axis's scores carry."""
    scale = X.std(axis=0) if standardise else np.ones(X.shape[1])
    total = float(np.sum(scale > 0)) if standardise else float(X.var(axis=0).sum())
    return ((X - X.mean(axis=0)) @ axes).var(axis=0) / max(total, 1e-300)


PROJECTIONS = ("pca", "directions")
"""How :func:`plot_clusters` maps d > 2 features to the plane: principal components of the standardised data, or
the first two of Scrucca's (2010) directions (:func:`gaussmix.mixture_directions`, mclust's MclustDR)."""


def _projection(model, X, features, feature_names=None, projection: str = "pca"):
    """2-D coordinates of the data, the means and the covariances, plus axis labels."""
    X = _data(model, X)
    means, covariances = model.means_, _dense_covariances(model)
    names = _feature_names(model, feature_names)
    if projection not in PROJECTIONS:
        raise ValueError(f"projection must be one of {PROJECTIONS}, got {projection!r}")
    if X.shape[1] < 2:
        raise ValueError("this plot needs at least 2 features; use plot_histogram for 1-D data")
    if features is not None or (X.shape[1] == 2 and projection == "pca"):
        i, j = features if features is not None else (0, 1)
        index = [i, j]
        return (X[:, index], means[:, index], covariances[:, index][:, :, index], names[i], names[j])
    if projection == "directions":
        from ..inference.directions import mixture_directions

        found = mixture_directions(model, X, n_directions=2)
        centre, axes = found.centre, found.basis
        labels = [f"MclustDR direction {i + 1} (eigenvalue {found.eigenvalues[i]:.3g})" for i in range(2)]
    else:
        centre, axes = principal_axes(X)
        share = _explained(X, axes)
        labels = [f"PC{i + 1} of the standardised data ({100 * share[i]:.0f}% of variance)" for i in range(2)]
    return ((X - centre) @ axes, (means - centre) @ axes, np.einsum("di,kde,ej->kij", axes, covariances, axes),
            *labels)


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


def _component_handles(model, colours, marker="o"):
    """Legend entries, one per component: its colour and weight."""
    from matplotlib.lines import Line2D

    return [Line2D([], [], linestyle="none", marker=marker, markersize=6, color=colour,
                   label=f"component {k} (weight {weight:.2f})")
            for k, (colour, weight) in enumerate(zip(colours, model.weights_))]


def _legend(ax, model, colours, marker="o", **options) -> None:
    n_components = len(colours)
    ax.legend(handles=_component_handles(model, colours, marker), fontsize="small", ncol=1 if n_components <= 5 else 2,
              framealpha=0.85, **options)


def plot_clusters(model, X, *, ax=None, features: Sequence[int] | None = None, point_size: float = 8.0,
                  feature_names: Sequence[str] | None = None, projection: str = "pca"):
    """Scatter of ``X`` coloured by ``model.predict(X)`` with 1- and 2-sd covariance ellipses.

    Parameters
    ----------
    model : fitted GaussianMixture
    X : array of shape (n_samples, n_features), n_features >= 2
    features : pair of int, optional
        Columns to plot; default the two features (d = 2) or a projection (d > 2).
    projection : {"pca", "directions"}, default="pca"
        Without ``features``, for d > 2: ``"pca"``, the first two principal components of the standardised data
        (see :func:`principal_axes`); ``"directions"``, the first two directions of Scrucca (2010), those along
        which the components' means and covariances differ most (:func:`gaussmix.mixture_directions`; also for
        d = 2, where they are a change of axes).
    """
    ax = _axes(ax)
    labels = model.predict(_data(model, X))
    points, means, covariances, xlabel, ylabel = _projection(model, X, features, feature_names, projection)
    colours = _colours(model.means_.shape[0])
    ax.scatter(points[:, 0], points[:, 1], c=[colours[k] for k in labels], s=point_size, alpha=0.7, linewidths=0)
    _draw_ellipses(ax, means, covariances, colours)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"Clusters: {model.covariance_type}, K={model.means_.shape[0]}")
    ax.autoscale_view()
    _legend(ax, model, colours, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: hides no point
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
    colours = _colours(model.means_.shape[0])
    ax.scatter(model.means_[:, 0], model.means_[:, 1], c=colours, marker="X", s=90, edgecolors="white", linewidths=1)
    _legend(ax, model, colours, marker="X", loc="best")  # the markers: each component's mean
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
        from matplotlib.lines import Line2D

        ax.legend(handles=[Line2D([], [], color="0.3", label="2-sd ellipse of each component"),
                           Line2D([], [], color="black", marker="x", linestyle="none", label="component mean")],
                  fontsize="small", loc="best", framealpha=0.85)
        ax.figure.colorbar(drawn, ax=ax, label="1 - max responsibility")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    ax.set_title("Classification uncertainty")
    return ax


def _n_classes(model) -> int:
    """Columns of ``predict_proba``: the components, and the noise when the model has one."""
    return model.means_.shape[0] + int(getattr(model, "noise_volume_", None) is not None)


def separation_ratios(model) -> np.ndarray:
    """How well each variable separates the components: between- over within-component variance, shape (d,).

    For variable ``j``, with weights ``w_k``, means ``mu_kj``, their weighted average ``m_j`` and variances
    ``Sigma_k,jj`` (a one-way ANOVA F ratio written with the fitted parameters; Fisher's criterion)::

        ratio_j = sum_k w_k (mu_kj - m_j)^2 / sum_k w_k Sigma_k,jj

    It does not depend on the variable's units. Zero for every variable when K = 1.
    """
    weights = model.weights_ / model.weights_.sum()
    means = model.means_
    between = weights @ (means - weights @ means) ** 2
    within = weights @ np.diagonal(_dense_covariances(model), axis1=1, axis2=2)
    return between / np.maximum(within, np.finfo(float).tiny)


def pairs_features(model, max_features: int = PAIRS_MAX_FEATURES) -> np.ndarray:
    """The variables a pairs plot shows: all if there are at most ``max_features``, else the ``max_features`` with
    the largest :func:`separation_ratios` (in the data's column order; ties go to the earlier column)."""
    n_features = model.means_.shape[1]
    if n_features <= max_features:
        return np.arange(n_features)
    ranking = np.argsort(-separation_ratios(model), kind="stable")
    return np.sort(ranking[:max_features])


def plot_pairs(model, X, *, features: Sequence[int] | None = None, max_features: int = PAIRS_MAX_FEATURES,
               feature_names: Sequence[str] | None = None):
    """A grid of every pair of ``features`` with clusters, 2-sd ellipses and a legend; returns the Figure.

    Parameters
    ----------
    features : sequence of int, optional
        Columns to show; default :func:`pairs_features` (all columns, or the ``max_features`` that separate the
        components best). The title says how many of the columns are shown and how they were chosen.
    """
    X = _data(model, X)
    features = pairs_features(model, max_features) if features is None else np.asarray(features, dtype=int)
    n_shown = len(features)
    if n_shown < 2:
        raise ValueError("plot_pairs needs at least 2 features")
    plt = _pyplot()
    size = 2.0 * n_shown
    figure, grid = plt.subplots(n_shown, n_shown, figsize=(size, size + 0.6), squeeze=False)
    labels = model.predict(X)
    colours = _colours(model.means_.shape[0])
    covariances = _dense_covariances(model)
    names = _feature_names(model, feature_names)
    for row, i in enumerate(features):
        for column, j in enumerate(features):
            ax = grid[row, column]
            if i == j:
                ax.hist([X[labels == k, i] for k in range(len(colours))], bins=25, color=colours, stacked=True)
            else:
                index = [j, i]
                ax.scatter(X[:, j], X[:, i], c=[colours[k] for k in labels], s=3, linewidths=0, alpha=0.7)
                _draw_ellipses(ax, model.means_[:, index], covariances[:, index][:, :, index], colours, radii=(2.0,))
            if row == n_shown - 1:
                ax.set_xlabel(names[j], fontsize="small")
            if column == 0:
                ax.set_ylabel(names[i], fontsize="small")
            ax.tick_params(labelsize="x-small")
    title = f"Pairs: {model.covariance_type}, K={model.means_.shape[0]}"
    if n_shown < X.shape[1]:
        title += f"; {n_shown} of {X.shape[1]} variables"
    figure.suptitle(title)
    figure.legend(handles=_component_handles(model, colours), loc="upper center", bbox_to_anchor=(0.5, 0.975),
                  ncol=min(len(colours), 5), fontsize="small", frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.45 * (1 + (len(colours) - 1) // 5) / (size + 0.6)))
    return figure


def plot_correlations(model, *, feature_names: Sequence[str] | None = None, max_labels: int = 20):
    """Heat maps of each component's correlation matrix (one, when all components share a covariance).

    For wide data a picture of a d x d matrix reads where its numbers do not. Returns the Figure; the colour scale
    runs from -1 (blue) to 1 (red), with a colour bar. With more than ``max_labels`` variables only every
    ``ceil(d / max_labels)``-th is labelled.
    """
    plt = _pyplot()
    covariances = _dense_covariances(model)
    n_components, n_features = model.means_.shape
    shared = model._structure.equal_covariances
    shown = range(1) if shared else range(n_components)
    sd = np.sqrt(np.diagonal(covariances, axis1=1, axis2=2))
    sd = np.where(sd > 0, sd, 1.0)  # a variance of exactly zero: its row of covariances is zero too
    correlations = covariances / (sd[:, :, None] * sd[:, None, :])
    n_columns = min(len(shown), 3)
    n_rows = -(-len(shown) // n_columns)
    panel = 6.0 if len(shown) == 1 else 3.6  # one matrix gets the room of several
    figure, grid = plt.subplots(n_rows, n_columns, figsize=(panel * n_columns + 1.6, panel * n_rows + 1.2),
                                squeeze=False, layout="constrained")
    names = _feature_names(model, feature_names)
    step = -(-n_features // max_labels)
    ticks = np.arange(0, n_features, step)
    colours = _colours(n_components)
    for index, ax in enumerate(grid.ravel()):
        if index >= len(shown):
            ax.set_visible(False)
            continue
        image = ax.imshow(correlations[index], cmap="RdBu_r", vmin=-1.0, vmax=1.0, interpolation="nearest")
        column = index % n_columns
        # Names on the outer edges only (left column; the lowest panel of each column), so none runs into a neighbour.
        lowest = index + n_columns >= len(shown)
        ax.set_xticks(ticks, [names[t] for t in ticks] if lowest else [], rotation=90, fontsize="x-small")
        ax.set_yticks(ticks, [names[t] for t in ticks] if column == 0 else [], fontsize="x-small")
        if shared:
            ax.set_title("shared by all components", fontsize="small")
        else:
            ax.set_title(f"component {index} (weight {model.weights_[index]:.2f})", fontsize="small",
                         color=colours[index], fontweight="bold")
    figure.colorbar(image, ax=grid.ravel().tolist(), label="correlation", shrink=0.6)
    figure.suptitle(f"Correlations within components: {model.covariance_type}, K={n_components}")
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
    from ..selection import candidate_label

    ax = _axes(ax)
    higher_is_better = criterion in {"mclust_bic", "heldout_log_likelihood"}
    sign = -1.0 if mclust_sign and not higher_is_better else 1.0
    usable = [r for r in records if not r.get("failed") and r.get(criterion) is not None]
    if not usable:
        raise ValueError(f"no successful candidate has a {criterion!r} value")
    structures = list(dict.fromkeys(candidate_label(r) for r in usable))
    markers = "os^vD<>pPh*X8d"
    for index, structure in enumerate(structures):
        rows = sorted((r for r in usable if candidate_label(r) == structure), key=lambda r: r["n_components"])
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
            markeredgecolor="red", markeredgewidth=2, label=f"best: {candidate_label(best)}, K={best['n_components']}")
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
