"""gaussmix.cli.plotting: the drawn geometry is the model's (ellipses, densities, projections, criteria)."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from gaussmix import GaussianMixture, plotting  # noqa: E402
from gaussmix.datasets import load_faithful  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def faithful_model():
    X, _ = load_faithful()
    return GaussianMixture(3, covariance_type="tied", random_state=0, n_init=2, max_iter=500).fit(X), X


def test_clusters_ellipses_are_the_covariances(faithful_model):
    model, X = faithful_model
    ax = plotting.plot_clusters(model, X)
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 2 * model.n_components  # 1 and 2 standard deviations
    for k in range(model.n_components):
        one_sd = ellipses[2 * k]
        np.testing.assert_allclose(one_sd.center, model.means_[k])
        eigenvalues = np.linalg.eigvalsh(model.covariances_)  # tied: one matrix
        np.testing.assert_allclose(sorted([one_sd.width, one_sd.height]), 2 * np.sqrt(eigenvalues), rtol=1e-10)
        # a point on the drawn ellipse is at Mahalanobis distance 1 from the mean
        path = one_sd.get_patch_transform().transform([[1.0, 0.0]])[0] - model.means_[k]
        assert path @ np.linalg.solve(model.covariances_, path) == pytest.approx(1.0, rel=1e-9)
    colours = ax.collections[0].get_facecolors()
    assert len({tuple(c) for c in colours}) == model.n_components


def test_projection_of_higher_dimensional_data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (300, 4)), rng.normal(4, 0.5, (200, 4))]) @ rng.normal(size=(4, 4))
    model = GaussianMixture(2, random_state=0).fit(X)
    centre, axes = plotting.principal_axes(X)
    # Principal components of the standardised data: unit directions once the columns are scaled by their sd.
    unit = axes * X.std(axis=0)[:, None]
    np.testing.assert_allclose(unit.T @ unit, np.eye(2), atol=1e-12)
    correlation = np.corrcoef(X, rowvar=False)
    np.testing.assert_allclose(correlation @ unit, unit * np.linalg.eigvalsh(correlation)[::-1][:2], atol=1e-10)
    ax = plotting.plot_clusters(model, X)
    ellipse = [p for p in ax.patches if isinstance(p, Ellipse)][0]
    projected = axes.T @ model.covariances_[0] @ axes
    np.testing.assert_allclose(ellipse.center, (model.means_[0] - centre) @ axes, atol=1e-10)
    np.testing.assert_allclose(sorted([ellipse.width, ellipse.height]), 2 * np.sqrt(np.linalg.eigvalsh(projected)))
    assert ax.get_xlabel().startswith("PC1 of the standardised data (")
    assert ax.get_legend() is not None and len(ax.get_legend().get_texts()) == model.n_components
    figure = plotting.plot_pairs(model, X)
    assert len(figure.axes) == 16 and len(figure.legends) == 1


def test_histogram_components_add_up_to_the_mixture():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-2, 2, 600), rng.normal(4, 1, 300), rng.normal(8, 0.2, 100)])[:, None]
    model = GaussianMixture(3, random_state=0, n_init=3, max_iter=500).fit(x)
    ax = plotting.plot_histogram(model, x)
    lines = ax.get_lines()
    components, mixture = lines[:3], lines[3]
    np.testing.assert_allclose(sum(line.get_ydata() for line in components), mixture.get_ydata(), rtol=1e-10)
    grid = mixture.get_xdata()
    assert np.trapezoid(mixture.get_ydata(), grid) == pytest.approx(1.0, abs=0.01)


def test_density_uncertainty_trace(faithful_model):
    model, X = faithful_model
    plotting.plot_density(model, X)
    values = plotting.uncertainty(model, X)
    np.testing.assert_allclose(values, 1 - model.predict_proba(X).max(axis=1))
    assert values.min() >= 0 and values.max() <= 1 - 1 / model.n_components
    ax = plotting.plot_uncertainty(model, X)
    points = ax.collections[0]
    np.testing.assert_allclose(points.get_array(), values)
    # the colour scale is that of the largest possible uncertainty, not of the largest seen
    assert (points.norm.vmin, points.norm.vmax) == (0.0, pytest.approx(1 - 1 / model.n_components))
    lightest = np.asarray(points.cmap(0.0)[:3])
    assert lightest @ [0.299, 0.587, 0.114] < 0.9  # a certain point is still visible on white
    ax = plotting.plot_trace(model)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), model.lower_bounds_)
    ax.figure.canvas.draw()
    assert all(float(tick).is_integer() for tick in ax.get_xticks())  # whole iterations
    with pytest.raises(ValueError, match="1-D data"):
        plotting.plot_histogram(model, X)
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_clusters(model, X[:, :1])


def test_criterion_marks_the_best():
    records = [{"covariance_type": c, "n_components": k, "bic": b, "failed": False}
               for c, values in [("full", [10.0, 5.0, 7.0]), ("diag", [11.0, 6.0, 4.0])]
               for k, b in zip((1, 2, 3), values)]
    records.append({"covariance_type": "tied", "n_components": 1, "bic": None, "failed": True})
    ax = plotting.plot_criterion(records, criterion="bic", mclust_sign=True)
    full, diag, best = ax.get_lines()
    np.testing.assert_allclose(full.get_ydata(), [-10, -5, -7])
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (3, -4.0)
    assert "diag, K=3" in best.get_label()
    with pytest.raises(ValueError, match="no successful candidate"):
        plotting.plot_criterion(records[-1:], criterion="bic")


def test_correlation_heat_maps_one_per_component_or_one_shared(faithful_model):
    model, X = faithful_model  # tied: one covariance for all components
    figure = plotting.plot_correlations(model, feature_names=["eruptions", "waiting"])
    images = [image for ax in figure.axes for image in ax.get_images()]
    assert len(images) == 1
    covariance = model.covariances_
    expected = covariance / np.sqrt(np.outer(np.diag(covariance), np.diag(covariance)))
    np.testing.assert_allclose(images[0].get_array(), expected, rtol=1e-12)
    full = GaussianMixture(3, random_state=0).fit(X)
    figure = plotting.plot_correlations(full)
    assert len([ax for ax in figure.axes if ax.get_images()]) == 3
    assert any(ax.get_ylabel() == "correlation" for ax in figure.axes)  # the colour bar says what colours mean


def test_clusters_in_the_mclustdr_directions():
    from gaussmix import mixture_directions

    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (200, 4)), rng.normal(0, 1, (200, 4)) + [0, 0, 5, 0]])
    model = GaussianMixture(2, random_state=0).fit(X)
    directions = mixture_directions(model, X, n_directions=2)
    ax = plotting.plot_clusters(model, X, projection="directions")
    ellipse = [p for p in ax.patches if isinstance(p, Ellipse)][0]
    np.testing.assert_allclose(ellipse.center, (model.means_[0] - X.mean(axis=0)) @ directions.basis, atol=1e-10)
    projected = directions.basis.T @ model.covariances_[0] @ directions.basis
    np.testing.assert_allclose(sorted([ellipse.width, ellipse.height]), 2 * np.sqrt(np.linalg.eigvalsh(projected)))
    assert ax.get_xlabel().startswith("MclustDR direction 1") and ax.get_ylabel().startswith("MclustDR direction 2")
    np.testing.assert_allclose(ax.collections[0].get_offsets(), directions.projections)
    with pytest.raises(ValueError, match="projection"):
        plotting.plot_clusters(model, X, projection="tsne")
