"""StudentTMixture: the t density, the ECM fit (monotone, every structure, every engine), the Gaussian limit,
robustness to gross outliers, sampling, outlier scores and model files (issue 20)."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_t

from gaussmix import GaussianMixture, StudentTMixture, load, save
from gaussmix.covariance import ALL_MODEL_NAMES
from gaussmix.families.student_t import MAX_DOF, update_dof

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CENTRES = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]])


@pytest.fixture(scope="module")
def clusters_with_outliers():
    """Issue 20's data: three unit-variance clusters of 150 rows and 25 rows uniform over a box 10x wider."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 1.0, size=(150, 2)) for c in CENTRES])
    low, high = X.min(axis=0), X.max(axis=0)
    span = high - low
    outliers = rng.uniform(low - 4.5 * span, high + 4.5 * span, size=(25, 2))
    return X, np.vstack([X, outliers])


def worst_mean_error(means):
    return max(np.min(np.linalg.norm(means - centre, axis=1)) for centre in CENTRES)


def test_the_density_is_scipys_multivariate_t(clusters_with_outliers):
    X, _ = clusters_with_outliers
    model = StudentTMixture(3, random_state=0).fit(X)
    expected = np.log(sum(w * multivariate_t(m, c, df=nu).pdf(X) for w, m, c, nu in
                          zip(model.weights_, model.means_, model.covariances_, model.dof_)))
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)


def test_gross_outliers_do_not_pull_the_means(clusters_with_outliers):
    _, X = clusters_with_outliers
    robust = StudentTMixture(3, random_state=0).fit(X)
    gaussian = GaussianMixture(3, init_params="hc", random_state=0).fit(X)
    assert worst_mean_error(robust.means_) < 0.3
    assert worst_mean_error(gaussian.means_) > worst_mean_error(robust.means_)
    assert np.all(robust.dof_ < 30)  # the outliers are seen as heavy tails
    # Rows far from every cluster score above every row near a centre, by both kinds of score (some of the
    # uniform rows fall among the clusters: those are not told apart, nor should they be).
    distance = np.min(np.linalg.norm(X[:, None, :] - CENTRES[None], axis=2), axis=1)
    far, near = distance > 6.0, distance < 2.0
    assert far.sum() >= 15
    for kind in ("mahalanobis", "weight", "density"):
        scores = robust.outlier_scores(X, kind=kind, random_state=0)
        assert scores[far].min() > scores[near].max(), kind
        assert np.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", *ALL_MODEL_NAMES])
def test_the_log_likelihood_never_decreases_for_every_structure(clusters_with_outliers, covariance_type):
    _, X = clusters_with_outliers
    model = StudentTMixture(3, covariance_type=covariance_type, random_state=0, tol=1e-6, max_iter=300).fit(X)
    trace = np.asarray(model.lower_bounds_)
    assert np.all(np.diff(trace) >= -1e-12 * np.abs(trace[1:])), covariance_type
    assert model.lower_bound_ == pytest.approx(model.score(X), rel=1e-10)
    assert np.all((model.dof_ > 0) & np.isfinite(model.dof_))


def test_large_fixed_dof_is_the_gaussian_mixture(clusters_with_outliers):
    X, _ = clusters_with_outliers
    start = dict(means_init=CENTRES, tol=1e-12, max_iter=1000, init_params="kmeans")
    gaussian = GaussianMixture(3, **start).fit(X)
    for dof, tolerance in ((1e3, 5e-3), (MAX_DOF, 5e-4)):
        t = StudentTMixture(3, dof=dof, **start).fit(X)
        np.testing.assert_allclose(t.means_, gaussian.means_, atol=tolerance)
        np.testing.assert_allclose(t.covariances_, gaussian.covariances_, atol=tolerance)
        assert t.score(X) == pytest.approx(gaussian.score(X), abs=tolerance)


def test_the_dof_update_solves_its_equation():
    from scipy.special import digamma

    dof, counts, terms = np.array([5.0, 50.0]), np.array([100.0, 200.0]), np.array([-130.0, -205.0])
    new = update_dof(dof, counts, terms, n_features=2)
    residual = (1.0 + terms / counts + digamma((dof + 2) / 2) - np.log((dof + 2) / 2)
                - digamma(new / 2) + np.log(new / 2))
    np.testing.assert_allclose(residual, 0.0, atol=1e-9)
    # Every u = 1 (no row down-weighted) at a nearly Gaussian start: the root lies beyond the bound.
    assert update_dof(np.array([1e6]), np.array([100.0]), np.array([-100.0]), n_features=2)[0] == MAX_DOF


