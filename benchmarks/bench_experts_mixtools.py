"""MixtureOfExperts against R's mixtools ``regmixEM`` (mixtures of linear regressions), on the same data (issue 19,
item 6).

The models differ in one respect: ``regmixEM``'s mixing weights ``lambda_k`` are constants, gaussmix's gate
``g(x) = softmax(V x + c)`` depends on ``x``. gaussmix has no constant-gate option, but its gate slopes ``V`` carry
the penalty ``gate_penalty / 2 ||V||^2`` and the intercepts none, so ``gate_penalty=1e8`` pins ``V`` to about
``1e-8`` and leaves ``softmax(c)`` free: the constant-weight model, fitted by the same EM (with
``reg_covar=0`` and ``reg_coef=0``, so by plain maximum likelihood as ``regmixEM``). Its log-likelihood and
coefficients are comparable with ``regmixEM``'s one for one (the column "constant gate"). The default
softmax gate (column "softmax gate") nests that model, so its log-likelihood is at least as high at a global
maximum; it is shown for what the gate buys, not as a like-for-like comparison.

Both sides get the same number of starts (``regmixEM`` from its random starts, gaussmix ``n_init``) and keep the
best log-likelihood; times are the fitting alone (inside R, ``system.time``; no interpreter start-up).

Data: mixtools' ``NOdata`` (Hurn, Justel and Robert 2003, the ``regmixEM`` help page's example: ``Equivalence``
on ``NO``), and two simulated sets of lines with constant mixing weights.

    python benchmarks/bench_experts_mixtools.py [--starts 5]

Skips (exit status 0, with a message) where Rscript or mixtools is missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.special import softmax

from gaussmix import MixtureOfExperts

CONSTANT_GATE = {"gate_penalty": 1e8, "reg_covar": 0.0, "reg_coef": 0.0}
"""regmixEM's model, fitted by plain maximum likelihood: slopes of the gate pinned at ~1e-8, no ridge, no
covariance floor (the default floor, 1e-6 on each variance, moves the NOdata fit's log-likelihood by 4e-5)."""

R_FIT = r"""
suppressMessages(library(mixtools))
args <- commandArgs(TRUE)
d <- read.csv(args[1]); k <- as.integer(args[2]); starts <- as.integer(args[3])
set.seed(1)
best <- NULL
elapsed <- system.time(for (s in seq_len(starts)) {
  invisible(capture.output(fit <- tryCatch(regmixEM(d$y, d$x, k = k), error = function(e) NULL)))
  if (!is.null(fit) && (is.null(best) || fit$loglik > best$loglik)) best <- fit
})[["elapsed"]]
cat("RESULT", sprintf("%.17g", c(best$loglik, elapsed, best$lambda, best$beta[1, ], best$beta[2, ], best$sigma)), "\n")
"""

R_NODATA = r"""
suppressMessages(library(mixtools))
data(NOdata)
write.csv(data.frame(x = NOdata$NO, y = NOdata$Equivalence), commandArgs(TRUE)[1], row.names = FALSE)
"""


def mixtools_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(mixtools)"], capture_output=True).returncode == 0


def run_r(script: str, *args: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as handle:
        handle.write(script)
    try:
        return subprocess.run(["Rscript", handle.name, *args], capture_output=True, text=True, check=True).stdout
    finally:
        Path(handle.name).unlink()


def regmixem(x: np.ndarray, y: np.ndarray, k: int, starts: int, folder: Path) -> dict:
    data = folder / "data.csv"
    np.savetxt(data, np.column_stack([x, y]), delimiter=",", header="x,y", comments="", fmt="%.17g")
    line = next(line for line in run_r(R_FIT, str(data), str(k), str(starts)).splitlines() if line.startswith("RESULT"))
    values = np.array(line.split()[1:], dtype=float)
    return {"loglik": values[0], "time": values[1], "weights": values[2:2 + k], "intercepts": values[2 + k:2 + 2 * k],
            "slopes": values[2 + 2 * k:2 + 3 * k], "sigmas": values[2 + 3 * k:2 + 4 * k]}


def gaussmix_fit(x: np.ndarray, y: np.ndarray, k: int, starts: int, **options) -> dict:
    started = time.perf_counter()
    model = MixtureOfExperts(k, n_init=starts, tol=1e-10, max_iter=5000, random_state=0, **options).fit(x[:, None], y)
    elapsed = time.perf_counter() - started
    return {"loglik": float(np.sum(model.score_samples(x[:, None], y))), "time": elapsed,
            "weights": softmax(model.gate_intercept_), "intercepts": model.intercept_[:, 0],
            "slopes": model.coef_[:, 0, 0], "sigmas": np.sqrt(model.covariances_[:, 0, 0]),
            "max_gate_slope": float(np.max(np.abs(model.gate_coef_)))}


def simulated_lines(n: int, slopes, intercepts, sigmas, weights, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, n)
    line = rng.choice(len(weights), size=n, p=weights)
    return x, np.asarray(intercepts)[line] + np.asarray(slopes)[line] * x + rng.normal(size=n) * np.asarray(sigmas)[line]


def show(name: str, n: int, k: int, fits: dict) -> None:
    print(f"\n{name}: n={n}, K={k}")
    print(f"| {'':<24}| " + " | ".join(f"{column:>30}" for column in fits) + " |")
    print("|---" * (len(fits) + 1) + "|")
    order = {column: np.argsort(fit["slopes"]) for column, fit in fits.items()}  # match experts by slope

    def row(label, cell):
        print(f"| {label:<24}| " + " | ".join(f"{cell(fit, order[column]):>30}" for column, fit in fits.items()) + " |")

    row("log-likelihood", lambda fit, o: f"{fit['loglik']:.6f}")
    for key in ("weights", "intercepts", "slopes", "sigmas"):
        row(key + " (by slope)", lambda fit, o, key=key: " ".join(f"{v:8.4f}" for v in fit[key][o]))
    row("max |gate slope|", lambda fit, o: f"{fit['max_gate_slope']:.2e}" if "max_gate_slope" in fit else "(none)")
    row("time (s)", lambda fit, o: f"{fit['time']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="starts on each side; the best log-likelihood is kept")
    args = parser.parse_args()
    if not mixtools_available():
        print("skipped: Rscript with the mixtools package is not installed (Debian: r-cran-mixtools)")
        return
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        nodata = folder / "nodata.csv"
        run_r(R_NODATA, str(nodata))
        observed = np.loadtxt(nodata, delimiter=",", skiprows=1)
        datasets = [
            ("mixtools NOdata (Equivalence ~ NO)", observed[:, 0], observed[:, 1], 2),
            ("two lines, slopes 2 and -1.5", *simulated_lines(500, [2.0, -1.5], [1.0, -1.0], [0.3, 0.3], [0.5, 0.5], 0), 2),
            ("three lines, n = 2000", *simulated_lines(2_000, [1.0, -1.0, 0.0], [0.0, 0.0, 2.0], [0.5, 0.3, 0.4],
                                                       [0.5, 0.3, 0.2], 1), 3),
        ]
        for title, x, y, k in datasets:
            fits = {"mixtools regmixEM": regmixem(x, y, k, args.starts, folder),
                    "gaussmix constant gate": gaussmix_fit(x, y, k, args.starts, **CONSTANT_GATE),
                    "gaussmix softmax gate": gaussmix_fit(x, y, k, args.starts)}
            show(title, x.shape[0], k, fits)
    print(f"\nconstant gate = MixtureOfExperts(**{CONSTANT_GATE}); softmax gate = the defaults (gate_penalty=0.01; "
          "x-dependent weights: those shown are softmax(gate_intercept_), the gate at x = 0)")


if __name__ == "__main__":
    main()
