"""Engine equivalence: in-memory, out-of-core (.npy, Parquet, CSV, iterable) and Dask fits agree to 1e-10.

Every engine cuts the same chunks (or, for Dask, blocks added in a tree), centres by the same offset and
starts from the same parameters, so the fitted parameters, the per-iteration trace and the number of
iterations must agree with the in-memory fit. The in-memory fit is itself checked against scikit-learn
elsewhere (test_oracle_sklearn.py).
"""

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

dask_array = pytest.importorskip("dask.array")

from gaussmix import GaussianMixture, KMeans, open_dataset  # noqa: E402
from gaussmix.covariance import MCLUST_MODEL_NAMES  # noqa: E402
from gaussmix.exceptions import DataError  # noqa: E402
from gaussmix.engines import (DaskEngine, InMemoryEngine, OutOfCoreEngine, initialisation_engine,  # noqa: E402
                              make_engine)
from random_models import random_covariances  # noqa: E402

STRUCTURES = ["full", "tied", "diag", "spherical"]
SOURCES = ["npy", "parquet", "parquet-dir", "csv", "iterable", "dask"]
CHUNK = 256
N_COMPONENTS = 3
RTOL = 1e-10

pytestmark = pytest.mark.filterwarnings("ignore::gaussmix.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    """Three correlated clusters far from the origin (the offset matters), 2,900 rows, 4 features."""
    rng = np.random.default_rng(7)
    d = 4
    centres = rng.normal(scale=4.0, size=(N_COMPONENTS, d)) + 1e4
    covariances = random_covariances(rng, "full", N_COMPONENTS, d)
    sizes = [1300, 1000, 600]
    X = np.vstack([rng.multivariate_normal(centres[k], covariances[k], size=n) for k, n in enumerate(sizes)])
    return X[rng.permutation(len(X))], rng.uniform(0.2, 3.0, len(X))


@pytest.fixture(scope="module")
def sources(data, tmp_path_factory):
    X, _ = data
    folder = tmp_path_factory.mktemp("sources")
    np.save(folder / "x.npy", X)
    names = [f"x{j}" for j in range(X.shape[1])]
    table = pa.table({name: X[:, j] for j, name in enumerate(names)})
    pq.write_table(table, folder / "x.parquet", row_group_size=700)  # row groups not aligned with chunks
    (folder / "parts").mkdir()
    pq.write_table(table.slice(0, 1000), folder / "parts" / "part-0.parquet", row_group_size=333)
    pq.write_table(table.slice(1000), folder / "parts" / "part-1.parquet")
    np.savetxt(folder / "x.csv", X, delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    return {
        "npy": str(folder / "x.npy"),
        "parquet": folder / "x.parquet",
        "parquet-dir": open_dataset(folder / "parts"),
        "csv": open_dataset(folder / "x.csv", columns=names),
        "iterable": [X[:1000], X[1000:1001], X[1001:]],  # uneven pieces, one of a single row
        "dask": dask_array.from_array(X, chunks=(300, 2)),  # column blocks too: the engine rechunks
    }


def initial_parameters(X, structure, seed=0):
    """Deliberately rough starting parameters (so EM has work to do), in the structure's shape."""
    rng = np.random.default_rng(seed)
    means = X[rng.choice(len(X), N_COMPONENTS, replace=False)]
    covariances = random_covariances(rng, structure, N_COMPONENTS, X.shape[1])
    precisions = (np.linalg.inv(covariances) if structure in ("full", "tied") else 1.0 / covariances)
    return dict(weights_init=np.full(N_COMPONENTS, 1 / N_COMPONENTS), means_init=means, precisions_init=precisions)


def assert_same_fit(fit, reference):
    assert fit.n_iter_ == reference.n_iter_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        expected = getattr(reference, name)
        actual = getattr(fit, name)
        assert isinstance(actual, np.ndarray)
        np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max(), err_msg=name)
    np.testing.assert_allclose(fit.lower_bounds_, reference.lower_bounds_, rtol=RTOL)
    np.testing.assert_allclose(fit.lower_bound_, reference.lower_bound_, rtol=RTOL)


def gm(structure, **params):
    return GaussianMixture(N_COMPONENTS, covariance_type=structure, chunk_size=CHUNK, tol=1e-9, max_iter=25,
                           random_state=0, **params)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("structure", STRUCTURES)
