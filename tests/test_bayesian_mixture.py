"""BayesianGaussianMixture: scikit-learn oracle, monotone bound, learning K, posterior summaries, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy import stats as scipy_stats
from sklearn.mixture import BayesianGaussianMixture as SklearnBGM
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from gaussmix import BayesianGaussianMixture, PruningWarning
from gaussmix.datasets import load_faithful
from gaussmix.engines import InMemoryEngine
from gaussmix.families.variational import variational_expect

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
POSTERIOR_ATTRIBUTES = ("weights_", "mean_precision_", "means_", "degrees_of_freedom_", "covariances_",
                        "precisions_cholesky_", "precisions_", "mean_prior_", "covariance_prior_",
                        "degrees_of_freedom_prior_", "mean_precision_prior_", "weight_concentration_prior_")


@pytest.fixture(autouse=True)
def _single_blas_thread():
    # Tiny BLAS calls per iteration: threads only slow them down on a busy machine. Results do not change.
    with threadpool_limits(1):
        yield


class SklearnFromResponsibilities(SklearnBGM):
    """scikit-learn's public estimator with its initial responsibilities patched in (test only)."""

    def __init__(self, responsibilities=None, **params):
        super().__init__(**params)
        self.responsibilities = responsibilities

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.responsibilities)


def _blobs(seed=0, offset=(100.0, -50.0, 3.0)):
    """Three correlated, unequal clusters far from the origin (so centring matters)."""
    rng = np.random.default_rng(seed)
    a = rng.multivariate_normal([0, 0, 0], [[1.0, 0.6, 0.0], [0.6, 2.0, 0.3], [0.0, 0.3, 0.5]], 80)
    b = rng.normal([5.0, 5.0, 1.0], [1.0, 0.3, 2.0], (60, 3))
    c = rng.normal([-4.0, 6.0, -3.0], 0.7, (60, 3))
    return np.vstack([a, b, c]) + np.asarray(offset)


def _separated_blobs(seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    return np.vstack([rng.normal(center, 1.0, (100, 2)) for center in centers])


def _fit_quietly(estimator, X, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning from short oracle runs
        return estimator.fit(X, **fit_params)


# --------------------------------------------------------------------------------------- the oracle
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_matches_sklearn_from_identical_responsibilities(prior_type, covariance_type):
    X = _blobs()
    n_components = 5
    responsibilities = np.random.default_rng(1).dirichlet(np.ones(n_components), size=X.shape[0])
    params = dict(n_components=n_components, covariance_type=covariance_type,
                  weight_concentration_prior_type=prior_type, max_iter=30, tol=0.0)
    reference = _fit_quietly(SklearnFromResponsibilities(responsibilities, **params), X)
    ours = _fit_quietly(BayesianGaussianMixture(responsibilities_init=responsibilities, **params), X)

    # scikit-learn stores the 'tied' bounds as 1-element arrays
    np.testing.assert_allclose(ours.lower_bounds_, np.ravel(reference.lower_bounds_), rtol=1e-6)
    assert len(ours.lower_bounds_) == ours.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(ours.lower_bound_, reference.lower_bound_, rtol=1e-6)
    for name in POSTERIOR_ATTRIBUTES:
        np.testing.assert_allclose(getattr(ours, name), getattr(reference, name), rtol=1e-6, atol=1e-12,
                                   err_msg=name)
    if prior_type == "dirichlet_process":
        for ours_part, reference_part in zip(ours.weight_concentration_, reference.weight_concentration_):
            np.testing.assert_allclose(ours_part, reference_part, rtol=1e-6)
    else:
        np.testing.assert_allclose(ours.weight_concentration_, reference.weight_concentration_, rtol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), reference.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ours.score_samples(X), reference.score_samples(X), rtol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_matches_sklearn_with_user_priors(covariance_type):
    X = _blobs(seed=3)
    n_features = X.shape[1]
    covariance_prior = {"full": np.diag([2.0, 1.0, 0.5]) + 0.2, "tied": np.diag([2.0, 1.0, 0.5]) + 0.2,
                        "diag": np.array([2.0, 1.0, 0.5]), "spherical": 1.5}[covariance_type]
    params = dict(n_components=4, covariance_type=covariance_type, weight_concentration_prior=0.3,
                  mean_precision_prior=0.05, mean_prior=[99.0, -48.0, 2.0], degrees_of_freedom_prior=n_features + 1.5,
                  covariance_prior=covariance_prior, max_iter=30, tol=0.0)
    responsibilities = np.random.default_rng(2).dirichlet(np.ones(4), size=X.shape[0])
    reference = _fit_quietly(SklearnFromResponsibilities(responsibilities, **params), X)
    ours = _fit_quietly(BayesianGaussianMixture(responsibilities_init=responsibilities, **params), X)
    np.testing.assert_allclose(ours.lower_bounds_, np.ravel(reference.lower_bounds_), rtol=1e-6)
    for name in POSTERIOR_ATTRIBUTES:
        np.testing.assert_allclose(getattr(ours, name), getattr(reference, name), rtol=1e-6, atol=1e-12,
                                   err_msg=name)


# -------------------------------------------------------------------------------------- the bound
@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), covariance_type=st.sampled_from(COVARIANCE_TYPES),
       prior_type=st.sampled_from(PRIOR_TYPES), init_params=st.sampled_from(["kmeans", "random"]),
       n_components=st.integers(1, 8))
