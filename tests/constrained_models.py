"""mclust's eigen-decomposed covariances for tests, written independently of gaussmix.

``Sigma_k = lambda_k D_k A_k D_k^T``; letters: volume, shape, orientation, each E (equal), V (variable)
or I (identity).
"""

import numpy as np
from scipy.stats import multivariate_normal

MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")


def random_orthogonal(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _per_component(rng, letter, k, draw):
    """``draw()`` once (E) or per component (V)."""
    if letter == "E":
        value = draw()
        return [value] * k
    return [draw() for _ in range(k)]


def random_constrained(rng, model, k, d):
    """Dense (k, d, d) covariances obeying ``model``; shapes with unequal entries, volumes not 1."""
    volume, shape, orientation = model
    volumes = _per_component(rng, volume, k, lambda: float(np.exp(rng.uniform(-1.0, 1.5))))

    def draw_shape():
        values = np.exp(rng.uniform(-1.2, 1.2, d))
        return values / np.exp(np.log(values).mean())

    shapes = [np.ones(d)] * k if shape == "I" else _per_component(rng, shape, k, draw_shape)
    axes = [np.eye(d)] * k if orientation == "I" else _per_component(rng, orientation, k,
                                                                        lambda: random_orthogonal(rng, d))
    return np.stack([lam * (D * a) @ D.T for lam, a, D in zip(volumes, shapes, axes)])


def decompose(model, covariances):
    """``(variances C_k = lambda_k A_k (k, d), axes D_k (k, d, d))`` of covariances that obey ``model``."""
    k, d, _ = covariances.shape
    orientation = model[2]
    if orientation == "I":
        axes = np.broadcast_to(np.eye(d), (k, d, d))
    elif orientation == "E":
        _, common = np.linalg.eigh(covariances[0])
        axes = np.broadcast_to(common, (k, d, d))
    else:
        _, axes = np.linalg.eigh(covariances)  # ascending: equal shapes pair consistently
    rotated = np.swapaxes(axes, 1, 2) @ covariances @ axes
    return np.diagonal(rotated, axis1=1, axis2=2).copy(), np.array(axes), rotated


def constraint_violation(model, covariances):
    """Largest relative deviation from the model's constraints (0 for a covariance of that model)."""
    variances, _, rotated = decompose(model, covariances)
    k, d = variances.shape
    scale = np.abs(variances).max()
    off_diagonal = np.abs(rotated - variances[:, :, None] * np.eye(d)).max() / scale
    volumes = np.exp(np.log(variances).mean(axis=1))
    shapes = variances / volumes[:, None]
    violations = [off_diagonal]
    if model[0] == "E":
        violations.append(np.ptp(volumes) / volumes.max())
    if model[1] == "E":
        violations.append(np.abs(shapes - shapes[0]).max())
    if model[1] == "I":
        violations.append(np.abs(shapes - 1.0).max())
    return max(violations)


def perturb(rng, model, covariances, size, part):
    """A random covariance of the same model near ``covariances``: relative step ``size`` in one factor,
    ``part`` in {'volume', 'shape', 'orientation'} (single-factor steps expose a first-order gain)."""
    variances, axes, _ = decompose(model, covariances)
    k, d = variances.shape
    volume, shape, orientation = model
    if part == "volume":
        factors = _per_component(rng, volume, k, lambda: float(np.exp(size * rng.standard_normal())))
        variances = variances * np.asarray(factors)[:, None]
    if part == "shape" and shape != "I":
        def shape_step():
            step = size * rng.standard_normal(d)
            return np.exp(step - step.mean())
        variances = variances * np.stack(_per_component(rng, shape, k, shape_step))
    if part == "orientation" and orientation != "I":
        def rotation():
            generator = size * rng.standard_normal((d, d))
            q, _ = np.linalg.qr(np.eye(d) + generator - generator.T)
            return q
        rotations = _per_component(rng, orientation, k, rotation)
        axes = np.stack([R @ D for R, D in zip(rotations, axes)])
    return np.stack([(D * c) @ D.T for c, D in zip(variances, axes)])


def expected_complete_log_likelihood(X, sample_weight, responsibilities, weights, means, covariances):
    """``sum_n w_n sum_k gamma_nk [log pi_k + log N(x_n | mu_k, Sigma_k)]`` by scipy."""
    log_density = np.column_stack([multivariate_normal(m, c).logpdf(X) for m, c in zip(means, covariances)])
    return float(np.sum(sample_weight[:, None] * responsibilities * (np.log(weights) + log_density)))


def mclust_n_var_params(model, g, d):
    """mclust's documented ``nVarParams`` formulas, one line per model (mclust R/mclust.R)."""
    return {
        "EII": 1, "VII": g, "EEI": d, "VEI": g + (d - 1), "EVI": 1 + g * (d - 1), "VVI": g * d,
        "EEE": d * (d + 1) // 2, "VEE": g + d * (d + 1) // 2 - 1, "EVE": 1 + g * (d - 1) + d * (d - 1) // 2,
        "VVE": g + g * (d - 1) + d * (d - 1) // 2, "EEV": 1 + (d - 1) + g * d * (d - 1) // 2,
        "VEV": g + (d - 1) + g * d * (d - 1) // 2, "EVV": 1 + g * (d * (d + 1) // 2 - 1),
        "VVV": g * d * (d + 1) // 2,
    }[model]