def test_fit_from_same_initialisation_equals_in_memory(data, sources, structure, source):
    X, _ = data
    init = initial_parameters(X, structure)
    reference = gm(structure, **init).fit(X)
    assert reference.n_iter_ > 3
    assert_same_fit(gm(structure, **init).fit(sources[source]), reference)


# mclust's models beyond scikit-learn's four (VII, VVI, EEE and VVV are the same code as spherical, diag,
# tied and full, tested above); VEI, VEE, EVE, VVE and VEV have iterative M-steps.
MCLUST_ONLY = [name for name in MCLUST_MODEL_NAMES if name not in ("VII", "VVI", "EEE", "VVV")]
ITERATIVE_M_STEP = ["VEI", "VEE", "EVE", "VVE", "VEV"]


@pytest.fixture(scope="module")
def small(data, tmp_path_factory):
    """The first 900 rows (3 features) in memory, as .npy, Parquet, CSV and Dask, and starting means: ten
    models times four sources must stay fast."""
    X = data[0][:900, :3]
    folder = tmp_path_factory.mktemp("small")
    np.save(folder / "x.npy", X)
    pq.write_table(pa.table({f"x{j}": X[:, j] for j in range(3)}), folder / "x.parquet", row_group_size=250)
    np.savetxt(folder / "x.csv", X, delimiter=",", fmt="%.17g")
    sources = {"npy": str(folder / "x.npy"), "parquet": folder / "x.parquet", "csv": folder / "x.csv",
               "dask": dask_array.from_array(X, chunks=(300, -1))}
    return X, initial_parameters(X, "full", seed=4)["means_init"], sources


def small_gm(name, means):
    return GaussianMixture(N_COMPONENTS, covariance_type=name, means_init=means, chunk_size=128, tol=1e-9,
                           max_iter=10)


@pytest.fixture(scope="module")
def mclust_reference(small):
    """In-memory fits of every mclust model from the same means (EM estimates the rest in one pass)."""
    X, means, _ = small
    return {name: small_gm(name, means).fit(X) for name in MCLUST_ONLY}


@pytest.mark.parametrize("source", ["npy", "dask"])
@pytest.mark.parametrize("name", MCLUST_ONLY)
def test_every_mclust_model_equals_in_memory(small, mclust_reference, name, source):
    _, means, sources = small
    assert mclust_reference[name].n_iter_ > 3
    assert_same_fit(small_gm(name, means).fit(sources[source]), mclust_reference[name])


@pytest.mark.parametrize("source", ["parquet", "csv"])
@pytest.mark.parametrize("name", ["VEV", "EVE"])  # an alternating M-step and a majorisation-minimisation one
def test_iterative_m_steps_on_streamed_sources_equal_in_memory(small, mclust_reference, name, source):
    _, means, sources = small
    assert name in ITERATIVE_M_STEP
    assert_same_fit(small_gm(name, means).fit(sources[source]), mclust_reference[name])


@pytest.mark.parametrize("source", ["npy", "csv", "dask"])
def test_sample_weights_give_the_same_fit(data, sources, source):
    X, weights = data
    init = initial_parameters(X, "full", seed=1)
    reference = gm("full", **init).fit(X, sample_weight=weights)
    assert_same_fit(gm("full", **init).fit(sources[source], sample_weight=weights), reference)


@pytest.mark.parametrize("source", ["npy", "parquet", "dask"])
def test_default_initialisation_on_small_sources_equals_in_memory(data, sources, source):
    """Up to INIT_SAMPLE_SIZE rows the initialisation sample is the whole data, in order."""
    X, _ = data
    reference = gm("diag").fit(X)
    assert_same_fit(gm("diag").fit(sources[source]), reference)


@pytest.mark.parametrize("engine", ["ooc", "dask", "memory"])
def test_engine_override(data, sources, engine):
    X, _ = data
    init = initial_parameters(X, "tied")
    reference = gm("tied", **init).fit(X)
    assert_same_fit(gm("tied", engine=engine, **init).fit(X), reference)
    assert_same_fit(gm("tied", engine=engine, **init).fit(sources["npy"]), reference)


