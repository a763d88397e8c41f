"""Stepwise (online) EM: the statistics algebra it relies on, and partial_fit against batch EM."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from gaussmix import ConvergenceWarning, GaussianMixture
from gaussmix.covariance import STRUCTURE_NAMES, get_structure
from gaussmix.families.em import estimate_parameters, statistics_from_responsibilities
from gaussmix.families.online import expected_statistics, recentred, step_size, stepwise_average
from gaussmix.params import MixtureParams

from random_models import dense, random_covariances


def _statistics(rng, name, n=200, k=3, d=4, means=None):
    X = rng.standard_normal((n, d)) * [1.0, 3.0, 0.5, 2.0] + 10.0
    responsibilities = rng.dirichlet(np.ones(k), size=n)
    weights = rng.uniform(0.2, 2.0, n)
    means = rng.standard_normal((k, d)) + 10.0 if means is None else means
    stats = statistics_from_responsibilities(X, weights, responsibilities, means, get_structure(name))
    return X, weights, responsibilities, means, stats


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_recentred_statistics_equal_statistics_taken_about_the_new_means(name):
    rng = np.random.default_rng(0)
    X, weights, responsibilities, means, stats = _statistics(rng, name)
    shifts = rng.standard_normal(means.shape) * 3.0
    structure = get_structure(name)
    expected = statistics_from_responsibilities(X, weights, responsibilities, means + shifts, structure)
    moved = recentred(stats, shifts, structure)
    np.testing.assert_allclose(moved.counts, expected.counts, rtol=1e-13)
    np.testing.assert_allclose(moved.sums, expected.sums, rtol=1e-10, atol=1e-10 * np.abs(expected.sums).max())
    np.testing.assert_allclose(moved.scatter, expected.scatter, rtol=1e-10,
                               atol=1e-10 * np.abs(expected.scatter).max())


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_recentring_onto_the_statistics_own_means_leaves_the_m_step_unchanged(name):
    rng = np.random.default_rng(1)
    *_, means, stats = _statistics(rng, name)
    structure = get_structure(name)
    params = MixtureParams(np.full(3, 1 / 3), means, None, None, np.zeros(4))
    estimate = estimate_parameters(stats, params, structure, reg_covar=0.0)
    moved = recentred(stats, estimate.means - means, structure)
    np.testing.assert_allclose(moved.sums, 0.0, atol=1e-10 * np.abs(stats.sums).max())
    again = estimate_parameters(moved, estimate.to_params(), structure, reg_covar=0.0)
    np.testing.assert_allclose(again.means, estimate.means, rtol=1e-12)
    np.testing.assert_allclose(again.covariances, estimate.covariances, rtol=1e-10)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_m_step_from_expected_statistics_returns_the_model(name):
    rng = np.random.default_rng(2)
    k, d = 3, 4
    covariances = random_covariances(rng, name, k, d)
    structure = get_structure(name)
    precisions_cholesky, singular = structure.cholesky_of_precisions(covariances)
    assert not singular.any()
    params = MixtureParams(np.array([0.2, 0.5, 0.3]), rng.standard_normal((k, d)), covariances,
                           precisions_cholesky, np.zeros(d))
    stats = expected_statistics(params, structure)
    estimate = estimate_parameters(stats, params, structure, reg_covar=0.0)
    np.testing.assert_allclose(estimate.weights, params.weights, rtol=1e-14)
    np.testing.assert_allclose(estimate.means, params.means, rtol=1e-14)
    np.testing.assert_allclose(dense(name, estimate.covariances, k, d), dense(name, covariances, k, d), rtol=1e-12)


def test_step_sizes_follow_the_documented_schedule():
    assert step_size(1, 1.0, 1.0) == pytest.approx(0.5)
    assert step_size(3, 1.0, 1.0) == pytest.approx(0.25)  # 1/(t+1): an equal-weight average of all batches
    assert step_size(4, 0.7, 10.0) == pytest.approx(14.0 ** -0.7)


def test_stepwise_average_normalises_both_sides_to_unit_weight():
    rng = np.random.default_rng(3)
    *_, first = _statistics(rng, "full", n=50)
    *_, second = _statistics(rng, "full", n=300)
    blended = stepwise_average(first, second, 0.25)
    assert blended.weight_sum == pytest.approx(1.0)
    np.testing.assert_allclose(blended.counts, 0.75 * first.counts / first.weight_sum
                               + 0.25 * second.counts / second.weight_sum, rtol=1e-14)
    np.testing.assert_allclose(stepwise_average(first, second, 1.0).scatter, second.scatter / second.weight_sum,
                               rtol=1e-14)


def _mixture_sample(rng, n):
    means = np.array([[0.0, 0.0], [6.0, 1.0], [1.0, 7.0]])
    scales = [np.array([[1.0, 0.4], [0.4, 0.6]]), np.array([[0.5, -0.2], [-0.2, 1.5]]), np.eye(2) * 0.8]
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    X = np.empty((n, 2))
    for k in range(3):
        rows = labels == k
        X[rows] = rng.multivariate_normal(means[k], scales[k], size=rows.sum())
    return X


def _sorted(model):
    order = np.lexsort(model.means_.T[::-1])
    return model.weights_[order], model.means_[order], order


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_partial_fit_on_a_stream_approaches_the_batch_fit(name):
    rng = np.random.default_rng(4)
    batches = [_mixture_sample(rng, 400) for _ in range(60)]
    online = GaussianMixture(3, covariance_type=name, random_state=0, learning_decay=0.7)
    for batch in batches:
        online.partial_fit(batch)
    batch_fit = GaussianMixture(3, covariance_type=name, random_state=0, tol=1e-8).fit(np.vstack(batches))
    weights, means, order = _sorted(online)
    batch_weights, batch_means, batch_order = _sorted(batch_fit)
    assert online.n_steps_ == len(batches) - 1
    np.testing.assert_allclose(weights, batch_weights, atol=0.02)
    np.testing.assert_allclose(means, batch_means, atol=0.1)
    # Covariances: with eta_t = (t + 1) ** -0.7 the running statistics after 60 batches weight them so that
    # sum(w_t ** 2) = 0.033, i.e. ~31 batches' worth (12,000 rows) against the batch fit's 24,000. For a
    # component of weight p, a sample covariance entry has variance (S_ii S_jj + S_ij ** 2) / n_p, so the
    # online-minus-batch difference has a standard deviation of at most
    # sqrt(2 (0.033 / (400 p) - 1 / (24000 p))) sqrt(S_ii S_jj) = 0.020 sqrt(S_ii S_jj) for p = 0.2 (the
    # smallest weight). Four of those: 0.08 (measured: at most 0.033, for 'full').
    covariances = dense(name, online.covariances_, 3, 2)[order]
    batch_covariances = dense(name, batch_fit.covariances_, 3, 2)[batch_order]
    variances = np.diagonal(batch_covariances, axis1=1, axis2=2)
    scale = np.sqrt(variances[:, :, None] * variances[:, None, :])
    np.testing.assert_array_less(np.abs(covariances - batch_covariances) / scale, 0.08)
    # The progressive-validation log-likelihood of the last batches is close to the batch fit's.
    assert np.mean(online.lower_bounds_[-10:]) == pytest.approx(batch_fit.score(np.vstack(batches[-10:])), abs=0.02)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_stepwise_em_on_one_repeated_batch_reaches_the_batch_em_fixed_point(name):
    rng = np.random.default_rng(5)
    X = _mixture_sample(rng, 600)
    reference = GaussianMixture(3, covariance_type=name, random_state=1, tol=1e-12, max_iter=1000).fit(X)
    with warnings.catch_warnings():  # deliberately stopped early: stepwise EM finishes the job
        warnings.simplefilter("ignore", ConvergenceWarning)
        online = GaussianMixture(3, covariance_type=name, random_state=1, max_iter=2).partial_fit(X)
    for _ in range(400):
        online.partial_fit(X)
    np.testing.assert_allclose(online.means_, reference.means_, atol=1e-4)
    np.testing.assert_allclose(online.covariances_, reference.covariances_, atol=1e-4)
    np.testing.assert_allclose(online.weights_, reference.weights_, atol=1e-5)


def test_first_partial_fit_is_a_fit_and_fit_resets_the_stream():
    rng = np.random.default_rng(6)
    X = _mixture_sample(rng, 500)
    first = GaussianMixture(3, random_state=0).partial_fit(X)
    fitted = GaussianMixture(3, random_state=0).fit(X)
    np.testing.assert_array_equal(first.means_, fitted.means_)
    assert first.n_steps_ == 0
    first.partial_fit(_mixture_sample(rng, 200))
    assert first.n_steps_ == 1 and len(first.lower_bounds_) == len(fitted.lower_bounds_) + 1
    first.fit(X)
    assert first.n_steps_ == 0
    np.testing.assert_array_equal(first.means_, fitted.means_)


def test_partial_fit_continues_a_fitted_model_and_clone_forgets_the_stream():
    rng = np.random.default_rng(7)
    model = GaussianMixture(3, random_state=0).fit(_mixture_sample(rng, 2000))
    before = model.means_.copy()
    model.partial_fit(_mixture_sample(rng, 300))
    assert model.n_steps_ == 1
    assert np.abs(model.means_ - before).max() < 0.3  # one step moves the model, but not far
    assert not hasattr(clone(model), "n_steps_")


def test_partial_fit_accepts_float32_batches_and_sample_weights():
    rng = np.random.default_rng(8)
    model = GaussianMixture(3, random_state=0).partial_fit(_mixture_sample(rng, 500))
    batch = _mixture_sample(rng, 300)
    repeated = GaussianMixture(3, random_state=0).partial_fit(_mixture_sample(np.random.default_rng(8), 500))
    model.partial_fit(batch, sample_weight=np.full(300, 2.0))
    repeated.partial_fit(np.vstack([batch, batch]))
    np.testing.assert_allclose(model.means_, repeated.means_, rtol=1e-10)
    model.partial_fit(batch.astype(np.float32))
    assert np.all(np.isfinite(model.means_))


def test_partial_fit_rejects_bad_batches_and_settings():
    rng = np.random.default_rng(9)
    model = GaussianMixture(3, random_state=0).partial_fit(_mixture_sample(rng, 300))
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(rng.standard_normal((50, 3)))
    bad = np.array(_mixture_sample(rng, 10))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.partial_fit(bad)
    for decay in (0.5, 1.5, -1):
        with pytest.raises(ValueError, match="learning_decay"):
            GaussianMixture(learning_decay=decay).partial_fit(_mixture_sample(rng, 30))
    with pytest.raises(ValueError, match="learning_offset"):
        GaussianMixture(learning_offset=-1.0).partial_fit(_mixture_sample(rng, 30))


def test_factor_analysers_do_not_offer_partial_fit():
    from gaussmix import MixtureOfFactorAnalyzers

    assert not hasattr(MixtureOfFactorAnalyzers(2), "partial_fit")
    assert hasattr(GaussianMixture(2), "partial_fit")


def test_partial_fit_refuses_a_prior_it_would_ignore():
    with pytest.raises(ValueError, match="prior"):
        GaussianMixture(2, prior="default").partial_fit(np.random.default_rng(0).normal(size=(50, 2)))


def test_partial_fit_with_missing_values_uses_the_observed_features():
    rng = np.random.default_rng(10)
    model = GaussianMixture(3, random_state=0, missing="em").partial_fit(_mixture_sample(rng, 600))
    for _ in range(20):
        batch = _mixture_sample(rng, 300)
        batch[rng.random(batch.shape) < 0.2] = np.nan
        batch[np.isnan(batch).all(axis=1), 0] = 0.0  # keep at least one observed value per row
        model.partial_fit(batch)
    complete = GaussianMixture(3, random_state=0).fit(_mixture_sample(rng, 6000))
    np.testing.assert_allclose(_sorted(model)[1], _sorted(complete)[1], atol=0.15)
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(3, random_state=0).partial_fit(_mixture_sample(rng, 300)).partial_fit(batch)
