"""Model selection: the candidate table, criteria by hand, failures recorded, parallel equals serial,
held-out likelihood and ICL (mclust's choices on real data: test_mclust_reference.py)."""


import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

import gaussmix
from gaussmix import ConvergenceWarning, GaussianMixture, select_model
from gaussmix.selection import SELECTION_DEFAULTS, CandidateProgress
from gaussmix.covariance import ALL_MODEL_NAMES
from gaussmix.datasets import load_faithful

KEYS = {"covariance_type", "n_components", "family", "log_likelihood", "n_parameters", "bic", "mclust_bic", "icl", "aic",
        "heldout_log_likelihood", "converged", "n_iter", "failed", "reason"}


@pytest.fixture(autouse=True)
def _single_blas_thread():
    with threadpool_limits(1):
        yield


def two_elongated_blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    first = rng.multivariate_normal([0.0, 0.0], [[4.0, 1.5], [1.5, 1.0]], size=n)
    second = rng.multivariate_normal([6.0, 5.0], [[0.5, -0.2], [-0.2, 2.0]], size=n // 2)
    return np.vstack([first, second])


def hand_parameter_count(covariance_type, k, d):
    covariances = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d, "spherical": k}
    return covariances[covariance_type] + k * d + k - 1


@pytest.fixture(scope="module")
def small_result():
    X = two_elongated_blobs()
    return X, select_model(X, n_components=[1, 2, 3], covariance_types=["full", "spherical"], random_state=0)


def test_every_candidate_is_recorded_in_grid_order(small_result):
    _, result = small_result
    assert [(r["covariance_type"], r["n_components"]) for r in result.records] == [
        ("full", 1), ("full", 2), ("full", 3), ("spherical", 1), ("spherical", 2), ("spherical", 3)]
    for record in result.records:
        assert set(record) == KEYS
        assert not record["failed"] and record["reason"] == ""
        assert record["heldout_log_likelihood"] is None


def test_criteria_follow_from_log_likelihood_and_parameter_count(small_result):
    X, result = small_result
    n = X.shape[0]
    for r in result.records:
        p = hand_parameter_count(r["covariance_type"], r["n_components"], X.shape[1])
        assert r["n_parameters"] == p
        assert r["bic"] == pytest.approx(-2 * r["log_likelihood"] + p * np.log(n), rel=1e-12)
        assert r["mclust_bic"] == pytest.approx(2 * r["log_likelihood"] - p * np.log(n), rel=1e-12)
        assert r["aic"] == pytest.approx(-2 * r["log_likelihood"] + 2 * p, rel=1e-12)
        assert r["icl"] >= r["bic"] - 1e-9  # the classification entropy is non-negative
    one_component = result.records[0]
    assert one_component["icl"] == pytest.approx(one_component["bic"], abs=1e-9)  # a single class: no entropy


def test_best_is_the_minimum_bic_and_its_estimator_matches_the_record(small_result):
    X, result = small_result
    best = min(result.records, key=lambda r: r["bic"])
    assert result.best_params_ == {"covariance_type": best["covariance_type"], "n_components": best["n_components"]}
    assert result.best_params_ == {"covariance_type": "full", "n_components": 2}
    estimator = result.best_estimator_
    assert isinstance(estimator, GaussianMixture)
    assert (estimator.covariance_type, estimator.n_components) == ("full", 2)
    assert estimator.score(X) * X.shape[0] == pytest.approx(best["log_likelihood"], rel=1e-10)
    assert estimator.bic(X) == pytest.approx(best["bic"], rel=1e-10)
    assert estimator.icl(X) == pytest.approx(best["icl"], rel=1e-10)
    assert result.criterion == "bic"


@pytest.mark.parametrize("criterion", ["icl", "aic"])
def test_other_criteria_choose_their_own_minimum(small_result, criterion):
    X, _ = small_result
    result = select_model(X, n_components=[1, 2, 3], covariance_types=["full", "spherical"], criterion=criterion,
                          random_state=0)
    best = min(result.records, key=lambda r: r[criterion])
    assert result.best_params_["n_components"] == best["n_components"]
    assert result.best_params_["covariance_type"] == best["covariance_type"]


def test_failed_candidates_are_recorded_with_a_reason_not_raised():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 2))
    result = select_model(X, n_components=[1, 2, 8], covariance_types=["diag"], random_state=0)
    failed = result.records[2]
    assert failed["failed"] and failed["n_components"] == 8
    assert "n_samples" in failed["reason"]
    assert failed["bic"] is None and failed["log_likelihood"] is None
    assert result.best_params_["n_components"] in (1, 2)
    assert "failed" in result.summary() and "n_samples" in result.summary()  # the cell and its reason