def test_lower_bound_never_decreases(seed, covariance_type, prior_type, init_params, n_components):
    X = _blobs(seed=seed % 1000)
    model = _fit_quietly(BayesianGaussianMixture(n_components=n_components, covariance_type=covariance_type,
                                                 weight_concentration_prior_type=prior_type, init_params=init_params,
                                                 random_state=seed, max_iter=60, tol=1e-8), X)
    trace = np.asarray(model.lower_bounds_)
    assert np.all(np.isfinite(trace))
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:])), np.diff(trace).min()
    assert model.lower_bound_ == trace[-1]


def _normal_wishart_log_evidence(X, mean_prior, mean_precision, dof, scale_inverse):
    """Exact log marginal likelihood of a single Gaussian with a Normal-Wishart prior.

    Murphy (2007), "Conjugate Bayesian analysis of the Gaussian distribution", eq. 266, written from the
    paper (inverse scale ``Psi = W^{-1}``), independently of gaussmix.
    """
    from scipy.special import multigammaln
    n, d = X.shape
    mean = X.mean(axis=0)
    scatter = (X - mean).T @ (X - mean)
    beta_n, dof_n = mean_precision + n, dof + n
    psi_n = scale_inverse + scatter + mean_precision * n / beta_n * np.outer(mean - mean_prior, mean - mean_prior)
    return (-0.5 * n * d * np.log(np.pi) + multigammaln(0.5 * dof_n, d) - multigammaln(0.5 * dof, d)
            + 0.5 * dof * np.linalg.slogdet(scale_inverse)[1] - 0.5 * dof_n * np.linalg.slogdet(psi_n)[1]
            + 0.5 * d * np.log(mean_precision / beta_n))


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_elbo_of_one_component_is_the_exact_log_evidence(covariance_type):
    # With K = 1 the variational posterior is the exact posterior, so the ELBO is log p(X).
    X = _blobs(seed=4)[:50]
    scale_inverse = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])
    model = BayesianGaussianMixture(n_components=1, covariance_type=covariance_type, reg_covar=0.0,
                                    weight_concentration_prior_type="dirichlet_distribution",
                                    mean_prior=[100.0, -49.0, 3.0], mean_precision_prior=0.5,
                                    degrees_of_freedom_prior=4.5, covariance_prior=scale_inverse).fit(X)
    expected = _normal_wishart_log_evidence(X, np.array([100.0, -49.0, 3.0]), 0.5, 4.5, scale_inverse)
    assert model.elbo_ == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(np.asarray(model.elbos_) - model.lower_bounds_, model.elbo_ - model.lower_bound_)


