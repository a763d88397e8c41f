"""Bootstrap inference side by side with R's mclust: likelihood-ratio tests and standard errors on real data.

    python benchmarks/bench_bootstrap_mclust.py                      # faithful and diabetes, 99 replicates
    python benchmarks/bench_bootstrap_mclust.py --n-bootstrap 199    # more replicates on both sides
    python benchmarks/bench_bootstrap_mclust.py --no-r               # ours only (as on a machine without R)

For each data set of ``../shared/data`` (column ``label`` dropped) and the model mclust chooses for it
(faithful: EEE with 3 components; diabetes: VVV with 3):

* ``gaussmix.bootstrap_lrt(X, covariance_type=model, max_components=4)`` beside
  ``mclustBootstrapLRT(X, modelName = model, maxG = 3)``: the observed statistics should agree (both are
  maximised log-likelihoods), the p-values up to Monte Carlo error (about ``sqrt(p (1 - p) / B)``, at most 0.05
  for B = 99) and to the differences in how the two search the likelihood's maxima.
* ``gaussmix.bootstrap_parameters(GaussianMixture(3, covariance_type=model).fit(X), X, method="nonparametric")``
  beside ``MclustBootstrap(Mclust(X, G = 3, modelName = model), type = "bs")``: standard errors of the weights,
  the means and the variances (diagonals of the covariances); components matched by their means. Two bootstrap
  estimates of one standard error differ by about ``sqrt(2 / (2 (B - 1)))``, 10% for B = 99.

Both sides are timed inside their own process around the call only (R's ``system.time``, Python's
``perf_counter``); imports, numba's compilation and starting joblib's workers are not counted (a warm-up runs
first). mclust runs in one thread; gaussmix uses every core (``n_jobs=None``). Without R (or with ``--no-r``)
the mclust columns say so and the run still succeeds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

import gaussmix
from gaussmix.selection import SELECTION_DEFAULTS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_selection_mclust import load, mclust_available  # noqa: E402  (the data loader and R probe we share)

MODELS = {"faithful": "EEE", "diabetes": "VVV"}
"""mclust's choice by BIC for each data set (Mclust(X) with its defaults), used for both tests."""
N_COMPONENTS = 3
MAX_COMPONENTS = 4

R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1]))
model <- args[2]; nboot <- as.integer(args[3]); maxG <- as.integer(args[4]); G <- as.integer(args[5])
set.seed(0)
invisible(mclustBootstrapLRT(X, modelName = model, nboot = 2, maxG = 1, verbose = FALSE))  # warm-up
lrt_time <- system.time(lrt <- mclustBootstrapLRT(X, modelName = model, nboot = nboot, maxG = maxG,
                                                  verbose = FALSE))[["elapsed"]]
fit <- Mclust(X, G = G, modelNames = model, verbose = FALSE)
se_time <- system.time(boot <- MclustBootstrap(fit, nboot = nboot, type = "bs", verbose = FALSE))[["elapsed"]]
se <- summary(boot, what = "se")
line <- function(key, values) cat(key, sprintf("%.10g", as.vector(values)), "\n")
line("lrt_statistic", lrt$obs); line("lrt_p_value", lrt$p.value); line("lrt_time", lrt_time)
line("weights", fit$parameters$pro); line("means", fit$parameters$mean)  # d x G: component by component
line("se_weights", se$pro); line("se_means", se$mean)
line("se_variances", apply(se$variance, 3, diag))  # d x G: each component's diagonal
line("se_time", se_time); line("nonfit", boot$nonfit)
"""


def run_mclust(X: np.ndarray, model: str, n_bootstrap: int) -> dict:
    """mclust's tests and standard errors, each a flat array (components in rows), and its timings."""
    with tempfile.TemporaryDirectory() as folder:
        data, script = Path(folder) / "data.csv", Path(folder) / "bootstrap.R"
        np.savetxt(data, X, delimiter=",", header=",".join(f"x{j}" for j in range(X.shape[1])), comments="",
                   fmt="%.17g")
        script.write_text(R_SCRIPT)
        output = subprocess.run(["Rscript", str(script), str(data), model, str(n_bootstrap), str(MAX_COMPONENTS - 1),
                                 str(N_COMPONENTS)], capture_output=True, text=True, check=True).stdout
    values = {key: np.array([float(v) for v in rest]) for key, *rest in (line.split() for line in output.splitlines())}
    for key in ("means", "se_means", "se_variances"):
        values[key] = values[key].reshape(N_COMPONENTS, X.shape[1])
    for key in ("lrt_time", "se_time", "nonfit"):
        values[key] = float(values[key][0])
    return values