def test_degenerate_candidate_is_recorded_as_failed():
    # Three distinct points, repeated: one component is fine, but three components each sit on a point
    # (zero variance); with on_degenerate='raise' the DegenerateComponentError becomes the reason.
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 1.0], [1.0, 7.0]]), 10, axis=0)
    result = select_model(X, n_components=[1, 3], covariance_types=["full"], random_state=0, on_degenerate="raise",
                          reg_covar=0.0)
    assert not result.records[0]["failed"]
    assert result.records[1]["failed"]
    assert "DegenerateComponentError" in result.records[1]["reason"]
    assert result.best_params_ == {"covariance_type": "full", "n_components": 1}


def assert_same_tables(first, second):
    for a, b in zip(first.records, second.records, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], float):
                assert a[key] == pytest.approx(b[key], rel=1e-10), key
            else:
                assert a[key] == b[key], key
    assert first.best_params_ == second.best_params_


def test_parallel_table_equals_serial_table(small_result):
    # Threads here (starting loky worker processes costs seconds); the process backend is tested under slow.
    X, serial = small_result
    with joblib.parallel_config(backend="threading"):
        parallel = select_model(X, n_components=[1, 2, 3], covariance_types=["full", "spherical"], random_state=0,
                                n_jobs=2)
    assert_same_tables(serial, parallel)


@pytest.mark.slow
def test_process_parallel_table_equals_serial_table(small_result):
    X, serial = small_result
    parallel = select_model(X, n_components=[1, 2, 3], covariance_types=["full", "spherical"], random_state=0,
                            n_jobs=2)
    assert_same_tables(serial, parallel)


def test_heldout_criterion_matches_a_hand_cross_validation():
    X = two_elongated_blobs(n=90)
    result = select_model(X, n_components=[1, 2, 3], covariance_types=["full"], criterion="heldout", cv=3,
                          random_state=0)
    for record in result.records:
        model = GaussianMixture(record["n_components"], covariance_type="full", random_state=0, **SELECTION_DEFAULTS)
        expected = 0.0
        for train, test in KFold(3, shuffle=True, random_state=0).split(X):
            expected += clone(model).fit(X[train]).score_samples(X[test]).sum()
        assert record["heldout_log_likelihood"] == pytest.approx(expected, rel=1e-10)
    best = max(result.records, key=lambda r: r["heldout_log_likelihood"])
    assert result.best_params_["n_components"] == best["n_components"] == 2


def test_sample_weight_counts_as_the_number_of_samples():
    X = two_elongated_blobs(n=60)
    weights = np.random.default_rng(2).integers(1, 4, size=X.shape[0]).astype(float)
    result = select_model(X, n_components=[1, 2], covariance_types=["tied"], sample_weight=weights, random_state=0)
    for r in result.records:
        assert r["bic"] == pytest.approx(-2 * r["log_likelihood"] + r["n_parameters"] * np.log(weights.sum()))
    repeated = select_model(np.repeat(X, weights.astype(int), axis=0), n_components=[1], covariance_types=["tied"])
    assert repeated.records[0]["bic"] == pytest.approx(result.records[0]["bic"], rel=1e-9)


def test_table_and_summary(small_result):
    pd = pytest.importorskip("pandas")  # in the test extra: runs in CI
    _, result = small_result
    table = result.table
    assert isinstance(table, pd.DataFrame)
    assert len(table) == 6 and set(table.columns) == KEYS
    summary = result.summary()
    assert "lower is better" in summary and "*" in summary
    assert "full,2" in summary


def test_all_means_every_registered_model():
    X = two_elongated_blobs(n=40)
    result = select_model(X, n_components=1, random_state=0)
    assert [r["covariance_type"] for r in result.records] == list(ALL_MODEL_NAMES)


@pytest.mark.parametrize("kwargs, words", [
    ({"criterion": "bicc"}, "criterion"),
    ({"covariance_types": ["full", "bogus"]}, "covariance_type"),
    ({"n_components": [0, 1]}, "n_components"),
    ({"n_components": "three"}, "n_components"),
    ({"n_components": []}, "empty"),
    ({"n_init": 0}, "n_init"),
    ({"covariance_type": "full"}, "select_model"),
    ({"tol": -1.0}, "tol"),
    ({"bogus_parameter": 1}, "parameter"),
    ({"criterion": "heldout", "cv": 1}, "cv"),
    ({"sample_weight": np.ones(3)}, "sample_weight"),
])
def test_bad_arguments_raise_before_fitting(kwargs, words):
    X = two_elongated_blobs(n=40)
    with pytest.raises(ValueError, match=words):
        select_model(X, **kwargs)


