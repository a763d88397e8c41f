"""BayesianGaussianMixture on every engine: out-of-core (.npy, Parquet, CSV) and Dask fits equal the in-memory fit.

Variational EM adds up the same chunk statistics as EM, so from the same start every engine must give the
same bound trace and posterior to rounding (1e-10), with and without sample weights. The in-memory fit is
itself checked against scikit-learn in test_bayesian_mixture.py.
"""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from threadpoolctl import threadpool_limits

dask_array = pytest.importorskip("dask.array")

from gaussmix import BayesianGaussianMixture, open_dataset  # noqa: E402
from gaussmix.covariance import get_structure  # noqa: E402
from gaussmix.engines import make_engine  # noqa: E402
from gaussmix.fitting.init import initial_statistics  # noqa: E402

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
SOURCES = ("npy", "parquet", "csv", "dask")
N_COMPONENTS = 4
CHUNK = 64
RTOL = 1e-10
POSTERIOR = ("weights_", "means_", "covariances_", "precisions_cholesky_", "mean_precision_", "degrees_of_freedom_",
             "mean_prior_", "covariance_prior_")

pytestmark = pytest.mark.filterwarnings("ignore::gaussmix.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _single_blas_thread():
    with threadpool_limits(1):  # tiny matrices: BLAS threads only slow them down
        yield


@pytest.fixture(scope="module")
def data():
    """Three unequal, correlated clusters far from the origin (the offset matters), 360 rows, 3 features."""
    rng = np.random.default_rng(21)
    a = rng.multivariate_normal([0.0, 0.0, 0.0], [[1.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 0.5]], 160)
    b = rng.normal([6.0, 4.0, 1.0], [1.0, 0.4, 1.5], (120, 3))
    c = rng.normal([-5.0, 6.0, -3.0], 0.6, (80, 3))
    X = (np.vstack([a, b, c]) + [500.0, -200.0, 40.0])[rng.permutation(360)]
    return X, rng.uniform(0.2, 3.0, len(X)), rng.dirichlet(np.ones(N_COMPONENTS), len(X))


@pytest.fixture(scope="module")
def sources(data, tmp_path_factory):
    X, _, _ = data
    folder = tmp_path_factory.mktemp("bayes_sources")
    np.save(folder / "x.npy", X)
    names = [f"x{j}" for j in range(X.shape[1])]
    pq.write_table(pa.table({name: X[:, j] for j, name in enumerate(names)}), folder / "x.parquet",
                   row_group_size=100)  # row groups not aligned with the chunks
    np.savetxt(folder / "x.csv", X, delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    return {
        "npy": str(folder / "x.npy"),
        "parquet": folder / "x.parquet",
        "csv": open_dataset(folder / "x.csv", columns=names),
        "dask": dask_array.from_array(X, chunks=(100, -1)),  # blocks of 100 rows, chunks of 64 inside them
    }


def bgm(covariance_type="full", prior_type="dirichlet_process", **params):
    defaults = dict(n_components=N_COMPONENTS, chunk_size=CHUNK, max_iter=20, tol=1e-8, random_state=0)
    return BayesianGaussianMixture(covariance_type=covariance_type, weight_concentration_prior_type=prior_type,
                                   **{**defaults, **params})


def assert_same_fit(fit, reference):
    assert fit.n_iter_ == reference.n_iter_ and fit.n_components_ == reference.n_components_
    for name in POSTERIOR:
        expected, actual = np.asarray(getattr(reference, name)), getattr(fit, name)
        assert isinstance(actual, (np.ndarray, float)), name
        np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max(), err_msg=name)
    for actual, expected in zip(np.atleast_2d(fit.weight_concentration_), np.atleast_2d(reference.weight_concentration_)):
        np.testing.assert_allclose(actual, expected, rtol=RTOL)
    np.testing.assert_allclose(fit.lower_bounds_, reference.lower_bounds_, rtol=RTOL)
    np.testing.assert_allclose(fit.elbos_, reference.elbos_, rtol=RTOL)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_weighted_fit_from_the_same_responsibilities_equals_in_memory(data, sources, covariance_type, prior_type,
                                                                      source):
    X, weights, responsibilities = data
    reference = bgm(covariance_type, prior_type, responsibilities_init=responsibilities).fit(X, sample_weight=weights)
    assert reference.n_iter_ > 3
    fit = bgm(covariance_type, prior_type, responsibilities_init=responsibilities).fit(sources[source],
                                                                                     sample_weight=weights)
    assert_same_fit(fit, reference)


@pytest.mark.parametrize("init_params", ["kmeans", "random", "hc"])
@pytest.mark.parametrize("source", SOURCES)
def test_default_initialisation_on_small_sources_equals_in_memory(data, sources, source, init_params):
    """Up to INIT_SAMPLE_SIZE rows the initialisation sample is all rows, in order: the same start."""
    X, _, _ = data
    reference = bgm("diag", init_params=init_params).fit(X)
    assert_same_fit(bgm("diag", init_params=init_params).fit(sources[source]), reference)


@pytest.mark.parametrize("source", SOURCES)
def test_prediction_on_sources_equals_in_memory(data, sources, source):
    X, weights, _ = data
    model = bgm("full", weight_threshold=0.05, prune=True).fit(X, sample_weight=weights)
    for method in ("predict", "predict_proba", "score_samples"):
        actual = getattr(model, method)(sources[source])
        assert isinstance(actual, np.ndarray)  # dask input too: numpy results
        np.testing.assert_allclose(actual, getattr(model, method)(X), rtol=1e-12, atol=1e-12, err_msg=method)
    np.testing.assert_allclose(model.score_samples(sources[source], predictive=True),
                               model.score_samples(X, predictive=True), rtol=1e-12)
    np.testing.assert_allclose(model.score(sources[source], sample_weight=weights),
                               model.score(X, sample_weight=weights), rtol=1e-12)


@pytest.mark.parametrize("engine", ["ooc", "dask", "memory"])
def test_engine_override(data, sources, engine):
    X, weights, _ = data
    reference = bgm("tied", "dirichlet_distribution").fit(X, sample_weight=weights)
    assert_same_fit(bgm("tied", "dirichlet_distribution", engine=engine).fit(X, sample_weight=weights), reference)
    assert_same_fit(bgm("tied", "dirichlet_distribution", engine=engine).fit(sources["npy"], sample_weight=weights),
                    reference)


def test_pruned_fit_on_a_source_equals_in_memory(data, sources):
    X, weights, _ = data
    reference = bgm("full", max_iter=200, prune=True, n_components=8).fit(X, sample_weight=weights)
    assert reference.converged_ and reference.n_components_ < 8
    assert_same_fit(bgm("full", max_iter=200, prune=True, n_components=8).fit(sources["parquet"],
                                                                               sample_weight=weights), reference)


def test_bad_input_on_a_source_is_refused_before_any_pass(data, sources):
    X, weights, _ = data
    with pytest.raises(ValueError, match="degrees_of_freedom_prior"):
        bgm(degrees_of_freedom_prior=1.5).fit(sources["dask"])
    with pytest.raises(ValueError, match="mean_prior"):
        bgm(mean_prior=[0.0, 0.0]).fit(sources["npy"])
    with pytest.raises(ValueError, match="responsibilities_init"):
        bgm(responsibilities_init=np.full((10, N_COMPONENTS), 0.25)).fit(sources["csv"])
    with pytest.raises(ValueError, match="sample_weight"):
        bgm().fit(sources["npy"], sample_weight=weights[:-1])
    with pytest.raises(ValueError, match="engine must be one of"):
        bgm(engine="spark").fit(X)
    with pytest.raises(FileNotFoundError):
        bgm().fit("no/such/file.npy")
    model = bgm().fit(X)
    with pytest.raises(ValueError, match="X has 2 features"):
        model.predict(dask_array.from_array(X[:, :2], chunks=(100, -1)))


class CountingChunks:
    """A re-iterable source that counts how often it is read from the start."""

    def __init__(self, X):
        self.X, self.passes = X, 0

    def __iter__(self):
        self.passes += 1
        return iter([self.X[:1000], self.X[1000:]])


@pytest.fixture
def separated():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(size=(1000, 2)) * [1.0, 2.0] + [20.0 * k, -10.0 * k] for k in range(3)])
    return X[rng.permutation(len(X))]


