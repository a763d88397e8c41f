"""missing='em' combined with a MAP prior and with a noise component (issue 15, item 6).

The references are independent of the code under test: the complete-data fits (prior without missing values,
noise without missing values), the maximum-likelihood fit (a vanishing prior), scipy's Gaussian densities and the
closed-form noise density of a partly observed row, ``pi_0 / prod_{j observed} (max_j - min_j)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

from gaussmix import GaussianMixture, StudentTMixture
from gaussmix.covariance import FactorAnalyzers
from gaussmix.engines import make_engine
from gaussmix.families.noise import NoiseBox, noise_box, observed_log_ranges
from gaussmix.families.priors import ConjugatePrior, default_prior

FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_")


def clusters(seed: int = 0, n: int = 150) -> np.ndarray:
    """Three separated clusters with unequal, correlated covariances in three dimensions."""
    rng = np.random.default_rng(seed)
    scale = np.array([[1.0, 0.4, 0.0], [0.0, 0.6, 0.3], [0.0, 0.0, 1.8]])
    return np.vstack([rng.normal(size=(n, 3)) @ scale * s + shift
                      for s, shift in ((1.0, [0, 0, 0]), (0.5, [8, 2, -3]), (0.8, [-4, 7, 5]))])


def with_holes(X: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """``X`` with entries missing completely at random; every row keeps one observed value."""
    rng = np.random.default_rng(seed)
    holes = X.copy()
    holes[rng.random(X.shape) < fraction] = np.nan
    empty = np.isnan(holes).all(axis=1)
    holes[empty, 0] = X[empty, 0]
    return holes


def sorted_fit(model) -> dict:
    """The fitted arrays of a model with per-component covariances, components in order of their first mean."""
    order = np.argsort(model.means_[:, 0])
    return {name: getattr(model, name)[order] for name in FITTED}


def is_monotone(trace) -> bool:
    trace = np.asarray(trace)
    return bool(np.all(np.diff(trace) >= -1e-10 * np.abs(trace[1:])))


# ---------------------------------------------------------------------------------------------------- prior
@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied", "spherical", "VEV"])
def test_prior_with_missing_on_complete_data_is_the_prior_fit(covariance_type):
    X = clusters()
    common = dict(covariance_type=covariance_type, prior="default", random_state=0)
    plain = GaussianMixture(3, **common).fit(X)
    missing = GaussianMixture(3, missing="em", **common).fit(X)
    for name in FITTED:
        np.testing.assert_array_equal(getattr(missing, name), getattr(plain, name), err_msg=name)
    assert missing.lower_bounds_ == plain.lower_bounds_


@pytest.mark.filterwarnings("ignore::gaussmix.exceptions.ConvergenceWarning")  # tol=0: runs to max_iter
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), fraction=st.floats(0.05, 0.4),
       covariance_type=st.sampled_from(["full", "diag", "tied", "spherical"]))
def test_map_trace_with_missing_values_is_monotone(seed, fraction, covariance_type):
    rng = np.random.default_rng(seed)
    X = with_holes(clusters(seed, n=40) * rng.uniform(0.5, 3.0, size=3), fraction, seed)
    model = GaussianMixture(3, covariance_type=covariance_type, missing="em", prior="default", reg_covar=0.0,
                            tol=0.0, max_iter=25, init_params="random", random_state=seed).fit(X)
    assert is_monotone(model.lower_bounds_), np.diff(model.lower_bounds_).min()
    assert np.all(np.isfinite(model.means_)) and np.all(np.isfinite(model.covariances_))


def test_map_bound_with_missing_values_is_the_observed_log_posterior():
    """lower_bound_ = (sum_n log p(x_o,n) + log p(theta)) / n, with log p(x_o) from score (its own test)."""
    from gaussmix.covariance import get_structure
    from gaussmix.params import MixtureParams

    X = with_holes(clusters(), 0.2, 1)
    prior = default_prior(np.where(np.isnan(X), 0.0, X), 3)  # any valid prior will do
    model = GaussianMixture(3, missing="em", prior=prior, tol=1e-8, max_iter=500, random_state=0).fit(X)
    params = MixtureParams(model.weights_, model.means_, model.covariances_, model.precisions_cholesky_, np.zeros(3))
    expected = model.score(X) + prior.log_density(params, get_structure("full")) / X.shape[0]
    assert model.lower_bound_ == pytest.approx(expected, rel=1e-9)


def test_vanishing_prior_with_missing_values_gives_maximum_likelihood():
    """Rows repeated a million times (weights): the prior's pseudo-observations vanish next to the data."""
    X = with_holes(clusters(3, n=40), 0.15, 3)
    weights = np.full(X.shape[0], 1e6)
    common = dict(missing="em", random_state=0, tol=1e-12, max_iter=500, reg_covar=0.0)
    ml = GaussianMixture(3, **common).fit(X, sample_weight=weights)
    map_fit = GaussianMixture(3, prior="default", **common).fit(X, sample_weight=weights)
    fit_ml, fit_map = sorted_fit(ml), sorted_fit(map_fit)
    np.testing.assert_allclose(fit_map["means_"], fit_ml["means_"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fit_map["covariances_"], fit_ml["covariances_"], rtol=1e-4, atol=1e-6)
    assert map_fit.score(X) == pytest.approx(ml.score(X), rel=1e-6)


def test_default_prior_on_data_with_missing_values_uses_the_observed_values():
    rng = np.random.default_rng(4)
    X = with_holes(clusters(4) + 1e4, 0.2, 4)  # an offset: the covariance must not come from raw moments
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    prior = default_prior(X, 3, weights)
    observed = ~np.isnan(X)
    for j in range(3):
        assert prior.mean[j] == pytest.approx(np.average(X[observed[:, j], j], weights=weights[observed[:, j]]))
        for i in range(3):
            both = observed[:, i] & observed[:, j]
            pairwise = np.cov(X[both][:, [i, j]], rowvar=False, aweights=weights[both], ddof=1)[0, 1]
            assert prior.scale[i, j] == pytest.approx(pairwise / 3 ** (2 / 3), rel=1e-8)
    prior.check(3)


# ---------------------------------------------------------------------------------------------------- noise
def with_outliers(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``clusters`` plus 60 uniform outliers far from them (label -1), shuffled; returns (X, labels)."""
    rng = np.random.default_rng(seed)
    X = clusters(seed)
    labels = np.repeat([0, 1, 2], X.shape[0] // 3)
    outliers = rng.uniform(-30, 30, size=(400, 3))
    far = np.min(np.linalg.norm(outliers[:, None, :] - np.array([[0, 0, 0], [8, 2, -3], [-4, 7, 5]])[None], axis=2),
                 axis=1) > 8
    outliers = outliers[far][:60]
    X = np.vstack([X, outliers])
    labels = np.concatenate([labels, np.full(outliers.shape[0], -1)])
    order = rng.permutation(X.shape[0])
    return X[order], labels[order]


def test_noise_with_missing_on_complete_data_is_the_noise_fit():
    X, _ = with_outliers()
    plain = GaussianMixture(3, noise="auto", random_state=0).fit(X)
    missing = GaussianMixture(3, noise="auto", missing="em", random_state=0).fit(X)
    for name in FITTED:
        np.testing.assert_array_equal(getattr(missing, name), getattr(plain, name), err_msg=name)
    assert (missing.noise_weight_, missing.noise_volume_) == (plain.noise_weight_, plain.noise_volume_)
    np.testing.assert_array_equal(missing.predict(X), plain.predict(X))


def test_partly_observed_outliers_are_noise_and_clusters_are_recovered():
    X, truth = with_outliers(1)
    holes = with_holes(X, 0.2, 1)
    # (k-means starts can put a centre on the outliers, a worse local maximum; trimmed k-means leaves them out)
    model = GaussianMixture(3, noise="auto", missing="em", init_params="trimmed-kmeans", random_state=0).fit(holes)
    labels = model.predict(holes)
    partial = np.isnan(holes).any(axis=1)
    outliers = truth == -1
    # A partly observed outlier is noise when what is observed of it is far from the clusters (one observed
    # coordinate inside a cluster's range is rightly ambiguous).
    centres = np.array([[0, 0, 0], [8, 2, -3], [-4, 7, 5]], dtype=float)
    gaps = np.nan_to_num(holes[:, None, :] - centres[None], nan=0.0)
    far = np.linalg.norm(gaps, axis=2).min(axis=1) > 8
    assert (partial & outliers & far).sum() >= 10  # the claim is about partly observed outliers
    assert np.mean(labels[outliers & partial & far] == -1) == 1.0
    assert np.mean(labels[outliers & partial] == -1) >= 0.85
    assert np.mean(labels[outliers & ~partial] == -1) >= 0.9
    assert np.mean(labels[~outliers] == -1) <= 0.02
    # The clusters: every true cluster maps to one component (rows observing one coordinate can be ambiguous),
    # and the means are those of each cluster's complete rows.
    inliers = ~outliers & (labels >= 0)
    for k in range(3):
        assert np.bincount(labels[inliers & (truth == k)], minlength=3).max() >= 0.95 * np.sum(inliers & (truth == k))
    order = np.argsort(model.means_[:, 0])
    complete_means = np.array([X[truth == k].mean(axis=0) for k in (2, 0, 1)])  # the complete rows' truth
    np.testing.assert_allclose(model.means_[order], complete_means, atol=0.25)
    assert model.noise_weight_ == pytest.approx(outliers.mean(), abs=0.03)
    assert is_monotone(model.lower_bounds_)


def test_noise_density_of_a_partly_observed_row_is_that_of_its_observed_box():
    """p(x_o) = sum_k pi_k N(x_o | mu_ko, Sigma_koo) + pi_0 / prod_{i observed} (max_i - min_i), and the noise
    posterior is the last term over the sum: predict_proba and score_samples against this formula."""
    X, _ = with_outliers(2)
    holes = with_holes(X, 0.15, 2)
    model = GaussianMixture(3, noise="auto", missing="em", random_state=0).fit(holes)
    ranges = np.nanmax(holes, axis=0) - np.nanmin(holes, axis=0)
    assert model.noise_volume_ == pytest.approx(np.prod(ranges), rel=1e-12)
    rows = np.array([[0.5, np.nan, -0.2], [np.nan, 25.0, np.nan], [20.0, -20.0, np.nan], [1.0, 2.0, 3.0]])
    for row, probabilities, log_density in zip(rows, model.predict_proba(rows), model.score_samples(rows)):
        observed = ~np.isnan(row)
        gaussian = [w * multivariate_normal(m[observed], c[np.ix_(observed, observed)]).pdf(row[observed])
                    for w, m, c in zip(model.weights_, model.means_, model.covariances_)]
        noise = model.noise_weight_ / np.prod(ranges[observed])  # missing coordinate j: its side drops out
        total = np.sum(gaussian) + noise
        np.testing.assert_allclose(probabilities, np.append(gaussian, noise) / total, rtol=1e-9, atol=1e-300)
        assert log_density == pytest.approx(np.log(total), rel=1e-10)


def test_noise_box_formulas():
    X = with_holes(clusters(5) * [1.0, 10.0, 0.1], 0.3, 5)
    engine = make_engine(X, np.ones(X.shape[0]), offset=np.nanmean(X, axis=0))
    ranges = np.nanmax(X, axis=0) - np.nanmin(X, axis=0)
    np.testing.assert_allclose(observed_log_ranges(engine), np.log(ranges), rtol=1e-12)
    box = noise_box("auto", engine)
    for j in range(3):
        observed = np.arange(3) != j
        assert box.log_density(observed) == pytest.approx(-np.log(np.prod(ranges[observed])), rel=1e-12)
    assert box.log_volume == pytest.approx(np.log(np.prod(ranges)), rel=1e-12)
    # A given volume V: the data's box, scaled alike along every side to volume V.
    scaled = noise_box(50.0, engine)
    assert scaled.log_volume == pytest.approx(np.log(50.0), rel=1e-12)
    np.testing.assert_allclose(np.exp(scaled.log_sides) / ranges, (50.0 / np.prod(ranges)) ** (1 / 3), rtol=1e-12)
    assert NoiseBox(np.log([2.0, 5.0])).log_density(np.array([False, True])) == pytest.approx(-np.log(5.0))


def test_rows_without_weight_do_not_stretch_the_noise_box():
    X = with_holes(clusters(6), 0.2, 6)
    far = np.vstack([X, [[1e3, np.nan, 0.0]]])
    weights = np.append(np.ones(X.shape[0]), 0.0)
    engine = make_engine(far, weights, offset=np.zeros(3))
    np.testing.assert_allclose(observed_log_ranges(engine), np.log(np.nanmax(X, axis=0) - np.nanmin(X, axis=0)))


def test_noise_with_a_given_volume_and_missing_values():
    X, truth = with_outliers(3)
    holes = with_holes(X, 0.2, 3)
    ranges = np.nanmax(holes, axis=0) - np.nanmin(holes, axis=0)
    model = GaussianMixture(3, noise=float(np.prod(ranges)), missing="em", init_params="trimmed-kmeans",
                            random_state=0).fit(holes)
    auto = GaussianMixture(3, noise="auto", missing="em", init_params="trimmed-kmeans", random_state=0).fit(holes)
    assert model.noise_volume_ == float(np.prod(ranges))
    np.testing.assert_allclose(sorted_fit(model)["means_"], sorted_fit(auto)["means_"], rtol=1e-8)
    assert np.mean(model.predict(holes)[truth == -1] == -1) >= 0.9


def test_noise_and_prior_together_with_missing_values():
    X, truth = with_outliers(4)
    holes = with_holes(X, 0.2, 4)
    model = GaussianMixture(3, noise="auto", prior="default", missing="em", init_params="trimmed-kmeans",
                            random_state=0).fit(holes)
    assert is_monotone(model.lower_bounds_)
    assert np.mean(model.predict(holes)[truth == -1] == -1) >= 0.9


# ------------------------------------------------------------------------------------------------ bad input
def test_hard_assignment_with_missing_values_is_still_refused_before_any_work():
    calls = []
    X = with_holes(clusters(), 0.1, 0)
    with pytest.raises(ValueError, match="hard' is not available with missing values"):
        GaussianMixture(3, missing="em", assignment="hard", callback=lambda *a: calls.append(a)).fit(X)
    assert calls == []


@pytest.mark.parametrize("prior, words", [
    (ConjugatePrior(shrinkage=-1.0, mean=np.zeros(3), dof=5.0, scale=np.eye(3)), "shrinkage"),
    (ConjugatePrior(shrinkage=0.01, mean=np.zeros(2), dof=5.0, scale=np.eye(3)), "prior mean"),
    (ConjugatePrior(shrinkage=0.01, mean=np.zeros(3), dof=1.0, scale=np.eye(3)), "dof"),
    ("flat", "prior must be"),
])
def test_bad_priors_with_missing_values_are_refused_before_any_work(prior, words):
    calls = []
    X = with_holes(clusters(), 0.1, 0)
    with pytest.raises(ValueError, match=words):
        GaussianMixture(3, missing="em", prior=prior, callback=lambda *a: calls.append(a)).fit(X)
    assert calls == []


@pytest.mark.parametrize("noise", ["uniform", -1.0, 0.0, np.inf])
def test_bad_noise_with_missing_values_is_refused(noise):
    with pytest.raises(ValueError, match="noise"):
        GaussianMixture(3, missing="em", noise=noise).fit(with_holes(clusters(), 0.1, 0))


@pytest.mark.filterwarnings("ignore::gaussmix.exceptions.ScaleWarning")  # the constant feature, before the refusal
def test_noise_on_a_feature_with_one_observed_value_is_refused_by_name():
    X = clusters()
    X[:, 2] = np.nan
    X[0, 2] = 1.0
    X[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"feature\(s\) \[2\] have a single observed value"):
        GaussianMixture(3, missing="em", noise="auto").fit(X)


# ------------------------------------------------------------------------- the table of docs/combinations.md
def _one_dimensional_noise_cdf():
    X = clusters()[:, :1]
    return GaussianMixture(1, noise="auto", random_state=0).fit(X).cdf(X[:3])


def _on_a_file(tmp_path, **options):
    path = tmp_path / "rows.npy"
    np.save(path, clusters())
    return GaussianMixture(2, **options).fit(path)


@pytest.mark.parametrize("refused, error, words", [
    (lambda tmp: GaussianMixture(2, noise="auto", freeze=["weights"]).fit(clusters()), ValueError,
     "frozen weights with a noise component are not supported"),
    (lambda tmp: _on_a_file(tmp, noise="auto"), ValueError, "measures the data's volume in memory"),
    (lambda tmp: _on_a_file(tmp, prior="default"), ValueError, "computed from data in memory"),
    (lambda tmp: _one_dimensional_noise_cdf(), NotImplementedError, "cdf does not support a noise component"),
    (lambda tmp: GaussianMixture(2, covariance_type=FactorAnalyzers(1), prior="default").fit(clusters()),
     NotImplementedError, "conjugate prior does not support covariance structure"),
    (lambda tmp: StudentTMixture(2, noise="auto"), TypeError, "unexpected keyword argument 'noise'"),
])
def test_refusals_listed_in_the_combinations_table(refused, error, words, tmp_path):
    with pytest.raises(error, match=words):
        refused(tmp_path)
