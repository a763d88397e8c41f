"""select_model's defaults against mclust: one shared hierarchical start, mclust's picks on real data, spurious
candidates never chosen, candidates in parallel with results independent of n_jobs, progress per candidate.

mclust's published picks and BIC (mclust's sign) are in tests/mclust_reference.py with their sources.
"""

from __future__ import annotations

import re
import sys
import warnings

import numpy as np
import pytest

import mclust_reference as ref
from test_mclust_reference import load

from gaussmix import GaussianMixture, select_model
from gaussmix.exceptions import DegenerateComponentError, DegenerateComponentWarning
from gaussmix.selection import SELECTION_DEFAULTS

LINE = re.compile(r"^\[\s*(\d+)/(\d+)\] (\w+) K=(\d+)  (BIC -?\d+\.\d( \(not converged\))?|failed \(\w+\))  \d+:\d\d elapsed, ~\d+:\d\d left$")


def spurious(estimator, X) -> bool:
    """Some component has a direction of numerically zero scatter once ``reg_covar`` is taken off."""
    n_components, n_features = estimator.means_.shape
    from gaussmix.covariance import get_structure

    dense = get_structure(estimator.covariance_type).dense_covariances(estimator.covariances_, n_components, n_features)
    dense = dense - estimator.reg_covar * np.eye(n_features)
    scale = 1.0 / np.sqrt(X.var(axis=0))
    return bool(np.linalg.eigvalsh(dense * scale[:, None] * scale[None, :])[:, 0].min() < 1e-8)


@pytest.mark.parametrize("name, model, g, published", [
    ("faithful", "EEE", 3, ref.FAITHFUL_BIC_TOP3[0][2]),
    ("iris", "VEV", 2, ref.IRIS_BEST["bic"]),
    ("diabetes", "VVV", 3, ref.DIABETES_BEST["bic"]),
    ("thyroid", "VVI", 3, ref.THYROID_BEST["bic"]),
])
def test_default_pick_is_mclusts_published_one(name, model, g, published):
    X = load(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = select_model(X, random_state=0)
    assert result.best_params_ == {"covariance_type": model, "n_components": g}
    assert result.records[result._best_index]["mclust_bic"] >= published - ref.printed_tolerance(published) - 1e-9
    assert not spurious(result.best_estimator_, X)


def test_iris_with_three_starts_does_not_pick_a_spurious_model():
    """Before, VVV,4 won with BIC -425.6: a component flat in one direction, held up by reg_covar alone."""
    X = load("iris")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = select_model(X, n_init=3, init_params="hc", random_state=0)
    assert not spurious(result.best_estimator_, X)
    assert result.best_params_ == {"covariance_type": "VEV", "n_components": 2}
    assert result.records[result._best_index]["mclust_bic"] == pytest.approx(ref.IRIS_BEST["bic"], abs=0.01)


def flat_and_round(seed=0):
    """A cluster whose second coordinate is exactly constant (tied values) beside a round one."""
    rng = np.random.default_rng(seed)
    flat = np.column_stack([rng.normal(size=40), np.full(40, 2.0)])
    return np.vstack([flat, rng.normal(size=(120, 2)) * 1.5 + [6.0, 0.0]]), np.array([[0.0, 2.0], [6.0, 0.0]])


def test_strict_collapse_catches_a_component_held_up_by_reg_covar():
    X, means = flat_and_round()
    settings = dict(covariance_type="full", means_init=means, reg_covar=1e-6, on_degenerate="raise")
    lenient = GaussianMixture(2, **settings).fit(X)  # reg_covar 1e-6 is above the floor 1e-8 * variance
    assert spurious(lenient, X)
    with pytest.raises(DegenerateComponentError) as raised:
        GaussianMixture(2, detect_collapse="strict", **settings).fit(X)
    assert raised.value.reason == "collapsed"


def test_a_spurious_candidate_is_reseeded_or_failed_and_never_chosen():
    X, _ = flat_and_round()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        result = select_model(X, n_components=[1, 2, 3], covariance_types=["VVV", "EEE"], random_state=0)
    for record in result.records:
        assert record["failed"] or record["reason"] == ""
    assert not spurious(result.best_estimator_, X)


def test_candidates_equal_standalone_fits_from_the_shared_tree():
    """The agglomeration is computed once per process and reused: each candidate is the fit it would be alone."""
    X = load("iris")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = select_model(X, n_components=[2, 3, 4], covariance_types=["VEV", "EII", "VVE"], random_state=0)
        for record in result.records:
            alone = GaussianMixture(record["n_components"], covariance_type=record["covariance_type"], random_state=0,
                                    **SELECTION_DEFAULTS).fit(X)
            assert record["log_likelihood"] == pytest.approx(alone.score(X) * len(X), rel=1e-12)


def test_results_and_progress_do_not_depend_on_n_jobs():
    X = load("iris")
    tables, reports = {}, {}
    for n_jobs in (1, 2):
        seen = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = select_model(X, n_components=[1, 2, 3], covariance_types=["VVV", "VEE", "EII"], random_state=0,
                                  n_jobs=n_jobs, progress=seen.append)
        tables[n_jobs] = [(r["covariance_type"], r["n_components"], r["log_likelihood"]) for r in result.records]
        reports[n_jobs] = seen
    assert tables[1] == tables[2]
    for seen in reports.values():
        assert [report.done for report in seen] == list(range(1, 10))
        assert {(r.record["covariance_type"], r.record["n_components"]) for r in seen} == {
            (name, g) for name in ("VVV", "VEE", "EII") for g in (1, 2, 3)}
        assert all(LINE.match(report.line()) for report in seen), [report.line() for report in seen]
        assert seen[-1].remaining == 0.0
    # longest first: the 3-component dense, iterative VEE starts before any one-component candidate
    order = [(r.record["covariance_type"], r.record["n_components"]) for r in reports[1]]
    assert order[0] == ("VEE", 3) and order[-1][1] == 1


def test_command_line_prints_a_line_per_candidate_unless_quiet(tmp_path):
    from test_cli import FAITHFUL, gaussmix

    data = tmp_path / "faithful.csv"
    data.write_bytes(FAITHFUL.read_bytes())
    shown = gaussmix("select", data, "-k", "1-2", "--covariance", "VVV,EEE", cwd=tmp_path)
    lines = [line for line in shown.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == 4 and all(LINE.match(line) for line in lines), shown.stderr
    assert lines[-1].startswith("[4/4]")
    quiet = gaussmix("select", data, "-k", "1-2", "--covariance", "VVV,EEE", "--quiet", cwd=tmp_path)
    assert not [line for line in quiet.stderr.splitlines() if line.startswith("[")]
    assert quiet.stdout == shown.stdout
