"""EM with values missing at random: the E-step against a row-by-row oracle, fits against complete data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from constrained_models import random_constrained
from random_models import dense, missing_completely_at_random, mixture_sample, random_covariances

from test_degenerate import two_blobs_and_an_isolated_point

from gaussmix import DegenerateComponentWarning, GaussianMixture
from gaussmix.covariance import STRUCTURE_NAMES, FactorAnalyzers, get_structure
from gaussmix.covariance.factor import pack
from gaussmix.families.em import expect
from gaussmix.families.missing import expect_with_missing
from gaussmix.params import MixtureParams

no_convergence_warning = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ------------------------------------------------------------------------------------------ helpers
def random_params(rng, name, k, d):
    structure = get_structure(name)
    covariances = random_covariances(rng, name, k, d)
    precisions_cholesky, singular = structure.cholesky_of_precisions(covariances)
    assert not singular.any()
    return MixtureParams(rng.dirichlet(np.ones(k)), rng.normal(size=(k, d)), covariances, precisions_cholesky,
                         np.zeros(d))


def oracle_statistics(X, w, params, name, covariances=None):
    """Row-by-row expected complete-data statistics with textbook formulas (inverses allowed here); the
    scatter is the full (k, d, d) one. ``covariances``: dense ones, when ``name`` is none of the four."""
    k, d = params.means.shape
    covariances = dense(name, params.covariances, k, d) if covariances is None else covariances
    counts, sums, scatter, log_likelihood = np.zeros(k), np.zeros((k, d)), np.zeros((k, d, d)), 0.0
    for x, weight in zip(X, w):
        o = ~np.isnan(x)
        m = ~o
        log_joint = np.array([np.log(params.weights[j]) + multivariate_normal(params.means[j, o],
                              covariances[j][np.ix_(o, o)]).logpdf(x[o]) for j in range(k)])
        log_likelihood += weight * logsumexp(log_joint)
        gamma = np.exp(log_joint - logsumexp(log_joint))
        for j in range(k):
            c = covariances[j]
            gain = c[np.ix_(m, o)] @ np.linalg.inv(c[np.ix_(o, o)])
            completed = x.copy()
            completed[m] = params.means[j, m] + gain @ (x[o] - params.means[j, o])
            correction = np.zeros((d, d))
            correction[np.ix_(m, m)] = c[np.ix_(m, m)] - gain @ c[np.ix_(o, m)]
            residual = completed - params.means[j]
            counts[j] += weight * gamma[j]
            sums[j] += weight * gamma[j] * residual
            scatter[j] += weight * gamma[j] * (np.outer(residual, residual) + correction)
    return counts, sums, scatter, log_likelihood


def project(name, scatter):
    """The dense scatter in structure ``name``'s scatter shape, by its definition."""
    return {"full": scatter, "tied": scatter.sum(axis=0), "diag": np.diagonal(scatter, axis1=1, axis2=2),
            "spherical": np.trace(scatter, axis1=1, axis2=2)}[name]


