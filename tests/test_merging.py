"""combine_components: entropy merging of mixture components (Baudry et al. 2010; mclust's clustCombi)."""

import numpy as np
import pytest

from sklearn.base import BaseEstimator
from sklearn.datasets import make_moons
from sklearn.metrics import adjusted_rand_score

from gaussmix import GaussianMixture, combine_components
from subprocess_env import r_json


class FixedResponsibilities(BaseEstimator):
    """A stand-in for a fitted mixture whose responsibilities are given, so results can be checked by hand."""

    def __init__(self, responsibilities):
        self.weights_ = np.asarray(responsibilities).mean(axis=0)  # a fitted attribute, for check_is_fitted
        self.responsibilities = np.asarray(responsibilities, dtype=float)

    def fit(self):  # check_is_fitted wants an estimator
        return self

    def predict_proba(self, X):
        return self.responsibilities


def h(p):
    """Entropy of a two-way split, - p log p - (1 - p) log(1 - p), with 0 log 0 = 0."""
    return -sum(q * np.log(q) for q in (p, 1 - p) if q > 0)


def test_hand_checked_three_components():
    z = [[0.6, 0.3, 0.1],
         [0.2, 0.2, 0.6],
         [0.5, 0.5, 0.0]]
    merged = combine_components(FixedResponsibilities(z), np.zeros((3, 1)))
    # Entropy after each possible merge, by hand: rows become two-way splits.
    after = {(0, 1): h(0.9) + h(0.4) + h(1.0),   # 0.998: the best
             (0, 2): h(0.7) + h(0.8) + h(0.5),   # 1.804
             (1, 2): h(0.6) + h(0.2) + h(0.5)}   # 1.866
    assert min(after, key=after.get) == (0, 1)
    three = -(0.6 * np.log(0.6) + 0.3 * np.log(0.3) + 0.1 * np.log(0.1)) - (2 * 0.2 * np.log(0.2) + 0.6 * np.log(0.6)) \
        + np.log(2)
    np.testing.assert_allclose(merged.entropies, [0.0, after[(0, 1)], three], rtol=1e-12, atol=1e-12)
    first, last = merged.steps
    assert (first.n_clusters, first.pair, last.n_clusters, last.pair) == (2, (0, 1), 1, (0, 1))
    assert first.entropy_decrease == pytest.approx(three - after[(0, 1)])
    assert first.n_merged == 2  # rows 0 and 2 were in component 0 or 1; row 1 in component 2
    np.testing.assert_array_equal(merged.combining_matrix(2), [[1, 1, 0], [0, 0, 1]])
    assert merged.components(2) == [[0, 1], [2]]
    np.testing.assert_allclose(merged.predict_proba(2), [[0.9, 0.1], [0.4, 0.6], [1.0, 0.0]])
    np.testing.assert_array_equal(merged.labels(2), [0, 1, 0])
    np.testing.assert_array_equal(merged.labels(1), [0, 0, 0])
    np.testing.assert_allclose(merged.normalised_differences(), [after[(0, 1)] / 3, (three - after[(0, 1)]) / 2])


def test_union_keeps_the_smaller_number_and_later_clusters_move_down():
    # Components 1 and 3 are the ambiguous pair: their union is cluster 1, component 2 becomes cluster 2.
    z = [[0.0, 0.5, 0.0, 0.5], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.4, 0.0, 0.6]]
    merged = combine_components(FixedResponsibilities(z), np.zeros((4, 1)))
    assert merged.steps[0].pair == (1, 3)
    np.testing.assert_array_equal(merged.combining_matrix(3), [[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]])
    assert merged.entropies[2] == pytest.approx(0.0)
    np.testing.assert_array_equal(merged.labels(3), [1, 0, 2, 1])


@pytest.fixture(scope="module")
def moons():
    X, moon = make_moons(1000, noise=0.07, random_state=1)
    return X, moon, GaussianMixture(8, random_state=0).fit(X)


def test_eight_components_merge_into_the_two_moons(moons):
    X, moon, model = moons
    merged = combine_components(model, X)
    assert adjusted_rand_score(moon, merged.labels(2)) > 0.9
    assert len(merged.steps) == 7 and merged.entropies.shape == (8,)
    # Each merge lowers the entropy; the last one (two moons into one) hardly, as the moons barely overlap.
    assert np.all(np.diff(merged.entropies) >= 0)
    assert merged.steps[-1].entropy_decrease < 0.2 * merged.steps[-2].entropy_decrease