def test_engine_choice_follows_the_type_of_x(data, sources):
    X, _ = data
    assert type(make_engine(X)) is InMemoryEngine
    assert type(make_engine(sources["npy"])) is OutOfCoreEngine
    assert type(make_engine(sources["iterable"])) is OutOfCoreEngine
    assert type(make_engine(sources["dask"])) is DaskEngine
    with pytest.raises(ValueError, match="engine must be one of"):
        gm("full", engine="spark").fit(X)


@pytest.mark.parametrize("source", SOURCES)
def test_kmeans_equals_in_memory(data, sources, source):
    X, _ = data
    init = initial_parameters(X, "spherical", seed=3)["means_init"]
    reference = KMeans(N_COMPONENTS, init=init, chunk_size=CHUNK, tol=0).fit(X)
    fit = KMeans(N_COMPONENTS, init=init, chunk_size=CHUNK, tol=0).fit(sources[source])
    assert fit.n_iter_ == reference.n_iter_ > 1
    np.testing.assert_allclose(fit.cluster_centers_, reference.cluster_centers_, rtol=RTOL)
    np.testing.assert_allclose(fit.inertia_, reference.inertia_, rtol=RTOL)
    np.testing.assert_array_equal(fit.labels_, reference.labels_)
    np.testing.assert_array_equal(fit.predict(sources[source]), reference.predict(X))
    np.testing.assert_allclose(fit.score(sources[source]), reference.score(X), rtol=RTOL)


def test_kmeans_default_seeding_on_a_source(data, sources):
    X, _ = data
    reference = KMeans(N_COMPONENTS, random_state=0, chunk_size=CHUNK).fit(X)
    fit = KMeans(N_COMPONENTS, random_state=0, chunk_size=CHUNK).fit(sources["parquet"])
    np.testing.assert_allclose(fit.cluster_centers_, reference.cluster_centers_, rtol=RTOL)


@pytest.mark.parametrize("source", ["npy", "csv", "dask"])
def test_prediction_on_sources_equals_in_memory(data, sources, source):
    X, _ = data
    model = gm("full", **initial_parameters(X, "full")).fit(X)
    for method in ("score_samples", "predict_proba", "predict"):
        expected = getattr(model, method)(X)
        actual = getattr(model, method)(sources[source])
        assert isinstance(actual, np.ndarray)  # dask input too: results are brought back as numpy
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, err_msg=method)
    np.testing.assert_allclose(model.bic(sources[source]), model.bic(X), rtol=1e-12)


def test_float32_npy_stays_float32_and_matches_in_memory(data, tmp_path):
    X = data[0].astype(np.float32) - np.float32(1e4)
    np.save(tmp_path / "x32.npy", X)
    assert make_engine(str(tmp_path / "x32.npy")).dtype == np.float32
    init = initial_parameters(X.astype(np.float64), "diag")
    reference = gm("diag", **init).fit(X)
    assert_same_fit(gm("diag", **init).fit(str(tmp_path / "x32.npy")), reference)


def test_one_streaming_pass_per_iteration(data):
    """Each EM iteration reads the source once: two more iterations, two more passes."""
    X, _ = data

    class CountingChunks:
        def __init__(self):
            self.passes = 0

        def __iter__(self):
            self.passes += 1
            return iter([X[:1500], X[1500:]])

    init = initial_parameters(X, "diag")
    passes = {}
    for max_iter in (3, 5):
        source = CountingChunks()
        fit = GaussianMixture(N_COMPONENTS, covariance_type="diag", tol=0, max_iter=max_iter, chunk_size=CHUNK,
                              **init).fit(open_dataset(source))
        assert fit.n_iter_ == max_iter
        passes[max_iter] = source.passes
    assert passes[5] - passes[3] == 2


def test_initialisation_sample_is_a_subset_with_the_same_offset(data, sources):
    X, weights = data
    engine = make_engine(sources["npy"], weights, chunk_size=CHUNK)
    sample = initialisation_engine(engine, np.random.RandomState(0), max_rows=500)
    assert isinstance(sample, InMemoryEngine) and sample.n_samples == 500
    np.testing.assert_array_equal(sample.offset, engine.offset)
    rows = sample.X
    positions = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in rows]
    assert len(set(positions)) == 500 and positions == sorted(positions)
    np.testing.assert_array_equal(sample.sample_weight, weights[positions])


