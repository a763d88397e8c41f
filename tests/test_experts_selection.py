"""MixtureOfExperts.bic/aic and select_experts (issue 19, item 6)."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp, softmax

from gaussmix import MixtureOfExperts, select_experts


def _two_regressions(n=400, seed=0):
    # Two lines with clearly different slopes (2 and -1.5), each row from either with probability 1/2.
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, n)
    first = rng.random(n) < 0.5
    y = np.where(first, 2.0 * x + 1.0, -1.5 * x - 1.0) + rng.normal(0.0, 0.3, n)
    return x[:, None], y


def _one_regression(n=400, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, n)
    return x[:, None], 0.7 * x + 2.0 + rng.normal(0.0, 0.5, n)


def _log_likelihood_by_hand(model, X, Y):
    """sum_n log sum_k g_k(x_n) N(y_n | W_k x_n + b_k, Sigma_k), from the public attributes and scipy."""
    gate = softmax(X @ model.gate_coef_.T + model.gate_intercept_, axis=1)
    n_experts, n_targets = model.intercept_.shape
    covariances = {"full": lambda k: model.covariances_[k], "diag": lambda k: np.diag(model.covariances_[k]),
                   "spherical": lambda k: model.covariances_[k] * np.eye(n_targets)}[model.covariance_type]
    log_terms = np.column_stack([
        np.log(gate[:, k]) + stats.multivariate_normal(np.zeros(n_targets), covariances(k)).logpdf(
            Y - X @ model.coef_[k].T - model.intercept_[k]).reshape(-1)
        for k in range(n_experts)])
    return logsumexp(log_terms, axis=1).sum()


@pytest.mark.filterwarnings("ignore:Mixture of experts did not converge")  # 30 iterations are enough for a formula
@pytest.mark.parametrize("covariance_type, n_parameters", [
    # d = 2 inputs, m = 2 targets, K = 3 experts:
    # gate (K - 1)(d + 1) = 6; experts K m (d + 1) = 18; covariances K m (m + 1) / 2 = 9, K m = 6 or K = 3.
    ("full", 6 + 18 + 9), ("diag", 6 + 18 + 6), ("spherical", 6 + 18 + 3)])
def test_bic_and_aic_by_hand(covariance_type, n_parameters):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 2))
    Y = np.column_stack([X @ [1.0, -2.0], X @ [0.5, 0.5]]) + rng.normal(scale=[0.3, 0.8], size=(120, 2))
    model = MixtureOfExperts(3, covariance_type=covariance_type, random_state=0, max_iter=30).fit(X, Y)
    log_likelihood = _log_likelihood_by_hand(model, X, Y)
    assert model.bic(X, Y) == pytest.approx(-2 * log_likelihood + n_parameters * np.log(120), rel=1e-10)
    assert model.aic(X, Y) == pytest.approx(-2 * log_likelihood + 2 * n_parameters, rel=1e-10)


def test_one_expert_has_no_gate_parameters():
    X, y = _one_regression()
    model = MixtureOfExperts(1).fit(X, y)
    # A line and a variance: 3 parameters, and the log-likelihood of ordinary least squares.
    assert model.bic(X, y) - model.aic(X, y) == pytest.approx(3 * (np.log(400) - 2))
    residuals = y - np.polyval(np.polyfit(X[:, 0], y, 1), X[:, 0])
    variance = np.mean(residuals ** 2)
    assert model.aic(X, y) == pytest.approx(400 * (np.log(2 * np.pi * variance) + 1) + 6, rel=1e-6)


def test_select_experts_finds_two_regressions():
    X, y = _two_regressions()
    result = select_experts(X, y, n_experts=range(1, 5), random_state=0, n_jobs=1)
    assert result.best_params_ == {"covariance_type": "full", "n_experts": 2}
    assert result.best_estimator_.n_experts == 2
    slopes = np.sort(result.best_estimator_.coef_[:, 0, 0])
    np.testing.assert_allclose(slopes, [-1.5, 2.0], atol=0.1)
    assert [r["n_experts"] for r in result.records] == [1, 2, 3, 4]
    assert "full" in result.summary() and "*" in result.summary()


def test_select_experts_finds_one_regression():
    X, y = _one_regression()
    for criterion in ("bic", "aic", "icl"):
        result = select_experts(X, y, n_experts=[1, 2, 3], random_state=0, n_jobs=1, criterion=criterion)
        assert result.best_params_["n_experts"] == 1, criterion


def test_select_experts_tries_every_noise_family_for_several_targets_only():
    X, y = _one_regression(n=150)
    assert {r["covariance_type"] for r in select_experts(X, y, n_experts=1, n_jobs=1).records} == {"full"}
    Y = np.column_stack([y, -y + np.random.default_rng(0).normal(size=150)])
    records = select_experts(X, Y, n_experts=[1, 2], n_jobs=1, random_state=0).records
    assert [(r["covariance_type"], r["n_experts"]) for r in records] == [
        ("full", 1), ("full", 2), ("diag", 1), ("diag", 2), ("spherical", 1), ("spherical", 2)]


@pytest.mark.parametrize("arguments, message", [
    ({"criterion": "heldout"}, "criterion must be"),
    ({"n_experts": 0}, "n_experts"),
    ({"covariance_types": "VVV"}, "covariance_types"),
    ({"n_init": 0}, "n_init"),
    ({"gate_penalty": -1.0}, "gate_penalty"),
    ({"n_components": 2}, "unknown MixtureOfExperts parameter"),
    ({"covariance_type": "full"}, "select_experts' own arguments"),
])
def test_select_experts_rejects_bad_arguments_before_fitting(arguments, message):
    X, y = _one_regression(n=50)
    with pytest.raises(ValueError, match=message):
        select_experts(X, y, **arguments)