def _pruning_step(model) -> int:
    """Index in ``elbos_`` of the first iteration after pruning (where the omitted constant changes)."""
    constants = np.asarray(model.elbos_) - model.lower_bounds_
    steps = np.flatnonzero(np.abs(np.diff(constants)) > 1e-6)
    assert steps.size == 1, "exactly one pruning step"
    return int(steps[0]) + 1


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_elbo_does_not_decrease_across_the_pruning_step(covariance_type, prior_type):
    # The example in docs/bayesian.md: four clusters, K=12. The dropped components hold almost no data, so
    # dropping them removes their KL cost and the ELBO (comparable across K, unlike lower_bounds_) goes up.
    X = _separated_blobs(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PruningWarning)
        model = BayesianGaussianMixture(n_components=12, covariance_type=covariance_type,
                                        weight_concentration_prior_type=prior_type, prune=True, max_iter=500,
                                        random_state=0).fit(X)
    assert model.n_components_ == 4
    step = _pruning_step(model)
    elbos = np.asarray(model.elbos_)
    assert elbos[step] >= elbos[step - 1]
    assert np.all(np.diff(elbos) >= -1e-9 * np.abs(elbos[1:]))  # both phases and the step between them
    assert model.elbo_ == elbos[-1]


def test_pruning_components_that_hold_data_warns_that_the_elbo_fell():
    # Three far outliers form a component of expected weight ~0.01, below weight_threshold=0.02; pruning
    # hands them to the clusters, which fit them badly: the ELBO falls and the user is told.
    rng = np.random.default_rng(0)
    X = np.vstack([_separated_blobs(seed=0), rng.normal((30.0, 30.0), 0.5, (3, 2))])
    params = dict(n_components=12, max_iter=500, random_state=0, weight_threshold=0.02)
    unpruned = BayesianGaussianMixture(**params).fit(X)
    assert 0.005 < np.sort(unpruned.weights_)[-5] < 0.02  # the outliers' component
    with pytest.warns(PruningWarning, match=r"lowered the evidence lower bound.*weight_threshold"):
        model = BayesianGaussianMixture(prune=True, **params).fit(X)
    step = _pruning_step(model)
    assert model.elbos_[-1] < model.elbos_[step - 1]