def test_all_components_are_the_estimators_classification(moons):
    X, _, model = moons
    merged = combine_components(model, X)
    np.testing.assert_array_equal(merged.labels(8), model.predict(X))
    np.testing.assert_allclose(merged.predict_proba(8), model.predict_proba(X))
    for n_clusters in range(1, 9):
        probabilities = merged.predict_proba(n_clusters)
        assert probabilities.shape == (len(X), n_clusters)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
        matrix = merged.combining_matrix(n_clusters)
        np.testing.assert_array_equal(matrix.sum(axis=0), 1.0)  # each component in exactly one cluster
        assert sorted(sum(merged.components(n_clusters), [])) == list(range(8))
    entropy = lambda p: -np.sum(p[p > 0] * np.log(p[p > 0]))  # noqa: E731
    np.testing.assert_allclose(merged.entropies, [entropy(merged.predict_proba(k)) for k in range(1, 9)], atol=1e-10)


def test_new_data_are_scored_with_the_estimator(moons):
    X, _, model = moons
    merged = combine_components(model, X)
    X_new = np.array([[0.0, 1.0], [1.0, -0.5], [2.0, 0.5]])
    expected = model.predict_proba(X_new) @ merged.combining_matrix(3).T
    np.testing.assert_allclose(merged.predict_proba(3, X_new), expected)
    np.testing.assert_array_equal(merged.labels(8, X_new), model.predict(X_new))
    with pytest.raises(ValueError, match="n_clusters"):
        merged.labels(9)
    with pytest.raises(ValueError, match="n_clusters"):
        merged.predict_proba(0)


def test_noise_component_stays_apart_and_is_labelled_minus_one():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.3, (150, 2)), rng.normal(3, 0.3, (150, 2)), rng.uniform(-4, 7, (30, 2))])
    model = GaussianMixture(4, noise="auto", random_state=0).fit(X)
    merged = combine_components(model, X)
    np.testing.assert_array_equal(merged.labels(4), model.predict(X))
    assert merged.predict_proba(2).shape == (len(X), 3)  # two clusters and the noise
    for n_clusters in range(1, 5):
        np.testing.assert_allclose(merged.predict_proba(n_clusters)[:, -1], model.predict_proba(X)[:, -1])
    # A union of components can outweigh the noise where none of them alone did, never the other way round.
    assert set(np.flatnonzero(merged.labels(1) == -1)) <= set(np.flatnonzero(model.predict(X) == -1))


def test_unfitted_estimator_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        combine_components(GaussianMixture(3), np.zeros((5, 2)))


def test_entropy_plots(moons):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, _, model = moons
    merged = combine_components(model, X)
    ax = merged.plot()
    np.testing.assert_allclose(ax.lines[0].get_ydata(), merged.entropies)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(1, 9))
    assert merged.plot(kind="normalised").lines[0].get_ydata().shape == (7,)
    with pytest.raises(ValueError, match="kind"):
        merged.plot(kind="banana")
    plt.close("all")


R_CLUSTCOMBI = """
suppressMessages(library(mclust))
X <- as.matrix(faithful)
fit <- Mclust(X, G = 6, modelNames = "VVV", verbose = FALSE)
out <- clustCombi(fit)
cat(jsonlite::toJSON(list(z = fit$z, combiM = out$combiM[1:5],
                          classification = lapply(out$classification, function(x) x - 1)), digits = NA))
"""


def test_same_hierarchy_as_mclust_clustcombi():
    """The same responsibilities (mclust's on faithful, K = 6, VVV) give clustCombi's merges and classifications."""
    reference = r_json(R_CLUSTCOMBI)
    merged = combine_components(FixedResponsibilities(reference["z"]), np.zeros((272, 2)))
    for n_clusters in range(1, 6):
        # mclust's combiM[[k]] is one step (k x (k + 1)); ours are composed from the K components.
        step = np.array(reference["combiM"][n_clusters - 1])
        np.testing.assert_array_equal(merged.combining_matrix(n_clusters),
                                      step @ merged.combining_matrix(n_clusters + 1))
        np.testing.assert_array_equal(merged.labels(n_clusters), reference["classification"][n_clusters - 1])
