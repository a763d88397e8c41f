"""Bootstrap inference (issue 19, items 1-2): the likelihood-ratio test finds three well-separated clusters,
standard errors of the means agree with sigma / sqrt(n_k), components are matched across replicates (label
switching), results do not depend on n_jobs, every covariance shape is kept, and bad input fails before any work.

R's mclust (``mclustBootstrapLRT``, ``MclustBootstrap``) is compared on real data in
benchmarks/bench_bootstrap_mclust.py.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError

from gaussmix import GaussianMixture, bootstrap_lrt, bootstrap_parameters
from gaussmix.inference.bootstrap import BOOTSTRAP_METHODS
from gaussmix.selection import SELECTION_DEFAULTS

CLUSTER_SIZE = 150
CENTRES = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])


def three_clusters(seed=0):
    """Three well-separated 2-D clusters of 150 rows each whose sample means are exactly ``CENTRES`` and whose
    sample covariances (divisor n) are exactly the identity, so that the theoretical standard error of each
    mean is exactly 1 / sqrt(150) for these data and the only randomness left in a check is the bootstrap's."""
    rng = np.random.default_rng(seed)
    clusters = []
    for centre in CENTRES:
        draws = rng.standard_normal((CLUSTER_SIZE, 2))
        draws -= draws.mean(axis=0)
        draws = draws @ np.linalg.inv(np.linalg.cholesky(np.cov(draws.T, bias=True))).T  # whiten exactly
        clusters.append(draws + centre)
    return np.vstack(clusters)


@pytest.fixture(scope="module")
def X():
    return three_clusters()


@pytest.fixture(scope="module")
def fitted(X):
    return GaussianMixture(3, random_state=0).fit(X)


def by_first_coordinate(means):
    return means[np.lexsort(means.T[::-1])]


# ------------------------------------------------------------------------------------------ bootstrap_lrt
@pytest.fixture(scope="module")
def lrt(X):
    # 39 replicates: the smallest attainable p-value is 1/40 = 0.025, below 0.05 (with 19 it would be 0.05).
    return bootstrap_lrt(X, covariance_type="full", max_components=4, n_bootstrap=39, random_state=0)


def test_lrt_rejects_too_few_components_and_stops_at_three(lrt):
    assert_array_equal(lrt.n_components, [1, 2, 3])
    assert lrt.p_values[0] < 0.05 and lrt.p_values[1] < 0.05
    assert lrt.p_values[2] >= 0.05
    assert lrt.selected_n_components() == 3
    # 1 vs 2 and 2 vs 3 are far beyond every replicate: the smallest possible p-value
    assert_allclose(lrt.p_values[:2], 1 / 40)


def test_lrt_statistics_come_from_the_maximised_log_likelihoods(X, lrt):
    n = X.shape[0]
    assert_allclose(lrt.statistics, 2 * np.diff(lrt.log_likelihoods))
    assert np.all(lrt.statistics >= 0)
    assert np.all(np.diff(lrt.log_likelihoods) > 0)
    for count, log_likelihood in zip(range(1, 5), lrt.log_likelihoods):
        # never below select_model's fit (mclust's single hierarchical start), which is one of the starts
        assert log_likelihood >= GaussianMixture(count, **SELECTION_DEFAULTS).fit(X).score(X) * n - 1e-6, count
        # Up to three components (the true model) the maximum found by ten k-means starts, up to the choice
        # between nearly symmetric maxima: which two of the three clusters share a component when there are
        # two (the pairs differ by 0.2 in log L here). Four components overfit, where the maxima are many and
        # differ by a few units; the bootstrap replicates search them the same way.
        if count <= 3:
            independent = GaussianMixture(count, n_init=10, tol=1e-6, max_iter=1000, random_state=1).fit(X)
            assert log_likelihood >= independent.score(X) * n - 0.5, count


def test_lrt_replicates_are_draws_of_the_null_distribution(lrt):
    assert lrt.n_bootstrap == 39
    for kept, failed in zip(lrt.replicates, lrt.n_failed):
        assert kept.shape == (39 - failed,) and np.all(np.isfinite(kept)) and np.all(kept >= 0)
    # Under the null of K components, the K+1 fit adds 6 parameters in 2-D (full); the statistic's null
    # distribution is of that order (roughly chi-squared with 6 to 12 degrees of freedom, McLachlan 1987),
    # nowhere near the observed 1 vs 2 and 2 vs 3 statistics.
    for kept in lrt.replicates:
        assert 2 < np.median(kept) < 30
    assert lrt.statistics[0] > 10 * lrt.replicates[0].max()
    assert lrt.statistics[1] > 10 * lrt.replicates[1].max()