def test_warm_start_one_iteration_at_a_time_continues_the_trace():
    X = _blobs(seed=5)
    responsibilities = np.random.default_rng(5).dirichlet(np.ones(3), size=X.shape[0])
    full = _fit_quietly(BayesianGaussianMixture(n_components=3, responsibilities_init=responsibilities,
                                                max_iter=8, tol=0.0), X)
    stepwise = BayesianGaussianMixture(n_components=3, responsibilities_init=responsibilities, max_iter=1,
                                       tol=0.0, warm_start=True)
    bounds = [_fit_quietly(stepwise, X).lower_bound_ for _ in range(8)]
    np.testing.assert_allclose(bounds, full.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(stepwise.means_, full.means_, rtol=1e-10)


# -------------------------------------------------------------------------------------- learning K
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dirichlet_process_finds_four_separated_components(covariance_type):
    X = _separated_blobs()
    model = BayesianGaussianMixture(n_components=12, covariance_type=covariance_type, max_iter=500,
                                    random_state=0).fit(X)
    assert model.converged_
    assert model.n_effective_components_ == 4
    assert model.n_components_ == 12 and model.weights_.shape == (12,)  # scikit-learn keeps them all


def test_pruning_drops_unused_components_and_keeps_a_consistent_model():
    X = _separated_blobs(seed=1)
    model = BayesianGaussianMixture(n_components=12, max_iter=500, random_state=0, prune=True).fit(X)
    assert model.n_components_ == model.n_effective_components_ == 4
    assert model.weights_.shape == (4,) and model.means_.shape == (4, 2) and model.covariances_.shape == (4, 2, 2)
    assert all(part.shape == (4,) for part in model.weight_concentration_)
    np.testing.assert_allclose(np.sort(model.weights_), 0.25, atol=0.02)
    # posterior means sit at the clusters' sample means (shrunk towards the data mean by beta_0 = 1 of ~100)
    order = np.lexsort(np.round(model.means_ / 10.0).T[::-1])
    sample_means = X.reshape(4, 100, 2).mean(axis=1)  # clusters at (0,0), (10,0), (0,10), (10,10)
    np.testing.assert_allclose(model.means_[order], sample_means[[0, 2, 1, 3]], atol=0.1)
    assert model.predict_proba(X).shape == (X.shape[0], 4)
    assert np.isfinite(model.score_samples(X, predictive=True)).all()


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag"])  # spherical: 5 (see docs/bayesian.md)
def test_faithful_has_two_or_three_effective_components(covariance_type):
    X, _ = load_faithful()
    model = BayesianGaussianMixture(n_components=10, covariance_type=covariance_type, max_iter=1000,
                                    random_state=0).fit(X)
    assert model.converged_
    assert model.n_effective_components_ in (2, 3)


# ---------------------------------------------------------------------------------- sample weights
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    X = _blobs(seed=7)
    rng = np.random.default_rng(7)
    weights = rng.integers(0, 4, X.shape[0])
    responsibilities = rng.dirichlet(np.ones(4), size=X.shape[0])
    params = dict(n_components=4, covariance_type=covariance_type, max_iter=25, tol=0.0)
    weighted = _fit_quietly(BayesianGaussianMixture(responsibilities_init=responsibilities, **params), X,
                            sample_weight=weights)
    repeat = np.repeat(np.arange(X.shape[0]), weights)
    repeated = _fit_quietly(BayesianGaussianMixture(responsibilities_init=responsibilities[repeat], **params),
                            X[repeat])
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-9)
    for name in POSTERIOR_ATTRIBUTES:
        np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-8, atol=1e-10,
                                   err_msg=name)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_chunking_and_threads_do_not_change_the_fit(covariance_type):
    X = _blobs(seed=8)
    params = dict(n_components=5, covariance_type=covariance_type, random_state=0, max_iter=30)
    whole = _fit_quietly(BayesianGaussianMixture(chunk_size=10_000, n_jobs=1, **params), X)
    chunked = _fit_quietly(BayesianGaussianMixture(chunk_size=17, n_jobs=2, **params), X)
    np.testing.assert_allclose(chunked.lower_bounds_, whole.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(chunked.means_, whole.means_, rtol=1e-10)
    np.testing.assert_allclose(chunked.covariances_, whole.covariances_, rtol=1e-9)


def test_variational_statistics_add_over_chunks():
    X = _blobs(seed=9)
    model = BayesianGaussianMixture(n_components=3, covariance_type="full", random_state=0).fit(X)
    engine = InMemoryEngine(X, offset=model.means_.mean(axis=0), chunk_size=13)
    posterior = model._fitted_posterior(engine.offset)
    structure = model._structure
    chunked = engine.reduce(lambda chunk, w: variational_expect(chunk, w, posterior, structure))
    whole = variational_expect(engine.rows(np.arange(X.shape[0])), np.ones(X.shape[0]), posterior, structure)
    np.testing.assert_allclose(chunked.entropy, whole.entropy, rtol=1e-12)
    np.testing.assert_allclose(chunked.statistics.scatter, whole.statistics.scatter, rtol=1e-10)
    np.testing.assert_allclose(chunked.statistics.counts, whole.statistics.counts, rtol=1e-12)
    # counts are the responsibilities' column sums
    np.testing.assert_allclose(whole.statistics.counts, model.predict_proba(X).sum(axis=0), rtol=1e-10)


# ------------------------------------------------------------------------------ posterior summaries
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_predictive_density_integrates_to_one_in_one_dimension(covariance_type):
    rng = np.random.default_rng(10)
    X = np.concatenate([rng.normal(0.0, 1.0, 15), rng.normal(6.0, 0.5, 10)])[:, None]
    model = BayesianGaussianMixture(n_components=2, covariance_type=covariance_type, random_state=0).fit(X)

    def density(x):
        return float(np.exp(model.score_samples(np.array([[x]]), predictive=True))[0])

    total, _ = integrate.quad(density, -np.inf, np.inf, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)


def _posterior_draws(model, component, n_draws, rng):
    """Draw (mean, covariance) of one component from the variational posterior, as documented."""
    beta = model.mean_precision_[component]
    nu = np.broadcast_to(model.degrees_of_freedom_, model.mean_precision_.shape)[component]
    n_features = model.means_.shape[1]
    if model.covariance_type == "full":
        scale = model.precisions_[component] / nu  # W_k
        precisions = scipy_stats.wishart(df=nu, scale=scale).rvs(n_draws, random_state=rng)
    elif model.covariance_type == "diag":
        rate = nu * model.covariances_[component] / 2.0
        precisions = rng.gamma(nu / 2.0, 1.0 / rate, (n_draws, n_features))[:, :, None] * np.eye(n_features)
    else:  # spherical
        rate = nu * model.covariances_[component] / 2.0
        precisions = rng.gamma(nu / 2.0, 1.0 / rate, n_draws)[:, None, None] * np.eye(n_features)
    covariances = np.linalg.inv(precisions)
    noise = np.einsum("nij,nj->ni", np.linalg.cholesky(covariances / beta), rng.standard_normal((n_draws, n_features)))
    return model.means_[component] + noise, covariances


def _mean_gaussian_density(points, means, covariances):
    """``mean_s N(x | means[s], covariances[s])`` for each point, vectorised over the draws."""
    factors = np.linalg.cholesky(covariances)
    residual = points[None, :, :] - means[:, None, :]
    whitened = np.linalg.solve(factors[:, None], residual[..., None])[..., 0]
    log_det = np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
    n_features = points.shape[1]
    log_density = -0.5 * (whitened**2).sum(axis=2) - log_det[:, None] - 0.5 * n_features * np.log(2 * np.pi)
    return np.exp(log_density).mean(axis=0)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_predictive_density_matches_monte_carlo_over_the_posterior(covariance_type):
    # Few, scattered points keep the posterior wide, so the Student-t differs from the plug-in Gaussian.
    rng = np.random.default_rng(11)
    X = rng.multivariate_normal([0.0, 0.0], [[2.0, 0.8], [0.8, 1.0]], 12)
    model = BayesianGaussianMixture(n_components=1, covariance_type=covariance_type, random_state=0).fit(X)
    points = np.array([[0.0, 0.0], [2.0, -1.0], [2.5, 0.5]])
    means, covariances = _posterior_draws(model, 0, 100_000, rng)
    monte_carlo = _mean_gaussian_density(points, means, covariances)
    ours = np.exp(model.score_samples(points, predictive=True))
    np.testing.assert_allclose(ours, monte_carlo, rtol=0.03)
    plug_in = scipy_stats.multivariate_normal(model.means_[0], model._structure.dense_covariances(
        model.covariances_, 1, 2)[0]).pdf(points)
    assert np.abs(plug_in[2] / monte_carlo[2] - 1.0) > 0.1  # the test can tell the two apart


def test_full_predictive_is_scipy_multivariate_t():
    X = _blobs(seed=12)
    model = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    n_features = X.shape[1]
    density = 0.0
    for k in range(3):
        nu, beta = model.degrees_of_freedom_[k], model.mean_precision_[k]
        dof = nu + 1 - n_features
        scale = np.linalg.inv(model.precisions_[k] / nu) * (1 + beta) / (beta * dof)  # PRML 10.82
        density = density + model.weights_[k] * scipy_stats.multivariate_t(model.means_[k], scale, df=dof).pdf(X[:20])
    np.testing.assert_allclose(model.score_samples(X[:20], predictive=True), np.log(density), rtol=1e-10)


def test_dirichlet_credible_intervals_are_beta_quantiles_and_cover_the_mean():
    X = _blobs(seed=13)
    model = BayesianGaussianMixture(n_components=4, weight_concentration_prior_type="dirichlet_distribution",
                                    random_state=0).fit(X)
    intervals = model.weight_credible_intervals(0.9)
    draws = np.random.default_rng(0).dirichlet(model.weight_concentration_, 200_000)
    np.testing.assert_allclose(intervals, np.quantile(draws, [0.05, 0.95], axis=0).T, atol=2e-3)
    assert np.all((intervals[:, 0] <= model.weights_) & (model.weights_ <= intervals[:, 1]))
    wider = model.weight_credible_intervals(0.99)
    assert np.all(wider[:, 0] <= intervals[:, 0]) and np.all(wider[:, 1] >= intervals[:, 1])


def test_dirichlet_process_credible_intervals_are_seeded_and_cover_the_mean():
    X = _separated_blobs(seed=2)
    model = BayesianGaussianMixture(n_components=6, random_state=0).fit(X)
    first = model.weight_credible_intervals(0.95, random_state=3)
    np.testing.assert_array_equal(first, model.weight_credible_intervals(0.95, random_state=3))
    assert first.shape == (6, 2) and np.all(first[:, 0] <= first[:, 1])
    used = model.weights_ > 0.1
    assert np.all((first[used, 0] <= model.weights_[used]) & (model.weights_[used] <= first[used, 1]))
    # ~100 points per used component: a 95% interval of a weight near 1/4 is about +-0.04 wide
    assert np.all(first[used, 1] - first[used, 0] < 0.15)


# ---------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("params, words", [
    (dict(weight_concentration_prior=0.0), "weight_concentration_prior"),
    (dict(weight_concentration_prior=-1.0), "weight_concentration_prior"),
    (dict(mean_precision_prior=0.0), "mean_precision_prior"),
    (dict(degrees_of_freedom_prior=1.0), "degrees_of_freedom_prior"),  # 3 features: must exceed 2
    (dict(degrees_of_freedom_prior=2.0), "degrees_of_freedom_prior"),
    (dict(mean_prior=[0.0, 0.0]), "mean_prior"),
    (dict(covariance_prior=np.eye(2)), "covariance_prior"),
    (dict(covariance_prior=-np.eye(3)), "positive-definite"),
    (dict(covariance_prior=np.ones((3, 3))), "positive-definite"),
    (dict(covariance_type="diag", covariance_prior=[1.0, -1.0, 1.0]), "positive"),
    (dict(covariance_type="spherical", covariance_prior=0.0), "covariance_prior"),
    (dict(weight_concentration_prior_type="pitman_yor"), "weight_concentration_prior_type"),
    (dict(covariance_type="VVV"), "covariance_type"),
    (dict(weight_threshold=1.0), "weight_threshold"),
    (dict(prune="yes"), "prune"),
    (dict(responsibilities_init=np.full((200, 2), 0.3)), "responsibilities_init"),
])
def test_bad_hyper_parameters_raise_clear_errors(params, words):
    X = _blobs()
    params = {"n_components": 2, **params}
    with pytest.raises(ValueError, match=words):
        BayesianGaussianMixture(**params).fit(X)


