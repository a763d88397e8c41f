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


def mixture_sample(seed, n=600, k=3, d=4, separation=4.0, offset=10.0):
    """Samples of a random mixture: correlated clusters with unequal covariances and a common offset."""
    rng = np.random.default_rng(seed)
    means = separation * rng.standard_normal((k, d)) + offset
    labels = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 8.0)))
    X = np.empty((n, d))
    for j in range(k):
        rows = labels == j
        X[rows] = rng.multivariate_normal(means[j], random_spd(rng, d, (0.3, 3.0), 0.5), size=rows.sum())
    return X


def missing_completely_at_random(X, fraction, seed):
    """MCAR: a copy with ``fraction`` of the entries NaN; every row keeps at least one value."""
    rng = np.random.default_rng(seed + 1000)
    mask = rng.random(X.shape) < fraction
    empty = mask.all(axis=1)
    mask[empty, rng.integers(0, X.shape[1], empty.sum())] = False
    X = X.copy()
    X[mask] = np.nan
    return X