def test_sample_weights_act_like_repeated_rows(clusters_with_outliers):
    _, X = clusters_with_outliers
    weights = np.random.default_rng(1).integers(1, 3, size=X.shape[0])
    start = dict(means_init=CENTRES, tol=1e-10, max_iter=500, init_params="kmeans")
    weighted = StudentTMixture(3, **start).fit(X, sample_weight=weights)
    repeated = StudentTMixture(3, **start).fit(np.repeat(X, weights, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(weighted.dof_, repeated.dof_, rtol=1e-6)


@pytest.mark.parametrize("engine", ["ooc", "dask"])
def test_every_engine_gives_the_in_memory_fit(clusters_with_outliers, tmp_path, engine):
    _, X = clusters_with_outliers
    start = dict(means_init=CENTRES, tol=1e-8, max_iter=200, init_params="kmeans", chunk_size=100)
    in_memory = StudentTMixture(3, **start).fit(X)
    if engine == "ooc":
        np.save(tmp_path / "X.npy", X)
        source = str(tmp_path / "X.npy")
    else:
        da = pytest.importorskip("dask.array")
        source = da.from_array(X, chunks=(100, -1))
    chunked = StudentTMixture(3, **start).fit(source)
    np.testing.assert_allclose(chunked.means_, in_memory.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(chunked.dof_, in_memory.dof_, rtol=1e-8)


def test_samples_have_the_fitted_tails():
    rng = np.random.default_rng(0)
    model = StudentTMixture(1, dof=3.0, random_state=0).fit(rng.standard_t(3, size=(2000, 1)))
    draws, labels = model.set_params(random_state=1).sample(200_000)
    assert draws.shape == (200_000, 1) and np.all(labels == 0)
    # The 99.5% quantile of a t_3 is 5.84 scale units (a Gaussian's would be 2.58).
    scale = np.sqrt(model.covariances_[0, 0, 0])
    quantile = np.quantile(np.abs(draws[:, 0] - model.means_[0, 0]), 0.99) / scale
    assert quantile == pytest.approx(5.84, rel=0.05)


def test_a_model_file_round_trips(clusters_with_outliers, tmp_path):
    _, X = clusters_with_outliers
    model = StudentTMixture(3, covariance_type="VEV", random_state=0).fit(X)
    save(model, tmp_path / "t.npz")
    loaded = load(tmp_path / "t.npz")
    assert type(loaded) is StudentTMixture
    np.testing.assert_array_equal(loaded.dof_, model.dof_)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


def test_bic_counts_the_learned_degrees_of_freedom(clusters_with_outliers):
    _, X = clusters_with_outliers
    learned = StudentTMixture(3, random_state=0).fit(X)
    shared = StudentTMixture(3, random_state=0, dof_shared=True).fit(X)
    fixed = StudentTMixture(3, random_state=0, dof=4.0).fit(X)
    gaussian_count = GaussianMixture(3).fit(X)._n_parameters()
    assert learned._n_parameters() == gaussian_count + 3
    assert shared._n_parameters() == gaussian_count + 1 and np.ptp(shared.dof_) == 0
    assert fixed._n_parameters() == gaussian_count and np.all(fixed.dof_ == 4.0)
    assert learned.bic(X) == pytest.approx(-2 * learned.score(X) * len(X) + (gaussian_count + 3) * np.log(len(X)))


@pytest.mark.parametrize("params, match", [
    (dict(dof="guess"), "dof must be 'learn' or a positive number"),
    (dict(dof=0.0), "dof must be 'learn' or a number in"),
    (dict(dof_init=-1.0), "dof_init must be a number"),
    (dict(dof_shared="yes"), "dof_shared must be True or False"),
])
def test_bad_settings_are_named(clusters_with_outliers, params, match):
    X, _ = clusters_with_outliers
    with pytest.raises(ValueError, match=match):
        StudentTMixture(2, **params).fit(X)


def test_one_component_with_fixed_dof_is_mass_cov_trob_on_stackloss(tmp_path):
    """Venables & Ripley's robust t estimate (MASS::cov.trob, nu = 5) of R's stackloss data, computed by R."""
    import shutil
    import subprocess

    import pandas as pd

    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed")
    script = (f'suppressMessages(library(MASS)); write.csv(stackloss, "{tmp_path}/stackloss.csv", row.names=FALSE); '
              'r <- cov.trob(stackloss, nu=5, maxit=1000, tol=1e-12); '
              f'write.csv(rbind(r$center, r$cov), "{tmp_path}/trob.csv", row.names=FALSE)')
    if subprocess.run(["Rscript", "-e", script], capture_output=True, timeout=120).returncode != 0:
        pytest.skip("R's MASS package is not installed")
    X = pd.read_csv(tmp_path / "stackloss.csv").to_numpy(float)
    reference = pd.read_csv(tmp_path / "trob.csv").to_numpy(float)
    model = StudentTMixture(1, dof=5.0, reg_covar=0.0, tol=1e-14, max_iter=5000, init_params="kmeans").fit(X)
    np.testing.assert_allclose(model.means_[0], reference[0], rtol=1e-7)  # R stops at its own tolerance
    np.testing.assert_allclose(model.covariances_[0], reference[1:], rtol=1e-6)


def test_select_model_puts_the_t_family_beside_the_gaussian(clusters_with_outliers):
    from gaussmix import select_model

    _, X = clusters_with_outliers
    result = select_model(X, n_components=[2, 3], covariance_types=["VVV", "EEE"], family=["gaussian", "t"],
                          random_state=0, n_jobs=1)
    assert len(result.records) == 8
    assert {(r["family"], r["covariance_type"]) for r in result.records} == {
        ("gaussian", "VVV"), ("gaussian", "EEE"), ("t", "VVV"), ("t", "EEE")}
    # With 5 % gross outliers the t family fits them better than any Gaussian candidate.
    assert result.best_params_["family"] == "t"
    assert isinstance(result.best_estimator_, StudentTMixture)
    summary = result.summary()
    assert "t:VVV" in summary and "t:EEE" in summary
    t_record = next(r for r in result.records if r["family"] == "t" and r["covariance_type"] == "VVV"
                    and r["n_components"] == 3)
    refit = StudentTMixture(3, covariance_type="VVV", init_params="trimmed-kmeans", random_state=0)
    assert t_record["n_parameters"] == refit.fit(X)._n_parameters()
    with pytest.raises(ValueError, match="family must be one of"):
        select_model(X, n_components=2, family="cauchy")


def test_one_dimensional_cdf_and_ppf_are_the_t_mixtures():
    from scipy.stats import t as t_distribution

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.standard_t(3, size=400), 8.0 + 2.0 * rng.standard_t(6, size=200)])[:, None]
    model = StudentTMixture(2, random_state=0).fit(X)
    scales = np.sqrt(model.covariances_[:, 0, 0])
    x = np.linspace(-10, 20, 13)
    expected = sum(w * t_distribution.cdf((x - m) / s, nu)
                   for w, m, s, nu in zip(model.weights_, model.means_[:, 0], scales, model.dof_))
    np.testing.assert_allclose(model.cdf(x), expected, rtol=1e-12)
    q = np.array([1e-6, 0.01, 0.3, 0.5, 0.9, 0.999])
    np.testing.assert_allclose(model.cdf(model.ppf(q)), q, rtol=1e-9)
    assert model.ppf(0.0) == -np.inf and model.ppf(1.0) == np.inf
    # The HDR scores of the base class follow the t density.
    assert model.outlier_scores(np.array([[100.0]]), random_state=0)[0] > 0.999


@pytest.fixture(scope="module")
def with_holes(clusters_with_outliers):
    _, X = clusters_with_outliers
    rng = np.random.default_rng(5)
    holes = X.copy()
    missing = rng.random(X.shape) < 0.15
    missing[missing.all(axis=1)] = False
    holes[missing] = np.nan
    return holes


def test_missing_values_use_the_t_marginal_of_the_observed_coordinates(with_holes):
    model = StudentTMixture(3, missing="em", random_state=0, tol=1e-7, max_iter=300).fit(with_holes)
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12 * np.abs(np.asarray(model.lower_bounds_[1:])))
    assert worst_mean_error(model.means_) < 0.3
    expected = []
    for row in with_holes:
        seen = ~np.isnan(row)
        expected.append(np.log(sum(
            w * multivariate_t(m[seen], c[np.ix_(seen, seen)], df=nu).pdf(row[seen])
            for w, m, c, nu in zip(model.weights_, model.means_, model.covariances_, model.dof_))))
    np.testing.assert_allclose(model.score_samples(with_holes), expected, rtol=1e-10)
    assert model.lower_bound_ == pytest.approx(np.mean(expected), rel=1e-10)


def test_missing_values_with_large_fixed_dof_are_the_gaussian_fit(with_holes):
    start = dict(means_init=CENTRES, tol=1e-10, max_iter=1000, init_params="kmeans", missing="em")
    gaussian = GaussianMixture(3, **start).fit(with_holes)
    t = StudentTMixture(3, dof=MAX_DOF, **start).fit(with_holes)
    np.testing.assert_allclose(t.means_, gaussian.means_, atol=5e-3)
    assert t.score(with_holes) == pytest.approx(gaussian.score(with_holes), abs=5e-3)


def test_missing_values_out_of_core_equal_in_memory(with_holes, tmp_path):
    start = dict(means_init=CENTRES, tol=1e-8, max_iter=200, init_params="kmeans", missing="em", chunk_size=100)
    np.save(tmp_path / "holes.npy", with_holes)
    in_memory = StudentTMixture(3, **start).fit(with_holes)
    out_of_core = StudentTMixture(3, **start).fit(str(tmp_path / "holes.npy"))
    np.testing.assert_allclose(out_of_core.means_, in_memory.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(out_of_core.dof_, in_memory.dof_, rtol=1e-8)