def run_gaussmix(X: np.ndarray, model: str, n_bootstrap: int) -> dict:
    start = time.perf_counter()
    lrt = gaussmix.bootstrap_lrt(X, covariance_type=model, max_components=MAX_COMPONENTS, n_bootstrap=n_bootstrap,
                                 random_state=0)
    lrt_time = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = gaussmix.GaussianMixture(N_COMPONENTS, covariance_type=model, random_state=0,
                                       **SELECTION_DEFAULTS).fit(X)
    start = time.perf_counter()
    boot = gaussmix.bootstrap_parameters(fit, X, n_bootstrap=n_bootstrap, method="nonparametric", random_state=0)
    se_time = time.perf_counter() - start
    n_components, d = fit.means_.shape
    dense = gaussmix.covariance.get_structure(model).dense_covariances  # the variances, whatever the shape
    variances = np.array([np.diagonal(dense(replicate, n_components, d), axis1=1, axis2=2)
                          for replicate in boot.replicates["covariances"]])
    return {"lrt_statistic": lrt.statistics, "lrt_p_value": lrt.p_values, "lrt_time": lrt_time,
            "lrt_failed": lrt.n_failed, "weights": fit.weights_, "means": fit.means_,
            "se_weights": boot.standard_errors["weights"], "se_means": boot.standard_errors["means"],
            "se_variances": variances.std(axis=0, ddof=1), "se_time": se_time, "nonfit": boot.n_failed}


def matched(ours: dict, theirs: dict) -> np.ndarray:
    """Our component order that matches mclust's: an assignment on the distances between means (standardised)."""
    scale = np.abs(theirs["means"]).max(axis=0)
    cost = (((ours["means"][None] - theirs["means"][:, None]) / scale) ** 2).sum(-1)
    return linear_sum_assignment(cost)[1]


def print_comparison(name: str, X: np.ndarray, model: str, ours: dict, theirs: dict | None) -> None:
    print(f"\n{name} ({X.shape[0]} x {X.shape[1]}), {model}")
    print(f"  likelihood-ratio tests    {'mclust stat':>12} {'ours stat':>10} {'mclust p':>9} {'ours p':>7}")
    for k in range(MAX_COMPONENTS - 1):
        mclust_stat = f"{theirs['lrt_statistic'][k]:.3f}" if theirs else "-"
        mclust_p = f"{theirs['lrt_p_value'][k]:.3f}" if theirs else "-"
        print(f"  {k + 1} vs {k + 2:<20} {mclust_stat:>12} {ours['lrt_statistic'][k]:>10.3f} {mclust_p:>9} "
              f"{ours['lrt_p_value'][k]:>7.3f}")
    mclust_time = f"{theirs['lrt_time']:.2f} s" if theirs else "-"
    print(f"  time: mclust {mclust_time}, ours {ours['lrt_time']:.2f} s; "
          f"replicates dropped (ours): {ours['lrt_failed'].tolist()}")

    order = matched(ours, theirs) if theirs else np.arange(N_COMPONENTS)
    print(f"  standard errors           {'estimate':>10} {'mclust se':>10} {'ours se':>10} {'ratio':>6}")
    rows = [("weight", "weights", "weights", None)]
    rows += [(f"mean {j}", "means", "means", j) for j in range(X.shape[1])]
    rows += [(f"variance {j}", None, "variances", j) for j in range(X.shape[1])]
    ratios = []
    for k in range(N_COMPONENTS):
        ours_k = order[k]
        for label, estimate_key, se_key, j in rows:
            pick = (lambda a, row: a[row] if j is None else a[row, j])
            estimate = f"{pick(ours[estimate_key], ours_k):.4g}" if estimate_key else ""
            our_se = pick(ours[f"se_{se_key}"], ours_k)
            if theirs:
                their_se = pick(theirs[f"se_{se_key}"], k)
                ratios.append(our_se / their_se)
                their_text, ratio = f"{their_se:.4g}", f"{our_se / their_se:.2f}"
            else:
                their_text = ratio = "-"
            print(f"  component {k + 1} {label:<13} {estimate:>10} {their_text:>10} {our_se:>10.4g} {ratio:>6}")
    mclust_time = f"{theirs['se_time']:.2f} s" if theirs else "-"
    spread = (f"; ratio ours/mclust: median {np.median(ratios):.2f}, range {min(ratios):.2f} - {max(ratios):.2f}"
              if ratios else "")
    print(f"  time: mclust {mclust_time}, ours {ours['se_time']:.2f} s; replicates dropped: mclust "
          f"{int(theirs['nonfit']) if theirs else '-'}, ours {ours['nonfit']}{spread}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=",".join(MODELS), help=f"comma-separated names among {list(MODELS)}")
    parser.add_argument("--n-bootstrap", type=int, default=99, help="replicates on both sides (mclust's nboot)")
    parser.add_argument("--no-r", action="store_true", help="skip mclust even where it is installed")
    args = parser.parse_args(argv)
    installed = mclust_available()
    with_r = installed and not args.no_r
    r_status = ("mclustBootstrapLRT and MclustBootstrap" if with_r else "skipped (--no-r)" if installed
                else "skipped: Rscript with the mclust package is not installed")
    warm_up = load("faithful")[:60]  # compile the kernels and start the workers before timing
    gaussmix.bootstrap_lrt(warm_up, max_components=2, n_bootstrap=4, random_state=0)
    print(f"gaussmix {gaussmix.__version__}; mclust: {r_status}; B = {args.n_bootstrap} replicates on both sides; "
          f"cores {len(os.sched_getaffinity(0))} (gaussmix uses all, mclust one)")
    for name in (name for name in args.data.split(",") if name):
        X, model = load(name), MODELS[name]
        ours = run_gaussmix(X, model, args.n_bootstrap)
        theirs = run_mclust(X, model, args.n_bootstrap) if with_r else None
        print_comparison(name, X, model, ours, theirs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