def matched_errors(model, reference):
    """Largest mean distance and relative covariance error after matching components."""
    cost = np.linalg.norm(model.means_[:, None] - reference.means_[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    k, d = reference.means_.shape
    a = get_structure(model.covariance_type).dense_covariances(model.covariances_, k, d)[rows]
    b = get_structure(reference.covariance_type).dense_covariances(reference.covariances_, k, d)[cols]
    return cost[rows, cols].max(), max(np.linalg.norm(x - y) / np.linalg.norm(y) for x, y in zip(a, b))


# --------------------------------------------------------------------------------------- E-step
@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_missing_e_step_matches_row_by_row_oracle(name):
    rng = np.random.default_rng(0)
    k, d = 3, 4
    params = random_params(rng, name, k, d)
    X = rng.normal(size=(40, d)) * 2
    X[rng.random(X.shape) < 0.3] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.5
    X[:5] = rng.normal(size=(5, d))  # some complete rows too
    w = rng.uniform(0.2, 3.0, X.shape[0])
    stats = expect_with_missing(X, w, params, get_structure(name))
    counts, sums, scatter, log_likelihood = oracle_statistics(X, w, params, name)
    np.testing.assert_allclose(stats.counts, counts, rtol=1e-10)
    np.testing.assert_allclose(stats.sums, sums, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(stats.scatter, project(name, scatter), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(stats.log_likelihood, log_likelihood, rtol=1e-12)
    assert stats.weight_sum == pytest.approx(w.sum())


@pytest.mark.parametrize("n_features, n_factors", [(5, 2), (3, 2)])  # 3 = 2 + 1: the statistic is (K, 3, 3) too
def test_factor_analyser_missing_e_step_matches_row_by_row_oracle(n_features, n_factors):
    """Incomplete rows give the factor analysers' own statistic, [S beta^T | diag S] of the expected scatter
    under the current parameters, so they add to the complete rows' (which gave a crash before)."""
    rng = np.random.default_rng(3)
    k = 3
    structure = FactorAnalyzers(n_factors)
    covariances = pack(rng.normal(size=(k, n_features, n_factors)), rng.uniform(0.3, 2.0, (k, n_features)))
    precisions_cholesky, singular = structure.cholesky_of_precisions(covariances)
    assert not singular.any()
    params = MixtureParams(rng.dirichlet(np.ones(k)), rng.normal(size=(k, n_features)), covariances,
                           precisions_cholesky, np.zeros(n_features))
    X = rng.normal(size=(40, n_features)) * 2
    X[rng.random(X.shape) < 0.3] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.5
    X[:5] = rng.normal(size=(5, n_features))
    w = rng.uniform(0.2, 3.0, X.shape[0])
    stats = expect_with_missing(X, w, params, structure)
    full = structure.dense_covariances(covariances, k, n_features)
    counts, sums, scatter, log_likelihood = oracle_statistics(X, w, params, "factor", full)
    beta = np.stack([covariances[j, :, :-1].T @ np.linalg.inv(full[j]) for j in range(k)])  # Lambda^T Sigma^-1
    expected = np.concatenate([scatter @ beta.transpose(0, 2, 1), np.diagonal(scatter, axis1=1, axis2=2)[:, :, None]],
                              axis=2)
    np.testing.assert_allclose(stats.counts, counts, rtol=1e-10)
    np.testing.assert_allclose(stats.sums, sums, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(stats.scatter, expected, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(stats.log_likelihood, log_likelihood, rtol=1e-12)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_missing_e_step_without_nan_is_the_ordinary_e_step(name):
    rng = np.random.default_rng(1)
    params = random_params(rng, name, 2, 3)
    X, w = rng.normal(size=(30, 3)), rng.uniform(0.5, 2.0, 30)
    ours, ordinary = expect_with_missing(X, w, params, get_structure(name)), expect(X, w, params, get_structure(name))
    for field in ("counts", "sums", "scatter"):
        np.testing.assert_array_equal(getattr(ours, field), getattr(ordinary, field))
    assert ours.log_likelihood == ordinary.log_likelihood


def test_missing_statistics_add_over_chunks():
    rng = np.random.default_rng(2)
    params = random_params(rng, "full", 3, 4)
    X = rng.normal(size=(50, 4))
    X[rng.random(X.shape) < 0.25] = np.nan
    X[np.isnan(X).all(axis=1), 1] = 0.0
    w = rng.uniform(0.5, 2.0, 50)
    structure = get_structure("full")
    whole = expect_with_missing(X, w, params, structure)
    parts = expect_with_missing(X[:17], w[:17], params, structure) + expect_with_missing(X[17:], w[17:], params, structure)
    np.testing.assert_allclose(parts.scatter, whole.scatter, rtol=1e-12)
    np.testing.assert_allclose(parts.log_likelihood, whole.log_likelihood, rtol=1e-12)


# ------------------------------------------------------------------------------------------- fits
@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_missing_em_on_complete_data_is_the_ordinary_fit(name):
    X = mixture_sample(3, n=300)
    ordinary = GaussianMixture(3, covariance_type=name, random_state=0).fit(X)
    ours = GaussianMixture(3, covariance_type=name, random_state=0, missing="em").fit(X)
    np.testing.assert_array_equal(ours.means_, ordinary.means_)
    np.testing.assert_array_equal(ours.covariances_, ordinary.covariances_)
    assert ours.lower_bounds_ == ordinary.lower_bounds_


def constrained_sample(seed, model, n=600, k=3, d=4, separation=4.0, offset=10.0):
    """Samples of a random mixture obeying mclust's ``model`` (so that its parameters are identified)."""
    rng = np.random.default_rng(seed)
    means = separation * rng.standard_normal((k, d)) + offset
    covariances = random_constrained(rng, model, k, d)
    labels = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 8.0)))
    return np.vstack([rng.multivariate_normal(means[j], covariances[j], size=(labels == j).sum()) for j in range(k)])


@pytest.mark.parametrize("name, fraction", [(name, 0.2) for name in [*STRUCTURE_NAMES, "VEV", "EVE"]]
                         + [("full", 0.1), ("full", 0.3), ("VEV", 0.1), ("VEV", 0.3)])
def test_missing_at_random_recovers_complete_data_fit(name, fraction):
    """EM with 10-30% MCAR lands near the complete-data fit, and far nearer than mean imputation + fit.

    mclust's VEV and EVE (iterative M-steps) fit data of their own model: on the unconstrained mixtures
    of the other cases VEV's shared shape is a compromise whose orientations the data hardly pin down
    (covariance errors 0.33-0.42 whatever the fraction, measured). On VEV data, seed 5 (used here):
    means 0.03-0.06, covariances 0.06-0.23 for 10-30%, mean imputation 7-20x further off; seed 4 gives
    0.06-0.10 and 0.10-0.15, but mean imputation is only 2.8x further off in covariance at 10% (measured).
    """
    X = mixture_sample(4) if name in STRUCTURE_NAMES else constrained_sample(5, name)
    X_missing = missing_completely_at_random(X, fraction, 4)
    options = dict(n_components=3, covariance_type=name, random_state=0, tol=1e-6, max_iter=500)
    complete = GaussianMixture(**options).fit(X)
    em = GaussianMixture(missing="em", **options).fit(X_missing)
    imputed = GaussianMixture(**options).fit(np.where(np.isnan(X_missing), np.nanmean(X_missing, axis=0), X_missing))
    scale = np.sqrt(X.var(axis=0).mean())
    em_mean, em_cov = matched_errors(em, complete)
    imputed_mean, imputed_cov = matched_errors(imputed, complete)
    # The missing entries cost information, so the distance to the complete-data fit grows with the fraction
    # (600 rows, 10-30%: 0.03-0.08 for means, 0.06-0.2 for covariances, measured); mean imputation is
    # 4-20x further off.
    assert em_mean / scale < 0.5 * fraction and em_cov < 0.05 + fraction, (em_mean / scale, em_cov)
    assert em_mean < imputed_mean / 3 and em_cov < imputed_cov / 3, (em_mean, imputed_mean, em_cov, imputed_cov)
    assert em.converged_


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_observed_data_log_likelihood_is_monotone(name, seed):
    X = missing_completely_at_random(mixture_sample(seed, n=300, separation=2.0), [0.1, 0.2, 0.3][seed], seed)
    model = GaussianMixture(3, covariance_type=name, random_state=seed, reg_covar=0.0, tol=0.0, max_iter=40,
                            detect_collapse=False, missing="em")
    with pytest.warns(Warning):  # tol=0 never converges
        model.fit(X)
    trace = np.array(model.lower_bounds_ + [model.lower_bound_])
    assert np.all(np.diff(trace) >= -1e-10 * np.abs(trace[1:])), np.diff(trace).min()
    assert trace[-1] > trace[0]
    # The reported bound is the observed-data log-likelihood of the returned parameters.
    assert model.lower_bound_ == pytest.approx(model.score(X), rel=1e-10)


@no_convergence_warning
@pytest.mark.parametrize("name", ["full", "diag"])
def test_integer_weights_equal_repeated_rows(name):
    X = missing_completely_at_random(mixture_sample(5, n=120), 0.2, 5)
    counts = np.random.default_rng(5).integers(0, 4, X.shape[0])
    k, d = 3, X.shape[1]
    start = GaussianMixture(k, covariance_type=name, random_state=0).fit(np.nan_to_num(X, nan=10.0))
    init = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_,
                covariance_type=name, missing="em", max_iter=20, tol=0.0)
    weighted = GaussianMixture(k, **init).fit(X, sample_weight=counts)
    repeated = GaussianMixture(k, **init).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-8)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-7)
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-9)


