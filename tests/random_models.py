"""Random model parts for tests, written independently of gaussmix."""

import numpy as np


def random_spd(rng, d, eigenvalue_range=(0.2, 5.0), log_scale=1.0):
    """Correlated symmetric positive-definite matrix with unequal, non-unit variances.

    A random rotation of eigenvalues log-uniform in ``eigenvalue_range``, then rows and columns scaled by
    ``exp(U(-log_scale, log_scale))`` so that the variances differ (a variance-vs-standard-deviation
    mix-up cannot pass with it).
    """
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    low, high = eigenvalue_range
    eigenvalues = np.exp(rng.uniform(np.log(low), np.log(high), d))
    scale = np.exp(rng.uniform(-log_scale, log_scale, d))
    matrix = (q * eigenvalues) @ q.T * scale[:, None] * scale[None, :]
    return 0.5 * (matrix + matrix.T)


def random_covariances(rng, name, k, d):
    """Covariances in the shape of structure ``name`` (full, tied, diag, spherical)."""
    if name == "full":
        return np.stack([random_spd(rng, d) for _ in range(k)])
    if name == "tied":
        return random_spd(rng, d)
    if name == "diag":
        return np.exp(rng.uniform(np.log(0.1), np.log(10.0), (k, d)))
    if name == "spherical":
        return np.exp(rng.uniform(np.log(0.1), np.log(10.0), k))
    raise ValueError(name)


def dense(name, covariances, k, d):
    """Dense (k, d, d) covariances from the structure's own shape."""
    if name == "full":
        return np.array(covariances)
    if name == "tied":
        return np.repeat(np.asarray(covariances)[None], k, axis=0)
    if name == "diag":
        return np.stack([np.diag(c) for c in covariances])
    return np.stack([c * np.eye(d) for c in covariances])
