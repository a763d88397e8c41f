"""Old Faithful: choose the covariance structure and K by BIC, like R's Mclust(faithful).

covariance_types='all' tries mclust's 14 models, as Mclust does; both pick EEE (one covariance shared by all
components, scikit-learn's 'tied') with 3 components, BIC 2314.3 (-2 log L + p log n, lower is better; mclust
prints it negated, -2314.3).

Run:  python examples/old_faithful_model_selection.py [OUTPUT_DIR]
Writes OUTPUT_DIR/old_faithful_bic.png and OUTPUT_DIR/old_faithful_clusters.png.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import gaussmix  # noqa: E402
from gaussmix import plotting  # noqa: E402
from gaussmix.datasets import load_faithful  # noqa: E402


def main(output_dir="."):
    X, names = load_faithful()
    result = gaussmix.select_model(X, n_components=range(1, 7), covariance_types="all", n_init=3,
                                   random_state=0, max_iter=500, tol=1e-6)
    print(result.summary())
    best = result.best_estimator_
    print(f"\nchosen: {result.best_params_}, BIC (lower is better) {best.bic(X):.2f}")

    output = Path(output_dir)
    ax = plotting.plot_criterion(result.records, criterion="bic")
    ax.figure.savefig(output / "old_faithful_bic.png", dpi=90, bbox_inches="tight")
    ax = plotting.plot_clusters(best, X, feature_names=names)
    ax.figure.savefig(output / "old_faithful_clusters.png", dpi=90, bbox_inches="tight")
    print(f"wrote {output / 'old_faithful_bic.png'} and {output / 'old_faithful_clusters.png'}")
    return result


if __name__ == "__main__":
    main(*sys.argv[1:])