@no_convergence_warning
def test_fit_does_not_depend_on_chunks_even_when_a_column_is_missing_from_the_first():
    X = missing_completely_at_random(mixture_sample(6, n=200), 0.15, 6)
    X[:10, 2] = np.nan  # the first chunk of 10 rows never sees feature 2: the offset falls back
    X[np.isnan(X).all(axis=1), 0] = 10.0
    start = GaussianMixture(3, random_state=0).fit(np.nan_to_num(X, nan=10.0))
    init = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_,
                missing="em", max_iter=15, tol=0.0)
    small = GaussianMixture(3, chunk_size=10, **init).fit(X)
    large = GaussianMixture(3, **init).fit(X)
    np.testing.assert_allclose(small.means_, large.means_, rtol=1e-9)
    np.testing.assert_allclose(small.covariances_, large.covariances_, rtol=1e-8, atol=1e-12)


@no_convergence_warning
@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_large_offset_with_missing_values(name):
    """Centring survives NaN: shifting the data by 1e8 shifts the means and leaves the covariances."""
    X = missing_completely_at_random(mixture_sample(14, n=300), 0.2, 14)
    X[:40, 1] = np.nan  # the first rows never see feature 1
    start = GaussianMixture(3, covariance_type=name, random_state=0).fit(np.nan_to_num(X, nan=10.0))
    init = dict(weights_init=start.weights_, precisions_init=start.precisions_, covariance_type=name,
                missing="em", max_iter=10, tol=0.0, chunk_size=40)
    near = GaussianMixture(3, means_init=start.means_, **init).fit(X)
    far = GaussianMixture(3, means_init=start.means_ + 1e8, **init).fit(X + 1e8)
    np.testing.assert_allclose(far.means_ - 1e8, near.means_, atol=1e-6)
    np.testing.assert_allclose(far.covariances_, near.covariances_, rtol=1e-6)