def test_sklearn_accepts_degrees_of_freedom_just_above_the_limit():
    X = _blobs()
    model = BayesianGaussianMixture(n_components=2, degrees_of_freedom_prior=2.01, random_state=0).fit(X)
    assert model.degrees_of_freedom_prior_ == 2.01
    reference = SklearnBGM(n_components=2, degrees_of_freedom_prior=2.01, random_state=0).fit(X)
    assert reference.degrees_of_freedom_prior_ == 2.01  # the same rule as scikit-learn's


def test_degrees_of_freedom_error_states_the_valid_range_and_why():
    X = _blobs()  # 3 features: the Wishart needs nu_0 > 2
    with pytest.raises(ValueError, match=r"greater than n_features - 1 = 2.*got 2\.0.*Wishart.*defined only for"):
        BayesianGaussianMixture(n_components=2, degrees_of_freedom_prior=2.0).fit(X)


@pytest.mark.parametrize("init_params", ["hc", "random_from_data", "k-means++"])
def test_every_initialisation_finds_four_separated_components(init_params):
    X = _separated_blobs(seed=6)
    model = BayesianGaussianMixture(n_components=8, init_params=init_params, max_iter=500, random_state=0).fit(X)
    assert model.converged_ and model.n_effective_components_ == 4


def test_fewer_positive_weights_than_components_is_refused_before_work():
    X = _blobs()
    weights = np.zeros(X.shape[0])
    weights[:3] = 1.0
    with pytest.raises(ValueError, match=r"n_components=4 needs at least that many samples with positive.*got 3"):
        BayesianGaussianMixture(n_components=4, init_params="random_from_data").fit(X, sample_weight=weights)
    # Given responsibilities need no rows to start from: two weighted rows are enough for the prior.
    responsibilities = np.full((X.shape[0], 4), 0.25)
    model = _fit_quietly(BayesianGaussianMixture(n_components=4, responsibilities_init=responsibilities), X,
                         sample_weight=weights)
    assert np.isfinite(model.lower_bound_)


