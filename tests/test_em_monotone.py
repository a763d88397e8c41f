"""The EM trace a user plots never goes down, and warm starts detect convergence (scikit-learn's semantics).

scikit-learn's own tests of these behaviours (test_monotonic_likelihood, test_convergence_detected_with_warm_start)
also run against gaussmix in tests/test_sklearn_conformance.py; these are ours, on data of every structure.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussmix import GaussianMixture
from gaussmix.covariance import STRUCTURE_NAMES


def blobs(seed, n=300, d=3, k=3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    return np.vstack([c + rng.normal(size=(n // k, d)) * rng.uniform(0.5, 2.0, d) for c in centres])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), name=st.sampled_from(STRUCTURE_NAMES + ("VVE", "VEV", "EVI")),
       tol=st.sampled_from([1e-3, 1e-7, 1e-12]), reg_covar=st.sampled_from([0.0, 1e-6]))
def test_trace_and_returned_fit_never_go_down(seed, name, tol, reg_covar):
    X = blobs(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixture(3, covariance_type=name, tol=tol, reg_covar=reg_covar, max_iter=300,
                                random_state=seed).fit(X)
    trace = np.asarray(model.lower_bounds_)
    if model.n_reseeded_ == 0:
        assert np.all(np.diff(trace) >= 0.0), np.diff(trace).min()
        assert model.lower_bound_ >= trace[-1]
    assert model.score(X) == pytest.approx(model.lower_bound_, rel=1e-12)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_one_iteration_at_a_time_never_lowers_the_score_and_converges(name):
    X = blobs(1)
    model = GaussianMixture(3, covariance_type=name, reg_covar=0.0, warm_start=True, max_iter=1, tol=1e-7,
                            random_state=0)
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2000):
            scores.append(model.fit(X).score(X))
            if model.converged_:
                break
    assert model.converged_
    assert np.all(np.diff(scores) >= 0.0)
    assert len(scores) > 2  # convergence is detected after the M-step gains fall below tol, not at once


def test_warm_start_judges_convergence_by_the_last_step_of_the_fit_it_continues():
    X = blobs(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cold = GaussianMixture(3, tol=1e-4, max_iter=500, random_state=0).fit(X)
        assert cold.converged_
        model = GaussianMixture(3, tol=1e-4, max_iter=2, warm_start=True, random_state=0)
        calls = 0
        while not (model.fit(X).converged_) and calls < 500:
            calls += 1
    assert model.converged_ and model.n_iter_ <= 2
    assert model.lower_bound_ == pytest.approx(cold.lower_bound_, abs=1e-3)