def test_lrt_summary_reads_as_a_table(lrt):
    text = lrt.summary()
    assert str(lrt) == text
    for piece in ("K vs K+1", "LRT statistic", "p-value", "1 vs 2", "2 vs 3", "3 vs 4", "-2 log(L_K / L_{K+1})",
                  "How to read it", "first K that is not rejected: 3"):
        assert piece in text, piece


def test_lrt_does_not_depend_on_n_jobs():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + [5.0, 0.0]])
    options = dict(covariance_type="diag", max_components=3, n_bootstrap=6, random_state=7)
    serial, parallel = bootstrap_lrt(X, n_jobs=1, **options), bootstrap_lrt(X, n_jobs=2, **options)
    assert_array_equal(serial.statistics, parallel.statistics)
    assert_array_equal(serial.p_values, parallel.p_values)
    for one, two in zip(serial.replicates, parallel.replicates):
        assert_array_equal(one, two)
    other_seed = bootstrap_lrt(X, n_jobs=1, **dict(options, random_state=8))
    assert not np.array_equal(np.concatenate(serial.replicates), np.concatenate(other_seed.replicates))


# ----------------------------------------------------------------------------------- bootstrap_parameters
@pytest.mark.parametrize("method", BOOTSTRAP_METHODS)
def test_standard_errors_of_means_are_sigma_over_root_n(X, fitted, method):
    result = bootstrap_parameters(fitted, X, n_bootstrap=99, method=method, random_state=0)
    errors = result.standard_errors["means"]
    assert errors.shape == fitted.means_.shape and result.n_failed == 0
    theory = 1.0 / np.sqrt(CLUSTER_SIZE)  # sigma = 1 exactly (see three_clusters), n_k = 150
    # A standard deviation from B = 99 replicates has relative standard error about 1 / sqrt(2 (B - 1)) = 0.071
    # (plus at most 1/sqrt(2 * 150) = 0.058 for the parametric bootstrap, whose replicate clusters are new
    # draws; bias from the random cluster sizes is below 1%). So each of the six entries is within 40% of
    # theory unless it is 4.3 or more of its standard errors off (probability 2e-5 each), and their mean
    # (six nearly independent entries: relative standard error below 0.04) within 15% (3.8 standard errors).
    assert_allclose(errors, theory, rtol=0.40)
    assert abs(errors.mean() / theory - 1) < 0.15


def test_intervals_bracket_the_estimates_and_widen_with_the_level(X, fitted):
    result = bootstrap_parameters(fitted, X, n_bootstrap=39, random_state=1)
    narrow, wide = result.intervals(0.8), result.intervals(0.99)
    assert set(narrow) == set(result.standard_errors) == {"weights", "means", "covariances"}
    for name, estimate in (("weights", fitted.weights_), ("means", fitted.means_),
                           ("covariances", fitted.covariances_)):
        lower, upper = narrow[name]
        assert lower.shape == upper.shape == estimate.shape
        assert np.all(wide[name][0] <= lower) and np.all(upper <= wide[name][1])
        assert np.all((wide[name][0] <= estimate) & (estimate <= wide[name][1])), name
    # A percentile interval of normal-looking replicates spans about 2 * 1.2816 standard errors at 80%.
    lower, upper = narrow["means"]
    assert_allclose((upper - lower) / (2 * 1.2816 * result.standard_errors["means"]), 1.0, rtol=0.35)
    with pytest.raises(ValueError, match="level"):
        result.intervals(1.5)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "VEV", "EEI"])