@no_convergence_warning  # re-seeding restarts the convergence test; 100 iterations may not settle
@pytest.mark.parametrize("name", ["full", "diag"])
def test_degenerate_component_is_reseeded_with_missing_values(name):
    """Re-seeding (on the mean-imputed rows) works in the missing-value fit: five tied complete rows far
    away make a component collapse, as in test_degenerate; the fit ends finite."""
    X = two_blobs_and_an_isolated_point(5)
    blobs = X[:200]
    blobs[np.random.default_rng(0).random(blobs.shape) < 0.15] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    with pytest.warns(DegenerateComponentWarning, match="re-seeded"):
        model = GaussianMixture(3, covariance_type=name, reg_covar=0.0, missing="em", random_state=0).fit(X)
    assert model.n_reseeded_ > 0
    assert np.all(np.isfinite(model.covariances_)) and np.all(np.isfinite(model.score_samples(X)))


def test_float32_and_few_complete_rows():
    """Half the entries missing in 6-D leaves ~1% complete rows: initialisation falls back to mean
    imputation and EM still runs, in float32 too, without NaN."""
    X = missing_completely_at_random(mixture_sample(7, n=400, k=2, d=6, separation=6.0), 0.5, 7).astype(np.float32)
    model = GaussianMixture(2, missing="em", random_state=0).fit(X)
    assert np.all(np.isfinite(model.means_)) and np.all(np.isfinite(model.covariances_))
    assert np.isfinite(model.score(X))


# ------------------------------------------------------------------------------------ prediction
@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_scores_of_rows_with_nan_are_marginal_densities(name):
    X = missing_completely_at_random(mixture_sample(8, n=300), 0.25, 8)
    model = GaussianMixture(3, covariance_type=name, missing="em", random_state=0).fit(X)
    k, d = model.means_.shape
    covariances = dense(name, model.covariances_, k, d)
    rows = X[:20]
    expected = []
    for x in rows:
        o = ~np.isnan(x)
        expected.append([np.log(model.weights_[j]) + multivariate_normal(model.means_[j, o],
                         covariances[j][np.ix_(o, o)]).logpdf(x[o]) for j in range(k)])
    expected = np.array(expected)
    np.testing.assert_allclose(model.score_samples(rows), logsumexp(expected, axis=1), rtol=1e-10)
    proba = model.predict_proba(rows)
    np.testing.assert_allclose(proba, np.exp(expected - logsumexp(expected, axis=1, keepdims=True)), atol=1e-12)
    np.testing.assert_array_equal(model.predict(rows), expected.argmax(axis=1))


