"""The ``gaussmix`` command line: fit, classify, predict, score, sample, select, report, demo.

Every user error (missing or unreadable file, unknown column, NaN, bad K, existing output without
``--force``) prints one line ``gaussmix: error: ...`` on standard error and exits with status 2; an
interrupt exits with 130 (143 for SIGTERM) and leaves no partial output. Set ``GAUSSMIX_TRACEBACK=1`` to see
the traceback of an error instead.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings
from pathlib import Path

import numpy as np

__all__ = ["main"]

USER_ERROR = 2
DEMO_REPORT = "gaussmix-demo-report.html"

EXAMPLES = {
    "gaussmix": """examples:
  gaussmix demo                                               Old Faithful: BIC table, model, HTML report
  gaussmix select data.csv -k 1-9                             the BIC table of mclust's 14 models x K=1..9
  gaussmix fit data.csv -k 1-9 --covariance all -o model.npz  choose K and structure by BIC, save the best
  gaussmix predict model.npz data.csv -o labels.csv           labels and membership probabilities
  gaussmix report data.csv -o report.html                     data, selection, model, plots, EM trace""",
    "fit": """examples:
  gaussmix fit data.csv -k 3 -o model.npz                      one model, K=3, full covariances
  gaussmix fit data.csv -k 1-9 --covariance all -o model.npz   choose K and structure by BIC, save the best
  gaussmix fit data.parquet --columns height,weight -k 2 --covariance diag -o model.npz --json""",
    "classify": """examples:
  gaussmix classify train.csv --label species -o classifier.npz   EDDA: one Gaussian per class, structure by BIC
  gaussmix classify train.csv --label species -k 1-3 -o classifier.npz   MclustDA: a mixture per class
  gaussmix classify train.csv --label species --selection cv -o classifier.npz
  (rows with an empty label are unlabelled: semi-supervised fitting, one Gaussian per class)""",
    "predict": """examples:
  gaussmix predict model.npz data.csv -o labels.csv        label and probability_0..K-1 per row
  gaussmix predict model.npz data.npy -o labels.parquet --force
  gaussmix predict kmeans.npz data.csv -o labels.csv       a k-means model file: the label only
  gaussmix predict classifier.npz data.csv -o classes.csv  a classifier: the class and probability_<class>""",
    "score": """examples:
  gaussmix score model.npz data.csv            mean and total log-likelihood, BIC, AIC
  gaussmix score model.npz data.csv --json
  gaussmix score kmeans.npz data.csv           a k-means model file: the distortion (inertia)
  gaussmix score classifier.npz test.csv --label species   a classifier: accuracy and confusion matrix""",
    "sample": """examples:
  gaussmix sample model.npz -n 1000 -o draws.csv --seed 0   features and the generating component""",
    "select": """examples:
  gaussmix select data.csv -k 1-9 --covariance all           the BIC table, best marked
  gaussmix select data.csv -k 1-6 --covariance full,diag --criterion icl --json""",
    "report": """examples:
  gaussmix report data.csv -o report.html                   select K=1-9 over mclust's 14 models, then report
  gaussmix report data.csv --model model.npz -o report.html describe an existing model""",
    "demo": """examples:
  gaussmix demo                       Old Faithful: BIC table, chosen model, gaussmix-demo-report.html
  gaussmix demo --report faithful.html --force
  gaussmix demo --no-report""",
}


class UserError(ValueError):
    """A problem with the command line or the files named on it."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (and exits 2, as argparse does)."""

    def error(self, message):
        sys.stderr.write(f"gaussmix: error: {message} (see: {self.prog} --help)\n")
        sys.exit(USER_ERROR)


# ----------------------------------------------------------------------------------------------- arguments
def parse_components(text: str) -> list[int]:
    """``"3"`` -> [3]; ``"1-9"`` -> [1..9]; ``"2,4,8"`` -> [2, 4, 8]."""
    values = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                low, high = (int(v) for v in part.split("-", 1))
                if low > high:
                    raise UserError(f"-k {text}: empty range {part}")
                values.extend(range(low, high + 1))
            else:
                values.append(int(part))
        except ValueError as error:
            if isinstance(error, UserError):
                raise
            raise UserError(f"-k {text!r} is not a number of components (use e.g. 3, 1-9 or 2,4,8)") from None
    if any(k < 1 for k in values):
        raise UserError(f"-k {text}: the number of components must be at least 1")
    return sorted(set(values))