@pytest.mark.parametrize("init_params", ["kmeans", "hc"])
def test_a_large_source_initialises_on_a_sample_and_reaches_the_in_memory_optimum(separated, tmp_path, monkeypatch,
                                                                                  init_params):
    monkeypatch.setattr("gaussmix.engines.INIT_SAMPLE_SIZE", 300)  # 3,000 rows are "large"
    np.save(tmp_path / "separated.npy", separated)
    params = dict(n_components=6, init_params=init_params, random_state=0, max_iter=300, tol=1e-8)
    reference = BayesianGaussianMixture(**params).fit(separated)
    fit = BayesianGaussianMixture(**params).fit(str(tmp_path / "separated.npy"))
    assert fit.n_effective_components_ == reference.n_effective_components_ == 3
    used, reference_used = fit.weights_ > 0.01, reference.weights_ > 0.01
    order, reference_order = np.argsort(fit.means_[used, 0]), np.argsort(reference.means_[reference_used, 0])
    np.testing.assert_allclose(fit.means_[used][order], reference.means_[reference_used][reference_order], atol=1e-5)
    if init_params == "kmeans":
        np.testing.assert_allclose(fit.elbo_, reference.elbo_, rtol=1e-8)
    else:
        # The agglomeration of a 300-row sample and of 1,000 rows put the three unused components elsewhere;
        # their prior-dominated posteriors change the ELBO a little (20 of 14,600 with mclust's tree), the used
        # components not at all.
        np.testing.assert_allclose(fit.elbo_, reference.elbo_, rtol=2e-3)