def test_every_covariance_structure_keeps_its_own_shape(X, covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    result = bootstrap_parameters(model, X, n_bootstrap=5, method="weighted", random_state=0, n_jobs=1)
    for name, estimate in (("weights", model.weights_), ("means", model.means_),
                           ("covariances", model.covariances_)):
        assert result.standard_errors[name].shape == estimate.shape, name
        assert result.replicates[name].shape == (5, *estimate.shape), name
        assert result.intervals()[name][0].shape == estimate.shape, name
    # matched replicates stay near their own component (the clusters are 8 apart, standard errors ~0.08)
    assert np.abs(result.replicates["means"] - model.means_).max() < 0.5
    assert_allclose(result.replicates["weights"].sum(axis=1), 1.0)


class ShiftingMixture(GaussianMixture):
    """A GaussianMixture whose fit returns its components rotated by one place: every refit from the original
    parameters comes back with its labels switched, as EM on a resample sometimes does."""

    def fit(self, X, y=None, sample_weight=None):
        super().fit(X, y, sample_weight=sample_weight)
        order = np.roll(np.arange(self.n_components), 1)
        for name in ("weights_", "means_"):
            setattr(self, name, getattr(self, name)[order])
        if self.covariance_type not in ("tied", "EEE"):
            for name in ("covariances_", "precisions_", "precisions_cholesky_"):
                setattr(self, name, getattr(self, name)[order])
        return self


def test_label_switching_is_undone_by_matching_means(X):
    model = ShiftingMixture(3, random_state=0).fit(X)
    result = bootstrap_parameters(model, X, n_bootstrap=9, random_state=0, n_jobs=1)
    # Unmatched, every replicate's means would be the original ones rotated: 8 apart.
    assert np.abs(result.replicates["means"] - model.means_).max() < 0.5
    assert np.abs(result.replicates["weights"] - model.weights_).max() < 0.1
    assert np.abs(result.standard_errors["means"]).max() < 0.2


def test_label_switching_is_undone_for_components_that_differ_only_in_spread():
    # Two concentric components (standard deviations 1 and 5): the means cannot tell them apart, the
    # Kullback-Leibler cost (which sees the covariances) can.
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(300, 2)), 5 * rng.normal(size=(300, 2))])
    model = ShiftingMixture(2, covariance_type="spherical", random_state=0).fit(X)
    result = bootstrap_parameters(model, X, n_bootstrap=9, random_state=0, n_jobs=1)
    assert_allclose(result.replicates["covariances"] / model.covariances_, 1.0, rtol=0.5)


def test_parameters_do_not_depend_on_n_jobs(X, fitted):
    serial = bootstrap_parameters(fitted, X, n_bootstrap=6, method="parametric", random_state=3, n_jobs=1)
    parallel = bootstrap_parameters(fitted, X, n_bootstrap=6, method="parametric", random_state=3, n_jobs=2)
    for name in serial.replicates:
        assert_array_equal(serial.replicates[name], parallel.replicates[name])


def test_the_estimator_is_left_as_it_was(X, fitted):
    before = (fitted.get_params(), fitted.means_.copy())
    bootstrap_parameters(fitted, X, n_bootstrap=3, method="parametric", random_state=0, n_jobs=1)
    assert fitted.get_params() == before[0]
    assert_array_equal(fitted.means_, before[1])


# ------------------------------------------------------------------------------------------------ bad input
# n_bootstrap=10**6 in the calls below: an error that came after any work would take hours.
@pytest.mark.parametrize("options, match", [
    (dict(n_bootstrap=0), "n_bootstrap"),
    (dict(max_components=1), "max_components"),
    (dict(covariance_type="VVX"), "covariance_type"),
    (dict(n_jobs=0), "n_jobs"),
    (dict(max_components=500), "samples"),
])
def test_lrt_rejects_bad_arguments_before_any_work(X, options, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_lrt(X, **{"n_bootstrap": 10 ** 6, **options})


@pytest.mark.parametrize("options, match", [
    (dict(n_bootstrap=0), "n_bootstrap"),
    (dict(n_bootstrap=1), "n_bootstrap"),
    (dict(method="jackknife"), "method"),
    (dict(n_jobs=0), "n_jobs"),
])
def test_parameters_reject_bad_arguments_before_any_work(X, fitted, options, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_parameters(fitted, X, **{"n_bootstrap": 10 ** 6, **options})


def test_parameters_reject_unfitted_estimators_and_wrong_data(X, fitted):
    with pytest.raises(NotFittedError):
        bootstrap_parameters(GaussianMixture(3), X, n_bootstrap=10 ** 6)
    with pytest.raises(ValueError, match="GaussianMixture"):
        bootstrap_parameters(object(), X)
    with pytest.raises(ValueError, match="features"):
        bootstrap_parameters(fitted, X[:, :1], n_bootstrap=10 ** 6)
    noisy = GaussianMixture(3, noise="auto", random_state=0).fit(X)
    with pytest.raises(ValueError, match="noise"):
        bootstrap_parameters(noisy, X, n_bootstrap=10 ** 6)


@pytest.mark.slow
def test_mclust_benchmark_runs_without_r():
    """benchmarks/bench_bootstrap_mclust.py with --no-r behaves as on a machine without Rscript."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    if not (root.parent / "shared" / "data" / "faithful.csv").exists():
        pytest.skip("../shared/data is not beside this checkout")
    completed = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_bootstrap_mclust.py"), "--no-r",
                                "--n-bootstrap", "3"], capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "skipped (--no-r)" in completed.stdout
    assert "faithful" in completed.stdout and "diabetes" in completed.stdout
