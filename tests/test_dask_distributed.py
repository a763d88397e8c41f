"""The Dask engine on a real cluster (a LocalCluster of 2 worker processes): same fit as in memory, and a
worker killed in the middle of a fit costs only recomputation."""

import logging
import os
import signal

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from gaussmix import BayesianGaussianMixture, GaussianMixture, KMeans  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::gaussmix.ConvergenceWarning",
                                        "ignore::DeprecationWarning", "ignore::ResourceWarning")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                       silence_logs=logging.CRITICAL)
    client = distributed.Client(cluster)
    client.wait_for_workers(2, timeout=60)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, -2.0], [-3.0, 5.0, 1.0]]) + 500.0
    X = np.vstack([rng.normal(size=(1500, 3)) * [1.0, 0.5, 2.0] + centre for centre in centres])
    return X[rng.permutation(len(X))]


def initial(X):
    return dict(weights_init=np.full(3, 1 / 3), means_init=X[[0, 1, 2]], precisions_init=np.stack([np.eye(3)] * 3))


def gm(**params):
    return GaussianMixture(3, covariance_type="full", chunk_size=750, tol=1e-10, max_iter=8, **params)


def assert_same(fit, reference):
    assert fit.n_iter_ == reference.n_iter_
    for name in ("weights_", "means_", "covariances_"):
        assert isinstance(getattr(fit, name), np.ndarray)
        np.testing.assert_allclose(getattr(fit, name), getattr(reference, name), rtol=1e-10, err_msg=name)
    np.testing.assert_allclose(fit.lower_bounds_, reference.lower_bounds_, rtol=1e-10)


def test_fit_on_the_cluster_equals_in_memory(client, data):
    X = data
    Xd = client.persist(da.from_array(X, chunks=(750, -1)))
    reference = gm(**initial(X)).fit(X)
    assert_same(gm(**initial(X)).fit(Xd), reference)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
    assert_same(gm(**initial(X)).fit(Xd, sample_weight=weights), gm(**initial(X)).fit(X, sample_weight=weights))


def test_bayesian_mixture_on_the_cluster_equals_in_memory(client, data):
    X = data
    Xd = client.persist(da.from_array(X, chunks=(750, -1)))
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(X))
    params = dict(n_components=4, weight_concentration_prior_type="dirichlet_process", chunk_size=750, tol=1e-10,
                  max_iter=8, random_state=0)
    reference = BayesianGaussianMixture(**params).fit(X, sample_weight=weights)
    fit = BayesianGaussianMixture(**params).fit(Xd, sample_weight=weights)
    assert_same(fit, reference)
    np.testing.assert_allclose(fit.elbos_, reference.elbos_, rtol=1e-10)
    np.testing.assert_allclose(fit.predict_proba(Xd), reference.predict_proba(X), rtol=1e-10, atol=1e-12)


def test_kmeans_on_the_cluster_equals_in_memory(client, data):
    X = data
    Xd = client.persist(da.from_array(X, chunks=(750, -1)))
    kmeans = KMeans(3, init=X[[0, 1, 2]], chunk_size=750).fit(Xd)
    kmeans_reference = KMeans(3, init=X[[0, 1, 2]], chunk_size=750).fit(X)
    np.testing.assert_allclose(kmeans.cluster_centers_, kmeans_reference.cluster_centers_, rtol=1e-10)
    np.testing.assert_array_equal(kmeans.labels_, kmeans_reference.labels_)


def test_a_worker_killed_while_a_pass_runs_does_not_lose_the_fit(client, data):
    """A worker dies the moment it starts one of pass 3's block tasks: its running task, its queued ones and
    the persisted blocks it held are lost, and Dask recomputes them on the other worker (then on the worker
    its nanny restarts). The fit must still equal the in-memory one."""
    X = data
    client.wait_for_workers(2, timeout=60)
    Xd = client.persist(da.from_array(X, chunks=(750, -1)))
    distributed.wait(Xd)
    holders = sorted({address for addresses in client.who_has(Xd).values() for address in addresses})
    assert len(holders) == 2  # both workers hold blocks: killing either loses data
    victim = holders[0]
    victim_pid = client.run(os.getpid, workers=[victim])[victim]

    class KillWhenArmed(distributed.WorkerPlugin):
        """On an armed worker, SIGKILL (no goodbye) as the next block task of an E-step starts executing."""

        def setup(self, worker):
            self.worker = worker

        def transition(self, key, start, finish, **kwargs):
            # A block task of a pass is delayed(_sum)(...), so its key is "_sum-<token>".
            if finish == "executing" and str(key).startswith("_sum-") and getattr(self.worker, "armed", False):
                os.kill(os.getpid(), signal.SIGKILL)

    def arm(dask_worker):
        dask_worker.armed = True

    pids_after_pass_3 = []

    def kill_during_pass_3(iteration, mean_log_likelihood, change):
        if iteration == 2:  # the next Dask work is pass 3
            client.run(arm, workers=[victim])
        if iteration == 3:
            pids_after_pass_3.extend(client.run(os.getpid, on_error="ignore").values())

    client.register_plugin(KillWhenArmed(), name="kill-when-armed")
    try:
        fit = gm(callback=kill_during_pass_3, **initial(X)).fit(Xd)
    finally:
        client.unregister_worker_plugin("kill-when-armed")
    # Alive when armed after pass 2, gone when pass 3 had ended: it died while pass 3's tasks ran.
    assert pids_after_pass_3 and victim_pid not in pids_after_pass_3
    assert fit.n_iter_ > 3
    assert_same(fit, gm(**initial(X)).fit(X))