def test_the_start_reads_only_a_sample_and_every_iteration_one_pass(separated, monkeypatch):
    """k-means (up to 300 Lloyd passes) runs on the in-memory sample; the source is read a fixed number of
    times for opening, the sample, the prior and the start, then once per variational iteration."""
    monkeypatch.setattr("gaussmix.engines.INIT_SAMPLE_SIZE", 300)
    passes = {}
    for max_iter in (2, 5):
        source = CountingChunks(separated)
        fit = BayesianGaussianMixture(3, tol=0.0, max_iter=max_iter, chunk_size=256,
                                      random_state=0).fit(open_dataset(source))
        assert fit.n_iter_ == max_iter
        passes[max_iter] = source.passes
    assert passes[5] - passes[2] == 3
    # Before the 2 iterations: opening the source (2), counting its rows, the offset, the sample, the prior's
    # mean and scatter, assigning all rows to the sample's centres. k-means on the source would add a pass
    # per k-means++ centre and per Lloyd iteration.
    assert passes[2] - 2 <= 8


@pytest.mark.parametrize("method", ["random", "hc", "kmeans"])
def test_initial_statistics_from_a_sample_describe_all_rows(separated, method):
    """Responsibilities known on a sample only ('random', 'hc') give statistics scaled to the total weight;
    centres chosen on a sample ('kmeans') are assigned every row."""
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(separated))
    engine = make_engine(separated, weights, chunk_size=256)
    sample = make_engine(separated[:500], weights[:500], offset=engine.offset, chunk_size=256)
    structure = get_structure("full")
    stats, reference = initial_statistics(engine, structure, 3, method, np.random.RandomState(0), sample=sample)
    assert stats.weight_sum == pytest.approx(weights.sum(), rel=1e-12)
    np.testing.assert_allclose(stats.counts.sum(), weights.sum(), rtol=1e-12)
    own, _ = initial_statistics(sample, structure, 3, method, np.random.RandomState(0))
    if method == "kmeans":  # the same centres, assigned all 3,000 rows rather than 500
        assert own.counts.sum() == pytest.approx(weights[:500].sum(), rel=1e-12)
    else:  # the sample's statistics, scaled
        np.testing.assert_allclose(stats.counts, own.counts * weights.sum() / weights[:500].sum(), rtol=1e-12)
        np.testing.assert_allclose(stats.scatter, own.scatter * weights.sum() / weights[:500].sum(), rtol=1e-12)
