"""BayesianGaussianMixture(missing='em'): variational Bayes with values missing at random (NaN).

Oracles: the same model on the complete data (missing='error'), the clusters that generated the data, the
bound's monotonicity (the missing values are one more latent variable of the variational posterior), and the
Gaussian marginal of the observed coordinates computed here with scipy.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.metrics import adjusted_rand_score

from random_models import missing_completely_at_random, random_spd

import gaussmix
from gaussmix import BayesianGaussianMixture
from gaussmix.covariance import VARIATIONAL_NAMES, get_structure
from gaussmix.families.variational import (VariationalPosterior, expected_log_weights, variational_expect, variational_expect_with_missing,
                                  variational_log_density, variational_log_density_with_missing)

FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_", "degrees_of_freedom_",
          "mean_precision_", "lower_bound_")


def separated_clusters(seed=0, n_per_cluster=150, d=4):
    """Three well-separated correlated clusters with unequal covariances, off the origin; and their labels."""
    rng = np.random.default_rng(seed)
    centres = 10.0 * np.eye(3, d) + np.array([50.0, -20.0, 3.0, 0.0])[:d]
    X = np.vstack([rng.multivariate_normal(c, random_spd(rng, d, (0.3, 2.0), 0.3), n_per_cluster) for c in centres])
    return X, np.repeat(np.arange(3), n_per_cluster)


def posterior_of(model):
    """The fitted variational posterior and structure, from the public fitted attributes."""
    prior_type = model.weight_concentration_prior_type
    posterior = VariationalPosterior(prior_type, model.weight_concentration_, model.mean_precision_, model.means_,
                                     model.degrees_of_freedom_, model.covariances_, model.precisions_cholesky_)
    return posterior, get_structure(model.covariance_type)


def sorted_by_first_coordinate(means):
    return means[np.argsort(means[:, 0])]


@pytest.mark.parametrize("covariance_type", VARIATIONAL_NAMES)
def test_without_nan_em_is_exactly_the_complete_data_fit(covariance_type):
    X, _ = separated_clusters(1)
    w = np.random.default_rng(2).uniform(0.5, 2.0, X.shape[0])
    options = dict(covariance_type=covariance_type, random_state=0, max_iter=50)
    plain = BayesianGaussianMixture(3, **options).fit(X, sample_weight=w)
    em = BayesianGaussianMixture(3, missing="em", **options).fit(X, sample_weight=w)
    for name in FITTED:
        np.testing.assert_array_equal(getattr(em, name), getattr(plain, name), err_msg=name)
    assert em.lower_bounds_ == plain.lower_bounds_
    np.testing.assert_array_equal(em.predict_proba(X), plain.predict_proba(X))
    np.testing.assert_array_equal(em.score_samples(X), plain.score_samples(X))


@pytest.mark.parametrize("covariance_type", VARIATIONAL_NAMES)
def test_ten_percent_missing_recovers_the_clusters_of_the_complete_fit(covariance_type):
    X, labels = separated_clusters(3)
    Xm = missing_completely_at_random(X, 0.10, seed=4)
    assert 0.08 < np.isnan(Xm).mean() < 0.12
    options = dict(covariance_type=covariance_type, random_state=0, max_iter=300, tol=1e-6)
    complete = BayesianGaussianMixture(3, **options).fit(X)
    model = BayesianGaussianMixture(3, missing="em", **options).fit(Xm)
    assert model.converged_
    assert adjusted_rand_score(labels, model.predict(Xm)) > 0.95
    assert adjusted_rand_score(complete.predict(X), model.predict(Xm)) > 0.95
    heavy = np.argsort(model.weights_)[-3:]
    heavy_complete = np.argsort(complete.weights_)[-3:]
    np.testing.assert_allclose(sorted_by_first_coordinate(model.means_[heavy]),
                               sorted_by_first_coordinate(complete.means_[heavy_complete]), atol=0.3)
    np.testing.assert_allclose(np.sort(model.weights_[heavy]), np.sort(complete.weights_[heavy_complete]), atol=0.03)


@pytest.mark.parametrize("covariance_type", VARIATIONAL_NAMES)
def test_the_bound_never_decreases_with_missing_values(covariance_type):
    """The completions are the optimal variational factor of the missing values and their entropy is in the
    bound: coordinate ascent on the evidence lower bound, so its trace is non-decreasing."""
    X, _ = separated_clusters(5, n_per_cluster=80)
    Xm = missing_completely_at_random(X, 0.25, seed=6)
    model = BayesianGaussianMixture(4, covariance_type=covariance_type, missing="em", random_state=1, max_iter=200,
                                    tol=1e-8).fit(Xm)
    trace = np.asarray(model.lower_bounds_)
    assert trace.size > 3
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[:-1]))


def test_prediction_on_rows_with_nan_uses_the_observed_features():
    X, labels = separated_clusters(7)
    Xm = missing_completely_at_random(X, 0.10, seed=8)
    model = BayesianGaussianMixture(3, missing="em", random_state=0, max_iter=300).fit(Xm)
    proba = model.predict_proba(Xm)
    assert proba.shape == (X.shape[0], 3) and np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(Xm), proba.argmax(axis=1))
    scores = model.score_samples(Xm)
    assert scores.shape == (X.shape[0],) and np.all(np.isfinite(scores))
    # A row scored alone or among others: the same (rows are independent).
    row = np.flatnonzero(np.isnan(Xm).any(axis=1))[0]
    assert model.score_samples(Xm[row:row + 1])[0] == pytest.approx(scores[row], rel=1e-12)

    # A row with NaN: rho_k is log N(x_o | m_ko, C_koo) (scipy) plus the terms that do not depend on x.
    observed = ~np.isnan(Xm[row])
    posterior, structure = posterior_of(model)
    rho_complete = variational_log_density(np.zeros((1, X.shape[1])), posterior, structure)[0]
    origin = [multivariate_normal(m, c).logpdf(np.zeros(X.shape[1])) for m, c in zip(model.means_, model.covariances_)]
    here = [multivariate_normal(m[observed], c[np.ix_(observed, observed)]).logpdf(Xm[row, observed])
            for m, c in zip(model.means_, model.covariances_)]
    expected = rho_complete - np.asarray(origin) + np.asarray(here)
    actual = variational_log_density_with_missing(Xm[row:row + 1], posterior, structure)[0]
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="predictive=True"):
        model.score_samples(Xm, predictive=True)


def test_statistics_of_a_chunk_without_nan_are_those_of_the_plain_e_step():
    X, _ = separated_clusters(9, n_per_cluster=40)
    model = BayesianGaussianMixture(3, random_state=0).fit(X)
    posterior, structure = posterior_of(model)
    w = np.ones(X.shape[0])
    plain = variational_expect(X, w, posterior, structure)
    em = variational_expect_with_missing(X, w, posterior, structure)
    assert em.entropy == plain.entropy
    np.testing.assert_array_equal(em.statistics.scatter, plain.statistics.scatter)
    np.testing.assert_array_equal(variational_log_density_with_missing(X, posterior, structure),
                                  variational_log_density(X, posterior, structure))
    assert np.all(np.isfinite(expected_log_weights(posterior)))


def test_split_chunks_add_up_with_missing_values():
    """The E-step is additive over rows: any split of a chunk with NaN gives the same statistics."""
    X, _ = separated_clusters(10, n_per_cluster=40)
    Xm = missing_completely_at_random(X, 0.2, seed=11)
    model = BayesianGaussianMixture(3, missing="em", random_state=0).fit(Xm)
    posterior, structure = posterior_of(model)
    w = np.random.default_rng(12).uniform(0.1, 2.0, X.shape[0])
    whole = variational_expect_with_missing(Xm, w, posterior, structure)
    parts = (variational_expect_with_missing(Xm[:37], w[:37], posterior, structure)
             + variational_expect_with_missing(Xm[37:], w[37:], posterior, structure))
    assert parts.entropy == pytest.approx(whole.entropy, rel=1e-10)
    np.testing.assert_allclose(parts.statistics.counts, whole.statistics.counts, rtol=1e-10)
    np.testing.assert_allclose(parts.statistics.sums, whole.statistics.sums, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(parts.statistics.scatter, whole.statistics.scatter, rtol=1e-9, atol=1e-9)


def test_model_file_round_trip(tmp_path):
    X, _ = separated_clusters(13)
    Xm = missing_completely_at_random(X, 0.10, seed=14)
    model = BayesianGaussianMixture(3, missing="em", random_state=0).fit(Xm)
    path = tmp_path / "bayes.npz"
    gaussmix.save(model, path)
    loaded = gaussmix.load(path)
    assert isinstance(loaded, BayesianGaussianMixture) and loaded.missing == "em"
    np.testing.assert_array_equal(loaded.score_samples(Xm), model.score_samples(Xm))
    np.testing.assert_array_equal(loaded.predict(Xm), model.predict(Xm))


def test_nan_without_missing_em_is_an_error_and_bad_options_are_refused():
    X, _ = separated_clusters(15, n_per_cluster=30)
    Xm = missing_completely_at_random(X, 0.1, seed=16)
    with pytest.raises(ValueError, match="NaN"):
        BayesianGaussianMixture(2).fit(Xm)
    with pytest.raises(ValueError, match="missing must be one of"):
        BayesianGaussianMixture(2, missing="drop").fit(X)
    with pytest.raises(ValueError, match="responsibilities_init"):
        BayesianGaussianMixture(2, missing="em", responsibilities_init=np.full((X.shape[0], 2), 0.5)).fit(Xm)
    empty_row = Xm.copy()
    empty_row[0] = np.nan
    with pytest.raises(ValueError, match="every feature missing"):
        BayesianGaussianMixture(2, missing="em").fit(empty_row)


def test_an_npy_file_read_in_chunks_fits_like_the_array(tmp_path):
    X, _ = separated_clusters(17)
    Xm = missing_completely_at_random(X, 0.10, seed=18)
    path = tmp_path / "x.npy"
    np.save(path, Xm)
    from_file = BayesianGaussianMixture(3, missing="em", random_state=0, chunk_size=97).fit(path)
    in_memory = BayesianGaussianMixture(3, missing="em", random_state=0).fit(Xm)
    np.testing.assert_allclose(from_file.means_, in_memory.means_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(from_file.covariances_, in_memory.covariances_, rtol=1e-10, atol=1e-12)
    assert from_file.lower_bound_ == pytest.approx(in_memory.lower_bound_, rel=1e-12)
    np.testing.assert_array_equal(from_file.predict(path), in_memory.predict(Xm))