def test_large_source_initialises_on_a_sample(tmp_path, monkeypatch):
    """Above the sample size the initialisation sees a sample; EM on all rows then finds the same optimum."""
    monkeypatch.setattr("gaussmix.engines.INIT_SAMPLE_SIZE", 300)
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(1000, 3)) + 20.0 * k for k in range(N_COMPONENTS)])[rng.permutation(3000)]
    np.save(tmp_path / "separated.npy", X)
    reference = gm("full").fit(X)
    fit = gm("full").fit(str(tmp_path / "separated.npy"))
    order, reference_order = np.argsort(fit.means_[:, 0]), np.argsort(reference.means_[:, 0])
    np.testing.assert_allclose(fit.means_[order], reference.means_[reference_order], atol=1e-6)
    np.testing.assert_allclose(fit.lower_bound_, reference.lower_bound_, rtol=1e-9)


@pytest.mark.filterwarnings("ignore::gaussmix.DegenerateComponentWarning")
@pytest.mark.parametrize("engine", ["ooc", "dask"])
def test_reseeding_a_degenerate_component_is_the_same_on_every_engine(engine):
    """Re-seeding reads the worst-explained rows through the engine (rows_with_lowest)."""
    from test_degenerate import far_narrow_start, three_blobs

    X, _ = three_blobs()
    start = far_narrow_start("full")
    reference = GaussianMixture(3, chunk_size=64, random_state=0, **start).fit(X)
    assert reference.n_reseeded_ >= 1
    fit = GaussianMixture(3, chunk_size=64, random_state=0, engine=engine, **start).fit(X)
    assert fit.n_reseeded_ == reference.n_reseeded_
    assert_same_fit(fit, reference)

    centres = np.array([[0.0, 0.0], [10.0, 0.0], [1000.0, 1000.0]])  # the far centre gets no rows
    kmeans_reference = KMeans(3, init=centres, chunk_size=64).fit(X)
    kmeans = KMeans(3, init=centres, chunk_size=64, engine=engine).fit(X)
    np.testing.assert_allclose(kmeans.cluster_centers_, kmeans_reference.cluster_centers_, rtol=RTOL)
    assert np.abs(kmeans.cluster_centers_).max() < 50


@pytest.mark.parametrize("n_jobs", [1, 2, 4, None])
def test_every_engine_chooses_the_same_default_chunks_and_offset(n_jobs):
    """With the data's size and n_jobs in the rule, the default chunks of 10,000 rows differ with n_jobs (all
    rows in one chunk, or one chunk per thread); each engine must pick the in-memory engine's size."""
    X = np.random.default_rng(0).normal(size=(10_000, 4)) + 50.0
    engines = [make_engine(X, engine=kind, n_jobs=n_jobs, n_components=N_COMPONENTS)
               for kind in ("memory", "ooc", "dask")]
    engines.append(make_engine(dask_array.from_array(X, chunks=(1_000, -1)), n_jobs=n_jobs,
                               n_components=N_COMPONENTS))
    reference = engines[0]
    for engine in engines[1:]:
        assert engine.chunk_size == reference.chunk_size, type(engine).__name__
        np.testing.assert_array_equal(engine.offset, reference.offset)
    if n_jobs == 4:
        assert reference.chunk_size == 2_500  # one chunk per thread: the size depends on n_jobs
    assert make_engine(dask_array.from_array(X, chunks=(1_000, -1)), chunk_size=300).chunk_size == 300