def test_fit_predict_equals_fit_then_predict():
    X = _blobs(seed=14)
    model = BayesianGaussianMixture(n_components=4, random_state=0)
    np.testing.assert_array_equal(model.fit_predict(X), model.predict(X))


def _expected_failed_checks(estimator):
    if estimator.n_components > 1:
        # As for KMeans (scikit-learn xfails this check for its own KMeans, meta-issue #16298): the check
        # compares a weighted fit with a fit on repeated rows in shuffled order, so the stochastic
        # k-means++ seeding starts from different points and the components come out in another order.
        # With one component (below) the check runs and passes; exact weight/repetition equivalence from
        # the same starting responsibilities is test_integer_weights_equal_repeated_rows.
        return {"check_sample_weight_equivalence_on_dense_data": "component order depends on the seeding"}
    return {}


@parametrize_with_checks([BayesianGaussianMixture(n_components=1, max_iter=20),
                          BayesianGaussianMixture(n_components=2, max_iter=20)],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_large_offset_changes_nothing_but_the_means(covariance_type):
    # Centring by the engine's offset: data at 1e8 fit like data at the origin (raw moments would lose
    # every digit of the covariances there).
    X = _blobs(seed=15, offset=(0.0, 0.0, 0.0))
    responsibilities = np.random.default_rng(15).dirichlet(np.ones(3), size=X.shape[0])
    params = dict(n_components=3, covariance_type=covariance_type, responsibilities_init=responsibilities,
                  max_iter=20, tol=0.0)
    near = _fit_quietly(BayesianGaussianMixture(**params), X)
    far = _fit_quietly(BayesianGaussianMixture(**params), X + 1e8)
    np.testing.assert_allclose(far.means_ - 1e8, near.means_, atol=1e-6)
    np.testing.assert_allclose(far.mean_prior_ - 1e8, near.mean_prior_, atol=1e-6)
    np.testing.assert_allclose(far.covariances_, near.covariances_, rtol=1e-6)
    np.testing.assert_allclose(far.covariance_prior_, near.covariance_prior_, rtol=1e-6)
    np.testing.assert_allclose(far.lower_bounds_, near.lower_bounds_, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_draws_from_the_expected_parameters(covariance_type):
    X = _separated_blobs(seed=4)
    model = BayesianGaussianMixture(n_components=4, covariance_type=covariance_type, random_state=0).fit(X)
    draws, labels = model.sample(4000)
    assert draws.shape == (4000, 2) and np.all(np.isfinite(draws))
    for k in np.unique(labels):
        np.testing.assert_allclose(draws[labels == k].mean(axis=0), model.means_[k], atol=0.15)
