"""SQUAREM (``acceleration='squarem'``): fewer EM steps to the same maximum, a trace that never goes down, and plain
EM wherever it does not apply.

Oracles: plain EM run to a tight tolerance (the maximum both must reach), plain EM's own states (with the
extrapolation switched off, a cycle is two plain EM steps: the same states, bit for bit), the driver's count of
kept extrapolations, and the uninterrupted fit for checkpoints.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussmix import GaussianMixture
from gaussmix.covariance import get_structure
from gaussmix.engines import as_engine
from gaussmix.families.em import GaussianFamily, feature_variance
from gaussmix.fitting.acceleration import CRAWL_THRESHOLD, Squarem
from gaussmix.fitting.driver import drive
from gaussmix.fitting.init import initial_params


def overlapping(seed, n=600):
    """Three overlapping clusters in two dimensions: EM crawls for a hundred iterations and more."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [1.6, 0.4], [0.5, 1.8]])
    return centres[rng.integers(0, 3, n)] + rng.normal(size=(n, 2)) * [1.0, 0.6]


def fit(X, **settings_):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianMixture(**{"n_components": 3, "random_state": 0, "max_iter": 5000, **settings_}).fit(X)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied", "VVE", "EEV", "VEI"])
def test_reaches_plain_ems_maximum_in_fewer_iterations(covariance_type):
    X = overlapping(0)
    plain = fit(X, covariance_type=covariance_type, tol=1e-10)
    fast = fit(X, covariance_type=covariance_type, tol=1e-10, acceleration="squarem")
    assert fast.lower_bound_ == pytest.approx(plain.lower_bound_, abs=1e-7)
    assert fast.lower_bound_ >= plain.lower_bound_ - 1e-9  # never a worse end
    assert fast.n_iter_ < plain.n_iter_ / 3  # cycles of at most three EM steps, so fewer EM steps too
    # The surface is flat along the weights (plain EM's still move at tol=1e-10): the same maximum, to 1e-3.
    np.testing.assert_allclose(np.sort(fast.weights_), np.sort(plain.weights_), atol=1e-3)


def _run(X, covariance_type, accelerate, *, from_vector=None, tol=1e-9, threshold=CRAWL_THRESHOLD):
    """drive() on the Gaussian family from k-means++ starts, optionally wearing Squarem."""
    engine = as_engine(X)
    structure = get_structure(covariance_type)
    start = initial_params(engine, structure, 3, method="k-means++", random_state=np.random.RandomState(0),
                           reg_covar=1e-6, recover=None, data_variance=feature_variance(engine))
    family = GaussianFamily(structure, reg_covar=1e-6, tol=tol, offset=engine.offset)
    if accelerate:
        family = Squarem(family, engine, threshold=threshold)
        if from_vector is not None:
            family.family.from_vector = from_vector
    return family, drive(family, engine, start, tol=tol, max_iter=3000)


def test_extrapolations_are_kept_on_slow_runs():
    family, result = _run(overlapping(1), "full", True)
    assert family.n_extrapolated > 0
    assert np.all(np.diff(result.trace) >= 0.0)


def test_without_a_feasible_extrapolation_a_cycle_is_two_plain_em_steps():
    """``from_vector`` refusing every extrapolated state: each crawling cycle returns plain EM's second step, so
    the accelerated trace is a subsequence of plain EM's, value for value (up to where plain EM stopped: a cycle
    of two steps gains twice as much, so the accelerated run stops later)."""
    X = overlapping(2)
    _, plain = _run(X, "full", False)
    family, refused = _run(X, "full", True, from_vector=lambda vector, like: None)
    assert family.n_extrapolated == 0
    common = [value for value in refused.trace if value <= plain.trace[-1]]
    positions = [plain.trace.index(value) for value in common]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert positions[-1] >= len(plain.trace) - 2  # every state of the cycles up to plain EM's last one
    assert len(common) < 0.6 * len(plain.trace)  # crawling, every other state is skipped


def test_no_extrapolation_while_em_moves_fast():
    """With a threshold of zero no EM step counts as crawling: every cycle is one plain EM step."""
    X = overlapping(3)
    _, plain = _run(X, "diag", False)
    family, never = _run(X, "diag", True, threshold=0.0)
    assert family.n_extrapolated == 0
    assert never.trace == plain.trace and never.objective == plain.objective


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), name=st.sampled_from(["full", "diag", "spherical", "tied", "EVE", "VEV", "EEI"]),
       n_components=st.integers(1, 4), tol=st.sampled_from([1e-3, 1e-6, 1e-10]), reg_covar=st.sampled_from([0.0, 1e-6]))
def test_trace_never_goes_down(seed, name, n_components, tol, reg_covar):
    rng = np.random.default_rng(seed)
    X = overlapping(seed, n=int(rng.integers(40, 300)))
    model = fit(X, n_components=n_components, covariance_type=name, tol=tol, reg_covar=reg_covar,
                acceleration="squarem", random_state=seed, max_iter=300)
    trace = np.asarray(model.lower_bounds_)
    if model.n_reseeded_ == 0:
        assert np.all(np.diff(trace) >= 0.0), np.diff(trace).min()
        assert model.lower_bound_ >= trace[-1]
    assert np.all(np.isfinite(model.covariances_))
    assert model.score(X) == pytest.approx(model.lower_bound_, rel=1e-12)


@pytest.mark.parametrize("settings_", [dict(noise="auto"), dict(assignment="hard"),
                                       dict(freeze=["weights"]), dict(tol=0.0, max_iter=40)])
def test_plain_em_where_it_does_not_apply(settings_):
    X = overlapping(4)
    plain = fit(X, **{"tol": 1e-8, **settings_})
    accelerated = fit(X, **{"tol": 1e-8, **settings_}, acceleration="squarem")
    assert accelerated.lower_bounds_ == plain.lower_bounds_
    np.testing.assert_array_equal(accelerated.means_, plain.means_)


def test_checkpointed_accelerated_fit_resumes_to_the_uninterrupted_model(tmp_path):
    X = overlapping(5)
    settings_ = dict(tol=1e-9, acceleration="squarem", covariance_type="full")
    reference = fit(X, **settings_)

    class Interrupt(Exception):
        pass

    def interrupt(n_iter, value, change):
        if n_iter == 7:
            raise Interrupt

    path = tmp_path / "fit.ckpt.npz"
    with pytest.raises(Interrupt):
        fit(X, **settings_, checkpoint=path, callback=interrupt)
    resumed = fit(X, **settings_, checkpoint=path)
    np.testing.assert_array_equal(resumed.means_, reference.means_)
    assert resumed.lower_bounds_ == reference.lower_bounds_
    assert resumed.n_iter_ == reference.n_iter_


def test_bad_acceleration_is_refused_before_any_work():
    with pytest.raises(ValueError, match="acceleration must be one of"):
        GaussianMixture(acceleration="aitken").fit(overlapping(6))