def test_a_dask_pass_holds_the_parameters_in_one_graph_node(data):
    """The parameters travel once per pass: in the graph each pass computes, exactly one node holds them (the
    pass context) and every block task refers to it by key, instead of carrying its own copy."""
    import pickle

    import cloudpickle
    import dask

    from gaussmix.params import MixtureParams

    class FindsParameters(cloudpickle.Pickler):
        """Pickles like Dask does and notes whether MixtureParams were among the objects written."""

        found = False

        def persistent_id(self, obj):
            if isinstance(obj, MixtureParams):
                self.found = True
            return None

    def holds_parameters(node) -> bool:
        pickler = FindsParameters(open(os.devnull, "wb"), protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dump(node)
        return pickler.found

    graphs = []

    def recording_scheduler(graph, keys, **kwargs):
        # What a scheduler receives: a mapping of keys to tasks (recent Dask wraps it in an expression).
        graphs.append(dict(graph.__dask_graph__() if hasattr(graph, "__dask_graph__") else graph))
        return dask.get(graph, keys, **kwargs)

    X, _ = data
    n_blocks = 10
    Xd = dask_array.from_array(X, chunks=(-(-len(X) // n_blocks), -1))
    with dask.config.set(scheduler=recording_scheduler):
        fit = GaussianMixture(N_COMPONENTS, chunk_size=CHUNK, tol=0, max_iter=4,
                              **initial_parameters(X, "full")).fit(Xd)
    passes = [graph for graph in graphs if any(str(key).startswith("_sum-") for key in graph)]
    e_steps = []
    for graph in passes:
        holders = [key for key, node in graph.items() if holds_parameters(node)]
        assert len(holders) <= 1, holders
        if holders:
            e_steps.append(graph)
            assert str(holders[0]).startswith("_PassContext-")
            assert sum(str(key).startswith("_sum-") for key in graph) == n_blocks
    assert len(e_steps) >= fit.n_iter_ + 1  # every iteration's E-step and the final one


# ------------------------------------------------------------------------------------ missing values
# missing='em' on every engine: the missing-value E-step is one more per-chunk `expect`, so the fits must
# agree exactly as the complete-data ones do. NaN in .npy and Dask, nulls and NaN in Parquet, empty and
# NA fields in CSV all read as missing values.
MISSING_SOURCES = ["npy", "parquet", "csv", "iterable", "dask"]
MISSING_CHUNK = 150
# Every source for 'full' and for mclust's VEV (an iterative M-step); the other structures, EVE (iterative
# too) and factor analysers (a projected scatter) included, on one source of each kind.
MISSING_CASES = ([(structure, source) for structure in ("full", "VEV") for source in MISSING_SOURCES]
                 + [(structure, source) for structure in ("diag", "tied", "EVE", "factor")
                    for source in ("npy", "csv", "dask")])


@pytest.fixture(scope="module")
def missing_data():
    """Three clusters far from the origin, 450 rows, 3 features, 15% of the entries missing at random, and
    feature 2 missing throughout the first chunk (its offset must come from the second); with weights."""
    rng = np.random.default_rng(11)
    d = 3
    centres = rng.normal(scale=4.0, size=(N_COMPONENTS, d)) + 1e4
    covariances = random_covariances(rng, "full", N_COMPONENTS, d)
    X = np.vstack([rng.multivariate_normal(centres[k], covariances[k], size=n) for k, n in enumerate([200, 150, 100])])
    X = X[rng.permutation(len(X))]
    X[rng.random(X.shape) < 0.15] = np.nan
    X[:MISSING_CHUNK, 2] = np.nan
    empty = np.isnan(X).all(axis=1)
    X[empty, 0] = centres[0, 0]
    return X, rng.uniform(0.2, 3.0, len(X))


def write_csv_with_missing(path, X, names):
    """Missing values as empty fields in even rows and as NA in odd ones."""
    with open(path, "w") as file:
        file.write(",".join(names) + "\n")
        for i, row in enumerate(X):
            blank = "" if i % 2 == 0 else "NA"
            file.write(",".join(blank if np.isnan(value) else f"{value:.17g}" for value in row) + "\n")


@pytest.fixture(scope="module")
def missing_sources(missing_data, tmp_path_factory):
    X, _ = missing_data
    folder = tmp_path_factory.mktemp("missing_sources")
    np.save(folder / "x.npy", X)
    names = [f"x{j}" for j in range(X.shape[1])]
    # Nulls in the first two columns (from_pandas turns NaN into null), NaN floats in the last.
    columns = {name: pa.array(X[:, j], from_pandas=j < 2) for j, name in enumerate(names)}
    assert columns["x0"].null_count > 0 and columns["x2"].null_count == 0
    pq.write_table(pa.table(columns), folder / "x.parquet", row_group_size=170)
    write_csv_with_missing(folder / "x.csv", X, names)
    return {
        "npy": str(folder / "x.npy"),
        "parquet": folder / "x.parquet",
        "csv": str(folder / "x.csv"),
        "iterable": [X[:200], X[200:201], X[201:]],
        "dask": dask_array.from_array(X, chunks=(160, 2)),
    }


def missing_gm(structure, **params):
    from gaussmix.covariance import FactorAnalyzers

    covariance_type = FactorAnalyzers(1) if structure == "factor" else structure
    return GaussianMixture(N_COMPONENTS, covariance_type=covariance_type, chunk_size=MISSING_CHUNK, tol=1e-9,
                           max_iter=12, random_state=0, missing="em", **params)


def missing_initialisation(X, structure):
    """Full starting parameters for the four sklearn structures; given weights and means otherwise (the
    covariances then come from one M-step on the complete rows nearest to each mean)."""
    complete = X[~np.isnan(X).any(axis=1)]
    if structure in STRUCTURES:
        return initial_parameters(complete, structure, seed=4)
    start = initial_parameters(complete, "full", seed=4)
    return {key: value for key, value in start.items() if key != "precisions_init"}


@pytest.fixture(scope="module")
def missing_reference(missing_data):
    """The in-memory fit of each structure (computed once)."""
    X, weights = missing_data
    fits = {}

    def reference(structure):
        if structure not in fits:
            start = missing_initialisation(X, structure)
            fits[structure] = missing_gm(structure, **start).fit(X, sample_weight=weights)
        return fits[structure]

    return reference


@pytest.mark.parametrize("structure, source", MISSING_CASES)
def test_missing_values_fit_equals_in_memory_on_every_engine(missing_data, missing_sources, missing_reference,
                                                             structure, source):
    X, weights = missing_data
    reference = missing_reference(structure)
    assert reference.n_iter_ > 3
    assert np.all(np.diff(reference.lower_bounds_) > -1e-12)
    start = missing_initialisation(X, structure)
    assert_same_fit(missing_gm(structure, **start).fit(missing_sources[source], sample_weight=weights), reference)


@pytest.mark.parametrize("engine", ["ooc", "dask"])
def test_missing_values_in_an_array_on_the_ooc_and_dask_engines(missing_data, missing_reference, engine):
    X, weights = missing_data
    fit = missing_gm("VEV", engine=engine, **missing_initialisation(X, "VEV")).fit(X, sample_weight=weights)
    assert_same_fit(fit, missing_reference("VEV"))


@pytest.mark.parametrize("source", ["npy", "parquet", "dask"])
def test_missing_values_default_initialisation_on_small_sources_equals_in_memory(missing_data, missing_sources, source):
    """k-means on the complete rows of the initialisation sample, which is all rows up to INIT_SAMPLE_SIZE."""
    X, weights = missing_data
    reference = missing_gm("diag").fit(X, sample_weight=weights)
    assert_same_fit(missing_gm("diag").fit(missing_sources[source], sample_weight=weights), reference)


def test_offset_of_every_engine_is_the_observed_mean_of_the_first_chunk(missing_data, missing_sources):
    X, _ = missing_data
    expected = np.array([np.nanmean(X[:MISSING_CHUNK, 0]), np.nanmean(X[:MISSING_CHUNK, 1]),
                         np.nanmean(X[MISSING_CHUNK:2 * MISSING_CHUNK, 2])])  # feature 2: none in the first chunk
    for name, source in [("memory", X), *missing_sources.items()]:
        offset = make_engine(source, chunk_size=MISSING_CHUNK, allow_missing=True).offset
        np.testing.assert_allclose(offset, expected, rtol=1e-14, err_msg=name)


@pytest.mark.parametrize("source", MISSING_SOURCES)
def test_prediction_with_missing_values_on_sources_equals_in_memory(missing_data, missing_sources, missing_reference,
                                                                    source):
    X, _ = missing_data
    model = missing_reference("full")
    for method in ("score_samples", "predict_proba", "predict"):
        expected = getattr(model, method)(X)
        actual = getattr(model, method)(missing_sources[source])
        assert isinstance(actual, np.ndarray) and np.all(np.isfinite(actual))
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, err_msg=method)
    np.testing.assert_allclose(model.score(missing_sources[source]), model.score(X), rtol=1e-12)


def test_missing_values_in_sources_are_errors_by_default(missing_data, missing_sources):
    X, _ = missing_data
    for name, source in missing_sources.items():
        with pytest.raises(DataError, match=r"missing, NaN or infinite value at row \d+.*missing='em'"):
            gm("full").fit(source)
    with pytest.raises(ValueError, match="NaN"):  # an array is validated whole, whatever the engine
        gm("full", engine="ooc").fit(X)
    with pytest.raises(DataError, match="missing, NaN or infinite"):
        gm("diag").fit(X[~np.isnan(X).any(axis=1)]).score_samples(missing_sources["npy"])  # missing='error' model


@pytest.fixture
def source_with_an_empty_row(missing_data, tmp_path):
    X = missing_data[0].copy()
    X[300] = np.nan
    np.save(tmp_path / "empty_row.npy", X)
    write_csv_with_missing(tmp_path / "empty_row.csv", X, [f"x{j}" for j in range(X.shape[1])])
    return X, {"npy": str(tmp_path / "empty_row.npy"), "csv": str(tmp_path / "empty_row.csv"),
               "dask": dask_array.from_array(X, chunks=(250, 3))}


@pytest.mark.parametrize("source", ["npy", "csv", "dask"])
def test_a_row_with_every_feature_missing_is_rejected_by_name_before_em(source_with_an_empty_row, source):
    _, sources = source_with_an_empty_row
    iterations = []
    with pytest.raises(DataError, match="row 300 has every feature missing"):
        missing_gm("full", callback=lambda *args: iterations.append(args)).fit(sources[source])
    assert iterations == []


def test_infinity_and_features_never_observed_are_rejected_in_sources(missing_data, tmp_path):
    X = missing_data[0].copy()
    X[350, 2] = np.inf
    np.save(tmp_path / "inf.npy", X)
    with pytest.raises(DataError, match=r"column '2' has an infinite value at row 350.*only NaN"):
        missing_gm("full").fit(str(tmp_path / "inf.npy"))
    with pytest.raises(DataError, match="column 2 has an infinite value at row 350"):
        missing_gm("full").fit(dask_array.from_array(X, chunks=(250, 3)))
    X = missing_data[0].copy()
    X[:, 1] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 1e4
    np.save(tmp_path / "no_feature_1.npy", X)
    with pytest.raises(ValueError, match=r"feature\(s\) \[1\].*every row"):
        missing_gm("full").fit(str(tmp_path / "no_feature_1.npy"))


def test_missing_em_on_a_complete_source_is_the_ordinary_fit(data, sources):
    X, weights = data
    init = initial_parameters(X, "full")
    reference = gm("full", **init).fit(X, sample_weight=weights)
    assert_same_fit(gm("full", missing="em", **init).fit(sources["csv"], sample_weight=weights), reference)


@pytest.mark.filterwarnings("ignore::gaussmix.DegenerateComponentWarning")
@pytest.mark.parametrize("engine", ["ooc", "dask"])
def test_reseeding_with_missing_values_is_the_same_on_every_engine(engine):
    """Re-seeding reads the worst-explained rows through the engine, NaN read as the feature means."""
    from test_degenerate import far_narrow_start, three_blobs

    X, _ = three_blobs()
    X[np.random.default_rng(0).random(X.shape) < 0.15] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    start = far_narrow_start("full")
    reference = GaussianMixture(3, chunk_size=64, random_state=0, missing="em", **start).fit(X)
    assert reference.n_reseeded_ >= 1 and np.all(np.isfinite(reference.means_))
    fit = GaussianMixture(3, chunk_size=64, random_state=0, missing="em", engine=engine, **start).fit(X)
    assert fit.n_reseeded_ == reference.n_reseeded_
    assert_same_fit(fit, reference)


@pytest.mark.parametrize("engine", ["memory", "ooc", "dask"])
def test_rows_for_reseeding_are_scored_and_returned_mean_imputed(missing_data, engine):
    """With every row incomplete, the worst-explained rows must still be found (on the mean-imputed rows)."""
    from gaussmix.families.missing import MeanFilledRows, observed_summary

    X = missing_data[0].copy()
    complete = ~np.isnan(X).any(axis=1)
    X[complete, 1] = np.nan  # no complete row left (none loses its last value: it had all three)
    source = make_engine(X, engine=engine, chunk_size=MISSING_CHUNK, allow_missing=True)
    view = MeanFilledRows(source, observed_summary(source).means)

    def score(chunk):
        return -np.abs(chunk - 3.0).sum(axis=1)

    filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X) - source.offset
    expected = filled[np.argsort(score(filled), kind="stable")[:4]]
    # Centred values near 0 of data near 1e4: compare at the rounding of the uncentred values.
    np.testing.assert_allclose(view.rows_with_lowest(score, 4), expected, rtol=1e-10, atol=1e-9)