def _covariance_names() -> str:
    from ..covariance import ALL_MODEL_NAMES, STRUCTURE_NAMES

    return f"{', '.join(STRUCTURE_NAMES)} (scikit-learn's names), {', '.join(ALL_MODEL_NAMES)} (mclust's), E, V (one column)"


def parse_covariance(text: str) -> list[str] | str:
    from ..covariance import get_structure

    if text == "all":
        return "all"
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UserError(f"--covariance {text!r} names no covariance type")
    for name in names:
        try:
            get_structure(name)
        except ValueError:
            raise UserError(f"--covariance {name!r} is not a covariance type; use one of {_covariance_names()}, "
                            "a comma-separated list of them, or all") from None
    return names


def _columns(text: str | None):
    return [c.strip() for c in text.split(",")] if text else None


MODEL_FILE_HELP = ("model file written by 'gaussmix fit', 'gaussmix classify' or gaussmix.save (a Gaussian, Student-t, "
                   "Bayesian or factor-analyser mixture, KMeans, or a GaussianMixtureClassifier)")

MODEL_COLUMNS = "the columns the model was fitted on, by name, when both the model and the file name them; else all"


def _add_data(parser, columns_default="all"):
    parser.add_argument("data", help="CSV or TSV (header detected), Parquet or NPY file")
    parser.add_argument("--columns", help="comma-separated column names, 0-based indices or index ranges such as 0-12 "
                                           f"(default: {columns_default})")
    parser.add_argument("--drop", help="columns to leave out, as for --columns (e.g. --drop label)")
    parser.add_argument("--sep", help="field separator of a text file (default: tab for .tsv, else detected)")


def _add_output(parser, required=True, help="output file (.csv, .parquet or .npy)"):
    parser.add_argument("-o", "--output", required=required, help=help)
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")


