"""Model-based hierarchical agglomeration (init_params='hc'): the merge sequence against a brute-force
reference, invariance to feature units, and the reason it exists: elongated clusters."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from gaussmix import GaussianMixture
from gaussmix.fitting.hierarchical import agglomerate, hc_partition, quantile_partition, svd_transform


@pytest.fixture(autouse=True)
def _single_blas_thread():
    with threadpool_limits(1):
        yield


def brute_force_merges(Z, alpha=1.0):
    """Textbook agglomeration: recompute every pair's merge cost from its member points at every step."""
    m, d = Z.shape
    omega = alpha * np.sum((Z - Z.mean(axis=0)) ** 2) / (m * d)

    def cost(members):  # n log(det(S) [n > d] + tr(S) + omega / n), S the members' maximum-likelihood covariance
        points = Z[members]
        centred = points - points.mean(axis=0)
        n = len(members)
        if d == 1:  # the ridge criterion n log((W + omega) / (n + 1))
            return n * np.log((np.sum(centred ** 2) + omega) / (n + 1))
        covariance = centred.T @ centred / n
        determinant = max(np.linalg.det(covariance), 0.0) if n > d else 0.0
        return n * np.log(determinant + np.trace(covariance) + omega / n)

    clusters = {i: [i] for i in range(m)}
    merges = []
    while len(clusters) > 1:
        names = sorted(clusters)
        best = None
        for a_index, a in enumerate(names):
            for b in names[a_index + 1:]:
                change = cost(clusters[a] + clusters[b]) - cost(clusters[a]) - cost(clusters[b])
                if best is None or change < best[0]:
                    best = (change, a, b)
        _, a, b = best
        clusters[a] += clusters.pop(b)
        merges.append((a, b))
    return np.array(merges)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_features", [3, 1])
def test_merge_sequence_equals_brute_force(seed, n_features):
    rng = np.random.default_rng(seed)
    Z = np.vstack([rng.normal(size=(10, 3)) * [3.0, 0.5, 1.0], rng.normal(size=(12, 3)) + [6.0, 0.0, 2.0]])
    Z = Z[:, :n_features]
    np.testing.assert_array_equal(agglomerate(Z), brute_force_merges(Z))


def test_partition_replays_the_first_merges():
    merges = np.array([[0, 3], [1, 2], [0, 1], [0, 4]])
    np.testing.assert_array_equal(hc_partition(merges, 5, 5), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(hc_partition(merges, 5, 3), [0, 1, 1, 0, 2])
    np.testing.assert_array_equal(hc_partition(merges, 5, 2), [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(hc_partition(merges, 5, 1), [0, 0, 0, 0, 0])


def test_partition_does_not_depend_on_units_or_offset():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(30, 2)) * [2.0, 0.3], rng.normal(size=(30, 2)) * [0.3, 2.0] + [4.0, 4.0]])
    rescaled = X * [1e4, 1e-3] + [1e8, -5.0]
    for k in (2, 3, 5):
        np.testing.assert_array_equal(hc_partition(agglomerate(svd_transform(X)), 60, k),
                                      hc_partition(agglomerate(svd_transform(rescaled)), 60, k))


def parallel_elongated_clusters(n=200, seed=0):
    # Three long thin parallel clusters (variance 25 along x, 0.1 across, 3 apart): k-means cuts them
    # across, into round pieces.
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.multivariate_normal([0.0, 3.0 * k], [[25.0, 0.0], [0.0, 0.1]], size=n) for k in range(3)])
    return X, np.repeat(np.arange(3), n)


def test_hc_init_finds_elongated_clusters_where_kmeans_init_fails():
    X, truth = parallel_elongated_clusters()
    kmeans = GaussianMixture(3, init_params="kmeans", random_state=0).fit(X)
    hc = GaussianMixture(3, init_params="hc", random_state=0).fit(X)
    assert hc.score(X) > kmeans.score(X) + 0.5
    assert adjusted_rand_score(truth, hc.predict(X)) == pytest.approx(1.0)
    assert adjusted_rand_score(truth, kmeans.predict(X)) < 0.5