# ------------------------------------------------------------------------------------- imputation
def test_impute_fills_with_conditional_means_better_than_column_means():
    X = mixture_sample(9, n=800)
    X_missing = missing_completely_at_random(X, 0.2, 9)
    before = X_missing.copy()
    model = GaussianMixture(3, missing="em", random_state=0).fit(X_missing)
    filled = model.impute(X_missing)
    np.testing.assert_array_equal(X_missing, before)  # input untouched
    assert filled.shape == X.shape and not np.isnan(filled).any()
    observed = ~np.isnan(X_missing)
    np.testing.assert_array_equal(filled[observed], X_missing[observed])
    missing = ~observed
    rmse = np.sqrt(np.mean((filled[missing] - X[missing]) ** 2))
    column_means = np.broadcast_to(np.nanmean(X_missing, axis=0), X.shape)
    baseline = np.sqrt(np.mean((column_means[missing] - X[missing]) ** 2))
    assert rmse < baseline / 2, (rmse, baseline)

    # The conditional mean is the average of many conditional draws.
    rows = X_missing[np.isnan(X_missing).any(axis=1)][:3]
    draws = np.stack([model.impute(rows, method="sample", random_state=seed) for seed in range(400)])
    assert not np.isnan(draws).any()
    spread = draws.std(axis=0)
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - model.impute(rows)), 4 * spread / np.sqrt(400) + 1e-12)
    np.testing.assert_array_equal(model.impute(rows, method="sample", random_state=1),
                                  model.impute(rows, method="sample", random_state=1))


def test_impute_works_for_a_model_fitted_without_missing_values():
    X = mixture_sample(10, n=300)
    model = GaussianMixture(3, random_state=0).fit(X)  # missing='error'
    rows = X[:5].copy()
    rows[:, 1] = np.nan
    assert not np.isnan(model.impute(rows)).any()
    with pytest.raises(ValueError, match="NaN"):
        model.score_samples(rows)


# ------------------------------------------------------------------------------------- bad input
def test_default_policy_rejects_nan():
    X = mixture_sample(11, n=100)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(2).fit(X)


@pytest.mark.parametrize("bad, match", [
    (lambda X: X.__setitem__((slice(4, 6), slice(None)), np.nan), r"every feature missing.*\[4, 5\]"),
    (lambda X: X.__setitem__((slice(None), 2), np.nan), r"feature\(s\) \[2\].*every row"),
    (lambda X: X.__setitem__((7, 1), np.inf), "infinity"),
])
def test_missing_em_rejects_unusable_rows_columns_and_infinity(bad, match):
    X = mixture_sample(12, n=100)
    bad(X)
    with pytest.raises(ValueError, match=match):
        GaussianMixture(2, missing="em").fit(X)


def test_bad_missing_policy_and_impute_method():
    X = mixture_sample(13, n=50)
    with pytest.raises(ValueError, match="missing must be one of"):
        GaussianMixture(2, missing="drop").fit(X)
    model = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="method must be one of"):
        model.impute(X, method="median")
    rows = X[:2].copy()
    rows[1] = np.nan
    with pytest.raises(ValueError, match="every feature missing"):
        model.impute(rows)


@pytest.mark.parametrize("name", ["VEV", "EVE", "EEI", "VVE"])
def test_mclust_structures_fit_with_missing_values_and_a_monotone_trace(name):
    # The missing-value E-step projects its full-shaped scatter through each structure's own scatter(), so
    # structures it was not written for (mclust's family, iterative M-steps included) work unchanged.
    rng = np.random.default_rng(0)
    X = np.vstack([rng.multivariate_normal([0, 0, 0], [[1, .5, .2], [.5, 1, .3], [.2, .3, 1]], 400),
                   rng.multivariate_normal([4, 4, 0], [[2, -.5, 0], [-.5, 1, 0], [0, 0, .5]], 400)])
    holes = X.copy()
    holes[rng.random(X.shape) < 0.2] = np.nan
    empty = np.isnan(holes).all(axis=1)
    holes[empty, 0] = X[empty, 0]
    complete = GaussianMixture(2, covariance_type=name, random_state=0, reg_covar=0).fit(X)
    fitted = GaussianMixture(2, covariance_type=name, random_state=0, reg_covar=0, missing="em").fit(holes)
    order, complete_order = np.argsort(fitted.means_[:, 0]), np.argsort(complete.means_[:, 0])
    np.testing.assert_allclose(fitted.means_[order], complete.means_[complete_order], atol=0.15)
    assert np.all(np.diff(fitted.lower_bounds_) > -1e-10)
