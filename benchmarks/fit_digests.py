"""Digests of fitted models, to show that a refactoring changes no fit by a single bit.

    python benchmarks/fit_digests.py --write benchmarks/results/fit_digests.json   # before the change
    python benchmarks/fit_digests.py --check benchmarks/results/fit_digests.json   # after it

Each case fits one estimator with fixed settings on fixed data (bundled faithful, and seeded synthetic data) and
hashes every fitted array attribute (ending in ``_``) byte for byte, with the iteration count and the final
lower bound. ``--check`` prints the cases whose digest changed and exits 1 if any did. Bits depend on the
machine (BLAS, numba's compiled code, CPU): compare digests taken on the same machine only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings

import numpy as np
from threadpoolctl import threadpool_limits


def _data():
    from gaussmix.datasets import load_faithful

    faithful, _ = load_faithful()
    rng = np.random.default_rng(0)
    blobs = np.vstack([rng.normal(size=(150, 3)) @ np.diag([1.0, 0.5, 2.0]) + shift
                       for shift in ([0, 0, 0], [6, 1, -2], [-3, 5, 4])])
    holes = blobs.copy()
    holes[rng.random(holes.shape) < 0.08] = np.nan
    holes[np.isnan(holes).all(axis=1), 0] = 0.0
    inputs = rng.normal(size=(300, 2))
    experts_y = np.where(inputs[:, 0] > 0, 2.0 * inputs[:, 1] + 1.0, -inputs[:, 1]) + 0.1 * rng.normal(size=300)
    sparse_rows = rng.poisson(0.3, size=(200, 20)).astype(float)
    return {"faithful": faithful, "blobs": blobs, "holes": holes, "inputs": inputs, "experts_y": experts_y,
            "sparse": sparse_rows}


def _cases(data):
    from scipy import sparse

    import gaussmix as gm

    faithful, blobs = data["faithful"], data["blobs"]
    cases = {}
    for covariance in ("full", "tied", "diag", "spherical", "VVE", "EVE", "EEV", "VEI"):
        for init in ("kmeans", "hc"):
            cases[f"GaussianMixture {covariance} {init}"] = (
                lambda c=covariance, i=init: gm.GaussianMixture(3, covariance_type=c, init_params=i,
                                                                random_state=0).fit(faithful))
    cases["GaussianMixture n_init=3"] = lambda: gm.GaussianMixture(3, n_init=3, random_state=1).fit(blobs)
    cases["GaussianMixture prior"] = lambda: gm.GaussianMixture(3, prior="default", random_state=0).fit(blobs)
    cases["GaussianMixture noise"] = lambda: gm.GaussianMixture(2, noise="auto", random_state=0).fit(faithful)
    cases["GaussianMixture missing"] = lambda: gm.GaussianMixture(3, missing="em", random_state=0).fit(data["holes"])
    cases["GaussianMixture weights"] = lambda: gm.GaussianMixture(3, random_state=0).fit(
        blobs, sample_weight=np.linspace(0.5, 2.0, len(blobs)))
    cases["GaussianMixture chunked"] = lambda: gm.GaussianMixture(3, chunk_size=64, random_state=0).fit(blobs)
    cases["GaussianMixture float32"] = lambda: gm.GaussianMixture(3, random_state=0).fit(blobs.astype(np.float32))
    cases["GaussianMixture hard"] = lambda: gm.GaussianMixture(3, assignment="hard", random_state=0).fit(blobs)
    cases["KMeans lloyd"] = lambda: gm.KMeans(3, random_state=0, n_init=3).fit(blobs)
    cases["KMeans elkan"] = lambda: gm.KMeans(3, algorithm="elkan", random_state=0).fit(blobs)
    cases["KMeans sparse"] = lambda: gm.KMeans(4, random_state=0).fit(sparse.csr_matrix(data["sparse"]))
    for kind in ("dirichlet_process", "dirichlet_distribution"):
        cases[f"BayesianGaussianMixture {kind}"] = (
            lambda k=kind: gm.BayesianGaussianMixture(6, weight_concentration_prior_type=k, random_state=0).fit(blobs))
    cases["BayesianGaussianMixture diag"] = lambda: gm.BayesianGaussianMixture(
        6, covariance_type="diag", random_state=0).fit(blobs)
    cases["MixtureOfFactorAnalyzers"] = lambda: gm.MixtureOfFactorAnalyzers(3, n_factors=1, random_state=0).fit(blobs)
    cases["MixtureOfExperts"] = lambda: gm.MixtureOfExperts(2, random_state=0).fit(data["inputs"], data["experts_y"])
    cases["StudentTMixture"] = lambda: gm.StudentTMixture(3, random_state=0).fit(blobs)
    cases["select_model faithful"] = lambda: gm.select_model(faithful, n_components=[1, 2, 3],
                                                             covariance_types=["EEE", "VVV", "VII"],
                                                             random_state=0, n_jobs=1).best_estimator_
    return cases


def digest(model) -> str:
    """sha256 over the fitted array attributes (sorted by name), n_iter_ and lower_bound_, as bytes."""
    hasher = hashlib.sha256()
    for name in sorted(vars(model)):
        value = getattr(model, name)
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, np.ndarray) and value.dtype != object:
            hasher.update(name.encode())
            hasher.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            hasher.update(f"{name}={float(value).hex()}".encode())
    return hasher.hexdigest()[:16]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", metavar="FILE")
    group.add_argument("--check", metavar="FILE")
    args = parser.parse_args(argv)
    data = _data()
    digests = {}
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        for name, fit in _cases(data).items():
            digests[name] = digest(fit())
    if args.write:
        with open(args.write, "w", encoding="utf-8") as handle:
            json.dump(digests, handle, indent=1, sort_keys=True)
            handle.write("\n")
        print(f"{len(digests)} digests written to {args.write}")
        return 0
    with open(args.check, encoding="utf-8") as handle:
        recorded = json.load(handle)
    changed = [name for name in recorded if digests.get(name) != recorded[name]]
    for name in changed:
        print(f"changed: {name}")
    print(f"{len(recorded) - len(changed)}/{len(recorded)} fits bit-identical")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