def test_bad_data_raises():
    with pytest.raises(ValueError, match="NaN"):
        select_model(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]))


def test_icl_by_hand_on_a_tiny_model():
    X = two_elongated_blobs(n=30)
    model = GaussianMixture(2, random_state=0).fit(X)
    z = model.predict_proba(X)
    by_hand = model.bic(X) - 2 * np.sum(np.log(z.max(axis=1)))
    assert model.icl(X) == pytest.approx(by_hand, rel=1e-12)
    # mclust's formula, in its own sign: icl = BIC + 2 * sum(C * log(z)), C the MAP indicator matrix
    C = np.zeros_like(z)
    C[np.arange(len(z)), z.argmax(axis=1)] = 1
    mclust_icl = -model.bic(X) + 2 * np.sum(C * np.log(z))
    assert -model.icl(X) == pytest.approx(mclust_icl, rel=1e-12)


def test_faithful_kmeans_init_needs_restarts_where_hc_does_not():
    # mclust's EEE,3 (our 'tied'): BIC -2314.3 (tests/mclust_reference.py, FAITHFUL_BIC). mclust's published
    # tables, and our selection over all 14 models against them, are in tests/test_mclust_reference.py.
    X, _ = load_faithful()
    single = select_model(X, n_components=[3], covariance_types=["tied"], random_state=0, init_params="kmeans",
                          tol=1e-3)
    assert single.records[0]["mclust_bic"] < -2320  # k-means start: a worse local optimum
    default = select_model(X, n_components=[3], covariance_types=["tied"], random_state=0)  # one hc start
    assert default.records[0]["mclust_bic"] == pytest.approx(-2314.3, abs=0.1)
    restarts = select_model(X, n_components=[3], covariance_types=["tied"], random_state=0, n_init=10, tol=1e-6)
    assert restarts.records[0]["mclust_bic"] == pytest.approx(-2314.3, abs=0.1)


def test_all_models_on_one_dimensional_data_are_e_and_v():
    x = np.random.default_rng(0).normal(size=(300, 1)) * np.repeat([1.0, 3.0], 150)[:, None]
    result = select_model(x, n_components=[1, 2], covariance_types="all", random_state=0)
    assert sorted({record["covariance_type"] for record in result.records}) == ["E", "V"]


# ----------------------------------------------------- one sign, one meaning of '*' (issue 17, item 2)
def summary_cells(summary):
    """{(covariance type, K): cell} of ``SelectionResult.summary()``."""
    lines = summary.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("   K"))
    types = lines[header].split()[1:]
    cells = {}
    for line in lines[header + 1:]:
        if not line.strip():
            break
        k, *values = line.split()
        cells.update({(name, int(k)): value for name, value in zip(types, values)})
    return cells


def test_summary_and_progress_use_scikit_learns_sign(small_result):
    X, result = small_result
    summary = result.summary()
    assert summary.splitlines()[0] == "BIC = -2 log L + p log n (lower is better)"
    cells = summary_cells(summary)
    for record in result.records:
        assert cells[record["covariance_type"], record["n_components"]].rstrip("*!") == f"{record['bic']:.2f}"
    chosen = (result.best_params_["covariance_type"], result.best_params_["n_components"])
    assert [key for key, value in cells.items() if "*" in value] == [chosen]
    assert result.best_record["bic"] == pytest.approx(result.best_estimator_.bic(X), rel=1e-9)
    line = CandidateProgress(1, 6, result.best_record, 1.0, 2.0, "bic").line()
    assert f"BIC {result.best_record['bic']:.1f}" in line and "not converged" not in line


def test_chosen_model_that_did_not_converge_is_marked_and_warned():
    X = two_elongated_blobs(n=80)
    with pytest.warns(ConvergenceWarning, match=r"chosen model \(full, K=2\) did not converge"):
        result = select_model(X, n_components=[2], covariance_types=["full", "diag"], random_state=0,
                              max_iter=1, tol=0.0, n_jobs=1)
    assert not result.best_record["converged"]
    cells = summary_cells(result.summary())
    assert cells["full", 2].endswith("*!") and cells["diag", 2].endswith("!") and "*" not in cells["diag", 2]
    assert "! did not converge" in result.summary()
    line = CandidateProgress(1, 2, result.best_record, 1.0, 0.0, "bic").line()
    assert line.endswith("(not converged)  0:01 elapsed, ~0:00 left")


def test_no_warning_when_the_chosen_model_converged():
    X = two_elongated_blobs(n=80)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = select_model(X, n_components=[1, 2], covariance_types=["full"], random_state=0, n_jobs=1)
    assert result.best_record["converged"]