def _add_fitting(parser, default_k, default_covariance):
    parser.add_argument("-k", "--components", default=default_k,
                        help=f"number of components K, a range A-B or a list A,B,C (default {default_k})")
    parser.add_argument("--covariance", default=default_covariance,
                        help=f"covariance structure: one of {_covariance_names()}; a comma-separated list; or "
                             "all = mclust's 14 models (E and V for one-column data; spherical, diag, tied and "
                             f"full are VII, VVI, EEE and VVV under other names) (default {default_covariance})")
    parser.add_argument("--criterion", default="bic", choices=["bic", "icl", "aic", "heldout"],
                        help="selection criterion when several candidates (default bic; heldout: 5-fold "
                             "cross-validated log-likelihood)")
    parser.add_argument("--n-init", type=int, default=None,
                        help="initialisations per candidate (default 3 for one model; 1 for a grid, which starts "
                             "every candidate from one hierarchical agglomeration, as mclust does)")
    parser.add_argument("--max-iter", type=int, default=500, help="EM iterations at most (default 500)")
    parser.add_argument("--tol", type=float, default=None,
                        help="per-sample log-likelihood change to stop (default 1e-6 for one model; 2e-5 for a grid, "
                             "per SQUAREM cycle)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--missing", choices=["error", "em"], default="error",
                        help="missing values (empty, NA, NaN fields): an error (default), or em: fit with them, "
                             "EM over each row's observed features")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gaussmix", description="Gaussian mixture models from the command line.",
                     epilog=EXAMPLES["gaussmix"] + "\n\nRun 'gaussmix COMMAND --help' for each command's options "
                            "and examples.", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"gaussmix {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name, help, outputs=True, progress=True):
        sub = commands.add_parser(name, help=help, description=help, epilog=EXAMPLES[name],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        if outputs:
            sub.add_argument("--json", action="store_true", help="print a machine-readable JSON summary")
            sub.add_argument("-q", "--quiet", action="store_true",
                             help="no progress (a bar on a terminal for one model; a line on standard error per "
                                  "finished candidate for a grid)" if progress
                             else "accepted for symmetry; this command draws no progress bar")
        return sub

    fit = command("fit", "fit a mixture (or select among candidates) and save the model")
    _add_data(fit)
    _add_fitting(fit, default_k="2", default_covariance="full")
    _add_output(fit, help="model file to write (.npz)")

    classify = command("classify", "fit a Gaussian mixture classifier (mclust's EDDA / MclustDA) and save it",
                       progress=False)
    _add_data(classify, "all but the label column")
    classify.add_argument("--label", required=True, help="the column of class labels (name or 0-based index); an "
                                                         "empty label marks an unlabelled row")
    classify.add_argument("-k", "--components", default="1",
                          help="components per class: 1 (EDDA: one Gaussian per class, one structure for all; "
                               "default), or K, a range A-B or a list (MclustDA: a mixture per class, K by BIC)")
    classify.add_argument("--covariance", default="all",
                          help=f"covariance structure(s): one of {_covariance_names()}, a comma-separated list, or "
                               "all = mclust's 14 models (default all)")
    classify.add_argument("--selection", choices=["bic", "cv"], default="bic",
                          help="how EDDA chooses the structure: BIC (default) or 5-fold cross-validated accuracy")
    classify.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _add_output(classify, help="model file to write (.npz)")

    predict = command("predict", "cluster labels and membership probabilities for each row (the class for a "
                                 "classifier)", progress=False)
    predict.add_argument("model", help=MODEL_FILE_HELP)
    _add_data(predict, MODEL_COLUMNS)
    _add_output(predict)

    score = command("score", "log-likelihood of data under a model (the distortion for a k-means model; accuracy "
                             "for a classifier)", progress=False)
    score.add_argument("model", help=MODEL_FILE_HELP)
    _add_data(score, MODEL_COLUMNS)
    score.add_argument("--label", help="the column of true classes (a classifier's score needs it)")

    sample = command("sample", "draw samples from a model", progress=False)
    sample.add_argument("model", help="model file written by 'gaussmix fit' (a Gaussian mixture)")
    sample.add_argument("-n", "--n-samples", type=int, required=True, help="number of samples")
    sample.add_argument("--seed", type=int, default=None, help="random seed")
    _add_output(sample)

    select = command("select", "fit every candidate (K x covariance type) and print the selection table")
    _add_data(select)
    _add_fitting(select, default_k="1-9", default_covariance="all")
    select.add_argument("-o", "--output", help="also save the best model (.npz)")
    select.add_argument("--force", action="store_true", help="overwrite an existing model file")

    report = command("report", "a self-contained HTML report: data, selection, model, plots, EM trace")
    _add_data(report, "all; with --model, " + MODEL_COLUMNS)
    _add_fitting(report, default_k="1-9", default_covariance="all")
    report.add_argument("--model", help="describe this fitted Gaussian mixture or classifier (a model file) instead "
                                        "of selecting one; -k, --covariance and the fitting options are then unused")
    report.add_argument("--label", help="with a classifier --model: the column of true classes (for the "
                                        "cross-validated confusion matrix)")
    _add_output(report, help="HTML file to write")

    demo = command("demo", "model selection (K=1..6 x full, tied, diag, spherical, by BIC) on the bundled Old "
                           "Faithful data, with an HTML report", outputs=False)
    demo.add_argument("--max-components", type=int, default=6, help="largest K tried (default 6)")
    demo.add_argument("--report", help=f"where to write the report (default {DEMO_REPORT}, replaced on each run; "
                                       "a file named here is not replaced without --force)")
    demo.add_argument("--force", action="store_true", help="overwrite the file given with --report")
    demo.add_argument("--no-report", action="store_true", help="print the summary only")
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


# ------------------------------------------------------------------------------------------------ helpers
def _read(arguments, fitted_names=None, allow_missing=None):
    """The data file as a :class:`~gaussmix.io.tabular.Table`; ``fitted_names``: a model's column names, taken
    by name from a file that names its columns (unless ``--columns`` says otherwise). Missing values are allowed
    with ``--missing em`` (or ``allow_missing``: a model fitted with them)."""
    from ..io.tabular import load_table

    if allow_missing is None:
        allow_missing = getattr(arguments, "missing", "error") == "em"
    separator = getattr(arguments, "sep", None)
    if separator is not None:
        separator = {"\\t": "\t", "tab": "\t", "space": " "}.get(separator, separator)
    return load_table(arguments.data, _columns(arguments.columns), fitted_names=fitted_names,
                      drop=_columns(getattr(arguments, "drop", None)), allow_missing=allow_missing, sep=separator,
                      label=getattr(arguments, "label", None))


LABEL_NAMES = {"label", "labels", "class", "target", "y", "species", "cluster", "group"}
"""Column names that usually hold known classes rather than a measurement."""


def _note_label_columns(names) -> None:
    """Say so on standard error when a column named like class labels is about to be fitted as a feature."""
    suspects = [name for name in names if str(name).strip().lower() in LABEL_NAMES]
    if suspects:
        print(f"gaussmix: note: column {suspects[0]!r} looks like class labels and is used as a feature; "
              f"leave it out with --drop {suspects[0]}", file=sys.stderr)


COMMANDLESS_MODELS = {  # model files the commands cannot use, and why
    "MixtureOfExperts": "a regression of y on X, not a clustering of rows",
}


def _load_model(path, command: str, mixture_only: bool = False):
    """The model in ``path`` and the column names it was fitted on (None if unknown).

    The names are taken off the model: the command matches the data's columns itself (:func:`_read`) and
    hands the model plain arrays, which scikit-learn's checks would otherwise warn about.
    """
    from ..io.model_files import load

    model = load(path)
    if type(model).__name__ in COMMANDLESS_MODELS:
        raise UserError(f"{path} holds a {type(model).__name__}, {COMMANDLESS_MODELS[type(model).__name__]}; "
                        f"'{command}' cannot use it (in Python: gaussmix.load, then predict(X) or score_samples(X, y))")
    if mixture_only and (_is_kmeans(model) or _is_classifier(model)):
        kind = "a k-means model" if _is_kmeans(model) else "a classifier"
        raise UserError(f"{path} holds {kind}; '{command}' needs a Gaussian mixture (gaussmix fit)")
    names = model.__dict__.pop("feature_names_in_", None)
    return model, (None if names is None else [str(name) for name in names])


def _save_model(model, path: Path, force: bool, table) -> None:
    """Save ``model`` with the data's column names (when the file had names); never replace without --force."""
    import copy

    from ..io.model_files import save

    if table.named:  # on a copy: the command goes on using the model on plain arrays
        model = copy.copy(model)
        model.feature_names_in_ = np.asarray(table.names, dtype=object)  # scikit-learn's convention
    try:
        save(model, path, overwrite=force)
    except FileExistsError:  # appeared while fitting
        raise UserError(f"{path} already exists; use --force to overwrite it") from None


STANDARD_OUTPUT = "-"
"""``-o -``: a table (predict, sample) written as CSV to standard output; the summary then goes to standard error."""


def _check_output(arguments, suffixes):
    from ..io.tabular import check_output_path

    if arguments.output == STANDARD_OUTPUT:
        if ".csv" not in suffixes:
            raise UserError(f"-o -: this command writes a {' or '.join(suffixes)} file, not text; name a file")
        return STANDARD_OUTPUT
    path = Path(arguments.output)
    if path.suffix.lower() not in suffixes:
        raise UserError(f"{path}: output must end in {' or '.join(suffixes)}")
    check_output_path(path, arguments.force)
    return path


def _is_kmeans(model) -> bool:
    from ..estimators.kmeans import KMeans

    return isinstance(model, KMeans)


def _is_classifier(model) -> bool:
    from ..estimators.classifier import GaussianMixtureClassifier

    return isinstance(model, GaussianMixtureClassifier)


def _progress(arguments):
    from .progress import ProgressBar

    return ProgressBar(enabled=False if arguments.quiet or arguments.json else None, max_iter=arguments.max_iter)


def _emit(arguments, summary: dict, lines: list[str]) -> None:
    # With -o - the table took standard output: the summary goes to standard error.
    stream = sys.stderr if getattr(arguments, "output", None) == STANDARD_OUTPUT else sys.stdout
    if arguments.json:
        print(json.dumps(summary, indent=2, default=_json_default), file=stream)
    else:
        print("\n".join(lines), file=stream)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _model_summary(model, X) -> dict:
    n_samples = X.shape[0]
    return {"covariance_type": model.covariance_type, "n_components": int(model.n_components),
            "n_samples": int(n_samples), "n_features": int(X.shape[1]),
            "log_likelihood": float(model.score(X) * n_samples), "mean_log_likelihood": float(model.score(X)),
            "n_parameters": int(model._n_parameters()), "bic": float(model.bic(X)), "aic": float(model.aic(X)),
            "converged": bool(model.converged_), "n_iter": int(model.n_iter_), "weights": model.weights_.tolist()}


def _fit_or_select(arguments, table):
    """One model for a single candidate, else ``select_model``, on ``table`` (read by :func:`_read`); returns
    (model, selection or None)."""
    from ..estimators.gaussian_mixture import GaussianMixture
    from ..exceptions import ConvergenceWarning
    from ..selection import select_model

    X = table.X
    _note_label_columns(table.names)

    ks = parse_components(arguments.components)
    covariance = parse_covariance(arguments.covariance)
    if ks[-1] > X.shape[0]:
        raise UserError(f"-k {arguments.components}: K={ks[-1]} exceeds the {X.shape[0]} rows of data")
    for name in ("n_init", "max_iter"):
        if getattr(arguments, name) is not None and getattr(arguments, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    if arguments.tol is not None and arguments.tol < 0:
        raise UserError("--tol must be non-negative")
    given = {name: getattr(arguments, name) for name in ("n_init", "tol") if getattr(arguments, name) is not None}
    if len(ks) == 1 and covariance != "all" and len(covariance) == 1:
        progress = _progress(arguments)
        options = dict({"n_init": 3, "tol": 1e-6}, **given, max_iter=arguments.max_iter, random_state=arguments.seed,
                       callback=progress, missing=arguments.missing)
        with progress, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # convergence shows in the summary instead
            model = GaussianMixture(ks[0], covariance_type=covariance[0], **options).fit(X)
        model.set_params(callback=None)
        _warn_if_not_converged(model, arguments)
        return model, None
    quiet = getattr(arguments, "quiet", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # said below in the command line's own words
        selection = select_model(X, n_components=ks, covariance_types=covariance, criterion=arguments.criterion,
                                 max_iter=arguments.max_iter, random_state=arguments.seed, missing=arguments.missing,
                                 progress=None if quiet else _print_candidate, **given)
    _warn_if_not_converged(selection.best_estimator_, arguments)
    return selection.best_estimator_, selection


def _warn_if_not_converged(model, arguments) -> None:
    """One line on standard error when the model the command goes on with did not converge."""
    if not model.converged_:
        print(f"gaussmix: warning: the chosen model ({model.covariance_type}, K={model.n_components}) did not converge "
              f"in {model.n_iter_} iterations; its log-likelihood and BIC may still improve: raise --max-iter "
              f"(now {arguments.max_iter}) or --tol", file=sys.stderr)


def _print_candidate(report) -> None:
    """One line per finished candidate on standard error, terminal or not (logs and notebooks show it)."""
    print(report.line(), file=sys.stderr, flush=True)


BIC_LOWER_IS_BETTER = "BIC (lower is better)"


def _selection_json(selection) -> dict:
    """The selection part of ``--json``: the records, the chosen candidate and the sign of each criterion field."""
    from ..selection import RECORD_SIGNS

    return {"criterion": selection.criterion, "best": selection.best_params_, "signs": RECORD_SIGNS,
            "records": selection.records}


def _chosen_line(selection) -> str:
    """``chosen by BIC (lower is better): tied, K=3 (2314.30)``: the number in the table's ``*`` cell."""
    from ..selection import CRITERION_KEYS, candidate_label, criterion_label

    record = selection.best_record
    return (f"chosen by {criterion_label(selection.criterion)}: {candidate_label(record)}, "
            f"K={record['n_components']} ({record[CRITERION_KEYS[selection.criterion]]:.2f})")


# ----------------------------------------------------------------------------------------------- commands
def run_fit(arguments) -> int:
    path = _check_output(arguments, (".npz",))
    table = _read(arguments)
    X, names = table.X, table.names
    model, selection = _fit_or_select(arguments, table)
    _save_model(model, path, arguments.force, table)
    summary = {"model": str(path), "columns": names, **_model_summary(model, X)}
    lines = [f"fitted {model.covariance_type}, K={model.n_components} to {X.shape[0]} rows x {X.shape[1]} columns "
             f"({', '.join(names)})",
             f"  log-likelihood {summary['log_likelihood']:.4f}, {BIC_LOWER_IS_BETTER} {summary['bic']:.2f}, "
             f"converged={summary['converged']} after {summary['n_iter']} iterations",
             f"  weights {np.array2string(model.weights_, precision=4)}",
             f"saved {path}"]
    if selection is not None:
        summary["selection"] = _selection_json(selection)
        lines = [selection.summary(), ""] + lines
    _emit(arguments, summary, lines)
    return 0


def run_predict(arguments) -> int:
    from ..io.tabular import write_table

    path = _check_output(arguments, (".csv", ".tsv", ".parquet", ".npy"))
    model, fitted_names = _load_model(arguments.model, "predict")
    table = _read(arguments, fitted_names, allow_missing=getattr(model, "missing", "error") == "em")
    X = table.X
    if _is_classifier(model):
        return _predict_classes(arguments, model, table, path)
    if _is_kmeans(model):  # hard assignments: no probabilities
        labels = model.predict(X)
        columns, n_components, extra = {"label": labels}, model.n_clusters, {}
        what = "labels"
    else:
        probabilities = model.predict_proba(X)
        n_components = model.n_components
        labels = probabilities.argmax(axis=1)
        columns = {"label": labels, **{f"probability_{k}": probabilities[:, k] for k in range(n_components)}}
        if probabilities.shape[1] > n_components:  # a noise component: its column is the last, its label -1
            labels[labels == n_components] = -1
            columns["probability_noise"] = probabilities[:, n_components]
        extra = {"mean_uncertainty": float(1.0 - probabilities.max(axis=1).mean())}
        what = "labels and probabilities"
    write_table(path, columns, force=arguments.force)
    counts = np.bincount(labels[labels >= 0], minlength=n_components)
    summary = {"output": str(path), "columns": table.names, "n_samples": int(X.shape[0]), "counts": counts.tolist(),
               **extra}
    lines = [f"wrote {what} of {X.shape[0]} rows (columns {', '.join(table.names)}) to {path}",
             f"  rows per component: {counts.tolist()}"]
    if (labels < 0).any():
        summary["noise"] = int((labels < 0).sum())
        lines.append(f"  rows labelled noise (-1): {summary['noise']}")
    _emit(arguments, summary, lines)
    return 0


def _predict_classes(arguments, model, table, path) -> int:
    """predict for a classifier: the most probable class and ``probability_<class>`` of every class."""
    from ..io.tabular import write_table

    probabilities = model.predict_proba(table.X)
    classes = model.classes_[probabilities.argmax(axis=1)]
    columns = {"class": np.asarray([str(c) for c in classes]),
               **{f"probability_{c}": probabilities[:, k] for k, c in enumerate(model.classes_)}}
    write_table(path, columns, force=arguments.force)
    counts = {str(c): int(np.sum(classes == c)) for c in model.classes_}
    _emit(arguments, {"output": str(path), "columns": table.names, "n_samples": int(table.X.shape[0]),
                      "counts": counts},
          [f"wrote classes and probabilities of {table.X.shape[0]} rows (columns {', '.join(table.names)}) to {path}",
           f"  rows per class: {', '.join(f'{c} {n}' for c, n in counts.items())}"])
    return 0


def _confusion_lines(classes, truth, predicted) -> tuple[list[list[int]], list[str]]:
    """The confusion matrix (rows: true class, columns: predicted) and its lines of text."""
    labels = [str(c) for c in classes]
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for true, guess in zip(truth, predicted):
        matrix[index[str(true)], index[str(guess)]] += 1
    width = max(8, *(len(label) for label in labels))
    lines = ["  confusion matrix (rows: true class, columns: predicted)",
             "  " + " " * width + "".join(f"{label:>{width + 1}}" for label in labels)]
    lines += ["  " + f"{label:<{width}}" + "".join(f"{n:>{width + 1}}" for n in row) for label, row in zip(labels, matrix)]
    return matrix.tolist(), lines


def run_classify(arguments) -> int:
    from ..estimators.classifier import GaussianMixtureClassifier

    path = _check_output(arguments, (".npz",))
    table = _read(arguments)
    labelled = table.labels != ""
    counts = parse_components(arguments.components)
    covariance = parse_covariance(arguments.covariance)
    classes = np.unique(table.labels[labelled])
    model = GaussianMixtureClassifier(n_components=counts[0] if len(counts) == 1 else tuple(counts),
                                      covariance_type=covariance, selection=arguments.selection,
                                      unlabelled_label="" if not labelled.all() else None,
                                      random_state=arguments.seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(table.X, table.labels)
    for warning in caught:
        if not arguments.quiet and not arguments.json:
            print(f"gaussmix: warning: {warning.message}", file=sys.stderr)
    _save_model(model, path, arguments.force, table)
    predicted = model.predict(table.X[labelled])
    accuracy = float(np.mean(predicted == table.labels[labelled]))
    matrix, confusion = _confusion_lines(model.classes_, table.labels[labelled], predicted)
    structures = (model.covariance_type_ if model.model_type_ == "EDDA"
                  else ", ".join(f"{c}: {t} K={k}" for c, t, k in zip(model.classes_, model.covariance_type_,
                                                                       model.n_components_)))
    summary = {"model": str(path), "columns": table.names, "model_type": model.model_type_,
               "covariance_type": model.covariance_type_, "n_components": model.n_components_,
               "classes": [str(c) for c in model.classes_], "n_labelled": int(labelled.sum()),
               "n_unlabelled": int((~labelled).sum()), "priors": model.priors_.tolist(),
               "bic": float(model.bic()), "training_accuracy": accuracy, "confusion_matrix": matrix}
    lines = [f"fitted {model.model_type_} ({structures}) to {labelled.sum()} labelled"
             + (f" and {(~labelled).sum()} unlabelled" if not labelled.all() else "")
             + f" rows x {table.X.shape[1]} columns; classes {', '.join(f'{c} ({n})' for c, n in zip(classes, np.unique(table.labels[labelled], return_counts=True)[1]))}",
             f"  {BIC_LOWER_IS_BETTER} {summary['bic']:.2f}; accuracy on the labelled training rows {accuracy:.3f} "
             "(optimistic: use 'gaussmix score' on held-out rows)", *confusion, f"saved {path}"]
    _emit(arguments, summary, lines)
    return 0


def _score_classifier(arguments, model, table) -> int:
    if table.labels is None:
        raise UserError("a classifier's score needs the true classes: name their column with --label")
    labelled = table.labels != ""
    predicted = model.predict(table.X[labelled])
    truth = table.labels[labelled]
    unknown = sorted(set(truth) - {str(c) for c in model.classes_})
    if unknown:
        raise UserError(f"the --label column has classes the model does not know: {', '.join(unknown[:5])}")
    predicted = np.asarray([str(c) for c in predicted])
    accuracy = float(np.mean(predicted == truth))
    matrix, confusion = _confusion_lines(model.classes_, truth, predicted)
    _emit(arguments, {"n_samples": int(labelled.sum()), "accuracy": accuracy, "confusion_matrix": matrix,
                      "classes": [str(c) for c in model.classes_]},
          [f"{labelled.sum()} rows: accuracy {accuracy:.4f}", *confusion])
    return 0


def run_score(arguments) -> int:
    model, fitted_names = _load_model(arguments.model, "score")
    table = _read(arguments, fitted_names, allow_missing=getattr(model, "missing", "error") == "em")
    if _is_classifier(model):
        return _score_classifier(arguments, model, table)
    X = table.X
    n_samples = X.shape[0]
    if _is_kmeans(model):
        inertia = -float(model.score(X))  # KMeans.score is minus the distortion, as in scikit-learn
        summary = {"n_samples": int(n_samples), "inertia": inertia, "mean_squared_distance": inertia / n_samples}
        line = (f"{n_samples} rows: k-means distortion (inertia: sum of squared distances to the nearest centre) "
                f"{inertia:.4f} ({inertia / n_samples:.6f} per row)")
    else:
        mean = float(model.score(X))
        summary = {"n_samples": int(n_samples), "mean_log_likelihood": mean, "log_likelihood": mean * n_samples,
                   "bic": float(model.bic(X)), "aic": float(model.aic(X))}
        line = (f"{n_samples} rows: log-likelihood {summary['log_likelihood']:.4f} ({mean:.6f} per row), "
                f"{BIC_LOWER_IS_BETTER} {summary['bic']:.2f}, AIC {summary['aic']:.2f}")
    _emit(arguments, summary, [line])
    return 0


def run_sample(arguments) -> int:
    from ..io.tabular import write_table

    path = _check_output(arguments, (".csv", ".tsv", ".parquet", ".npy"))
    if arguments.n_samples < 1:
        raise UserError("-n must be at least 1")
    model, fitted_names = _load_model(arguments.model, "sample", mixture_only=True)
    if getattr(model, "noise_volume_", None) is not None:
        raise UserError(f"{arguments.model} has a noise component, which has no shape to sample from")
    if arguments.seed is not None:
        model.set_params(random_state=arguments.seed)
    draws, components = model.sample(arguments.n_samples)
    names = fitted_names or [f"x{i}" for i in range(draws.shape[1])]
    write_table(path, {**{name: draws[:, i] for i, name in enumerate(names)}, "component": components},
                force=arguments.force)
    _emit(arguments, {"output": str(path), "n_samples": int(draws.shape[0]), "columns": names},
          [f"wrote {draws.shape[0]} samples ({', '.join(names)}, component) to {path}"])
    return 0


def run_select(arguments) -> int:
    path = _check_output(arguments, (".npz",)) if arguments.output else None
    covariance = parse_covariance(arguments.covariance)
    if len(parse_components(arguments.components)) == 1 and covariance != "all" and len(covariance) == 1:
        raise UserError("select needs several candidates: give a range of K (-k 1-9) or several covariance types")
    table = _read(arguments)
    model, selection = _fit_or_select(arguments, table)
    if path is not None:
        _save_model(model, path, arguments.force, table)
    summary = {**_selection_json(selection), "model": str(path) if path else None}
    lines = [selection.summary(), "", _chosen_line(selection)]
    if path is not None:
        lines.append(f"saved {path}")
    _emit(arguments, summary, lines)
    return 0


def run_report(arguments) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    from ..io.tabular import check_output_path
    from .report import write_report

    path = Path(arguments.output)
    if path.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"{path}: the report must end in .html")
    check_output_path(path, arguments.force)
    if arguments.model:
        model, fitted_names = _load_model(arguments.model, "report")
        if _is_kmeans(model) or type(model).__name__ == "MixtureOfFactorAnalyzers":
            kind = "a k-means model" if _is_kmeans(model) else "a mixture of factor analysers"
            raise UserError(f"{arguments.model} holds {kind}; 'report' needs a Gaussian mixture (covariances_) "
                            "or a classifier")
        table = _read(arguments, fitted_names)
        if _is_classifier(model):
            return _report_classifier(arguments, model, table, path)
        selection = None
    else:
        table = _read(arguments)
        model, selection = _fit_or_select(arguments, table)
    X = table.X
    write_report(path, model, X, selection=selection, feature_names=table.names, source=str(arguments.data),
                 title=f"gaussmix report: {Path(arguments.data).name}", force=arguments.force)
    _emit(arguments, {"report": str(path), **_model_summary(model, X)},
          [f"chosen {model.covariance_type}, K={model.n_components} ({BIC_LOWER_IS_BETTER} {model.bic(X):.2f}); "
           f"wrote {path}"])
    return 0


def _report_classifier(arguments, model, table, path) -> int:
    from .report import write_report

    if table.labels is None:
        raise UserError("a classifier's report needs the true classes: name their column with --label")
    labelled = table.labels != ""
    write_report(path, model, table.X[labelled], labels=table.labels[labelled], feature_names=table.names,
                 source=str(arguments.data), title=f"gaussmix classifier report: {Path(arguments.data).name}",
                 force=arguments.force, seed=arguments.seed)
    _emit(arguments, {"report": str(path), "model_type": model.model_type_, "n_samples": int(labelled.sum())},
          [f"classifier report ({model.model_type_}, {labelled.sum()} labelled rows): wrote {path}"])
    return 0


def run_demo(arguments) -> int:
    from ..datasets import load_faithful
    from ..io.tabular import check_output_path
    from .demo import run_demo as demo

    if arguments.max_components < 1:
        raise UserError("--max-components must be at least 1")
    # The default report is the demo's own file, replaced on each run; a path the user names is theirs.
    report, force = (DEMO_REPORT, True) if arguments.report is None else (arguments.report, arguments.force)
    if not arguments.no_report:
        if Path(report).suffix.lower() not in (".html", ".htm"):
            raise UserError(f"{report}: the report must end in .html")
        check_output_path(report, force)
    selection = demo(max_components=arguments.max_components)
    if arguments.no_report:
        return 0
    os.environ.setdefault("MPLBACKEND", "Agg")
    from .report import write_report

    X, names = load_faithful()
    path = write_report(report, selection.best_estimator_, X, selection=selection, feature_names=names,
                        source="Old Faithful (bundled)", title="gaussmix demo: Old Faithful", force=force)
    print()
    print(f"Report (data, BIC table, parameters, plots, EM trace): {Path(path).resolve()}")
    return 0


COMMANDS = {"fit": run_fit, "classify": run_classify, "predict": run_predict, "score": run_score, "sample": run_sample, "select": run_select,
            "report": run_report, "demo": run_demo}


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # unwinds like an exception, so partial outputs are removed


def main(argv=None) -> int:
    """Entry point of the ``gaussmix`` command; returns the exit status."""
    arguments = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return COMMANDS[arguments.command](arguments)
    except KeyboardInterrupt:
        sys.stderr.write("gaussmix: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`gaussmix select ... | head`): not an error of ours. Point stdout at devnull so
        # the interpreter's final flush does not complain, and exit like a process killed by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except (ValueError, OSError, ImportError) as error:
        if os.environ.get("GAUSSMIX_TRACEBACK"):
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        sys.stderr.write(f"gaussmix: error: {message}\n")
        return USER_ERROR
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