def test_subsample_is_reproducible_and_draws_only_rows_with_positive_weight(monkeypatch):
    import gaussmix.fitting.hierarchical as hierarchical
    from gaussmix.covariance import get_structure
    from gaussmix.engines import InMemoryEngine

    X, _ = parallel_elongated_clusters(n=100, seed=1)
    weights = np.ones(len(X))
    weights[::3] = 0.0
    drawn = []
    original = hierarchical.svd_transform
    monkeypatch.setattr(hierarchical, "svd_transform", lambda rows: drawn.append(rows) or original(rows))
    engine = InMemoryEngine(X, weights)
    estimates = []
    for _ in range(2):
        hierarchical._partition.cache_clear()  # partitions are cached per rows and K: make each call agglomerate
        estimates.append(hierarchical.hc_estimate(engine, get_structure("full"), 3, random_state=5, reg_covar=1e-6,
                                                  max_samples=120))
    assert [len(rows) for rows in drawn] == [120, 120]
    np.testing.assert_array_equal(drawn[0], drawn[1])
    np.testing.assert_array_equal(estimates[0].means, estimates[1].means)
    distances = np.linalg.norm((drawn[0] + engine.offset)[:, None, :] - X[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    assert np.all(distances.min(axis=1) < 1e-9)
    assert np.all(weights[nearest] > 0) and len(set(nearest)) == 120


def test_restarts_after_the_agglomeration_take_other_starts_in_turn(monkeypatch):
    """On data within the subsample the agglomeration is deterministic: n_init would only repeat it."""
    import gaussmix.estimators.gaussian_mixture as module

    methods = []
    original = module.initial_params

    def recording(*args, method, **kwargs):
        methods.append(method)
        return original(*args, method=method, **kwargs)

    monkeypatch.setattr(module, "initial_params", recording)
    X, _ = parallel_elongated_clusters()
    single = GaussianMixture(3, init_params="hc", random_state=0).fit(X)
    several = GaussianMixture(3, init_params="hc", n_init=4, random_state=0).fit(X)
    assert methods == ["hc", "hc", "random", "random_from_data", "kmeans"]
    assert several.lower_bound_ >= single.lower_bound_ - 1e-12


def test_agglomeration_and_restarts_reach_mclusts_optimum():
    """faithful EEV,3: mclust's BIC is -2325.3 (Scrucca et al. 2023, Example 3.4; tests/mclust_reference.py).

    With the ridge criterion the agglomeration alone started EM in a poorer basin (BIC below -2330); with the
    trace criterion it reaches mclust's optimum, and restarts never lose it."""
    import warnings

    from gaussmix.datasets import load_faithful

    X, _ = load_faithful()
    settings = dict(covariance_type="EEV", init_params="hc", tol=1e-8, max_iter=2000, reg_covar=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = GaussianMixture(3, **settings).fit(X)
        restarted = GaussianMixture(3, n_init=10, **settings).fit(X)
    assert -single.bic(X) >= -2325.3 - 0.05
    assert -restarted.bic(X) >= -2325.3 - 0.05


def _mclust_partitions_equal(ours, theirs):
    """Same partition (the numbering of clusters aside)."""
    pairs = set(zip(ours.tolist(), theirs.tolist()))
    return len(pairs) == len(set(ours.tolist())) == len(set(theirs.tolist()))


def _load_without_labels(path):
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    columns = [i for i, name in enumerate(header) if name != "label"]
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=columns, ndmin=2)


@pytest.mark.parametrize("name", ["faithful", "iris", "wine", "diabetes"])
def test_partitions_equal_mclusts_recorded_ones(name):
    """The tree is mclust's: partitions recorded from mclust 6.0.0's hc(modelName = "VVV", use = "SVD")
    (tests/data/mclust_hc_partitions.R). faithful's coinciding rows make merges tie exactly; at K = 200 and 250
    the order among those ties matters, and it is mclust's."""
    import json
    from pathlib import Path

    here = Path(__file__).parent
    recorded = json.loads((here / "data" / "mclust_hc_partitions.json").read_text())[name]
    path = (here.parent / "src" / "gaussmix" / "data" / "faithful.csv" if name == "faithful"
            else here / "data" / f"{name}.csv")
    X = _load_without_labels(path)
    merges = agglomerate(svd_transform(X - X.mean(axis=0)))
    for k, labels in recorded.items():
        assert _mclust_partitions_equal(hc_partition(merges, len(X), int(k)), np.asarray(labels)), f"K = {k}"


def test_one_dimensional_start_is_mclusts_quantile_classes():
    """Mclust starts EM on one-dimensional data from quantile classes (its qclass), not from a tree; recorded from
    mclust 6.0.0 on acidity and on a vector whose ties merge quantiles (at K = 5 a class stays empty there too)."""
    import json
    from pathlib import Path

    here = Path(__file__).parent
    recorded = json.loads((here / "data" / "mclust_hc_partitions.json").read_text())["quantiles"]
    vectors = {"acidity": _load_without_labels(here / "data" / "acidity.csv")[:, 0],
               "tied": np.array([1, 1, 1, 1, 2, 2, 3, 5, 5, 5, 8, 9, 9, 9, 9, 9], dtype=float)}
    for name, values in vectors.items():
        for k, labels in recorded[name].items():
            np.testing.assert_array_equal(quantile_partition(values, int(k)) + 1, labels, err_msg=f"{name}, K = {k}")


def test_partitions_equal_mclusts_live():
    """The same against mclust itself, where R is installed, on the other data sets of ../shared/data (skips
    cleanly without R or without the data). wreath is left out: its last two merges (K = 3 and 2) differ."""
    from pathlib import Path

    from subprocess_env import r_json

    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    names = [name for name in ("banknote", "thyroid", "cross", "wdbc") if (shared / f"{name}.csv").exists()]
    if not names:
        pytest.skip("needs ../shared/data")
    script = f"""
    suppressMessages(library(mclust))
    out <- list()
    for (name in c({", ".join(f'"{name}"' for name in names)})) {{
      X <- read.csv(file.path("{shared}", paste0(name, ".csv")), check.names = FALSE)
      X <- as.matrix(X[, names(X) != "label"])
      labels <- hclass(hc(X, modelName = "VVV", use = "SVD"), 2:9)
      out[[name]] <- paste(apply(labels, 2, paste, collapse = ","), collapse = ";")
    }}
    cat(jsonlite::toJSON(out, auto_unbox = TRUE))
    """
    recorded = r_json(script)
    for name in names:
        X = _load_without_labels(shared / f"{name}.csv")
        merges = agglomerate(svd_transform(X - X.mean(axis=0)))
        for k, column in zip(range(2, 10), recorded[name].split(";")):
            theirs = np.array(column.split(","), dtype=int)
            assert _mclust_partitions_equal(hc_partition(merges, len(X), k), theirs), f"{name}, K = {k}"
