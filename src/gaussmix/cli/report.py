"""A self-contained HTML report of a fitted mixture: one file, images embedded, no network needed.

The report holds the data summary, the model-selection table (when a selection was run), the chosen
model's parameters, the plots of :mod:`gaussmix.cli.plotting` as base64 PNG ``data:`` URIs and the EM trace.
All CSS is inline; every piece of text from data or file names is HTML-escaped; there are no external URLs,
scripts or fonts, so the file opens anywhere, offline. Without matplotlib the report still has every table
and says how to get the plots.

It reads the same at 2 and at 64 columns: every table sits in a box that scrolls sideways (and down, when long)
inside the page instead of overflowing it. Up to :data:`WIDE` columns the model's means and covariance matrices
are shown as numbers; beyond, one row per variable gives each component's mean and standard deviation (ordered by
how well the variable separates the components) and heat maps show the correlations. The pairs plot then shows the
variables that separate the components best, and says which and why.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io.tabular import atomic_write

__all__ = ["WIDE", "build_classifier_report", "build_report", "write_report"]

WIDE = 6
"""Beyond this many columns a d x d matrix of numbers no longer reads: the report shows pictures and per-variable
rows instead (the pairs plot's limit too)."""

LONG = 20
"""Tables with more rows scroll inside a box of fixed height, so the report stays a page one can browse."""

_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { border-bottom: 2px solid #4a7ab5; padding-bottom: .2em; }
h2 { color: #2c5a8f; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; white-space: nowrap; }
th { background: #eef3f9; }
td.name, th.name { text-align: left; }
td.best { background: #fff2c4; font-weight: bold; }
td.failed { color: #a33; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: .2em 0; }
figure { display: inline-block; margin: .6em 1em .6em 0; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figure.wide { display: block; }
.scroll { overflow-x: auto; width: fit-content; max-width: 100%; }
.scroll.long { max-height: 30em; overflow-y: auto; border-bottom: 1px solid #ddd; }
.scroll.long thead th { position: sticky; top: 0; }
figcaption { font-size: .9em; color: #555; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; }
.note { background: #fdf6e3; border-left: 4px solid #e0b000; padding: .5em 1em; }
.meta { color: #666; font-size: .9em; }
"""


def _escape(value) -> str:
    return html.escape(str(value), quote=True)


def _number(value, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], highlight: tuple[int, int] | None = None,
           caption: str = "") -> str:
    """An HTML table in a box that scrolls sideways (and down, past :data:`LONG` rows) inside the page; the first
    column is a name (left-aligned); ``highlight`` = (row, column) of one cell to mark (the chosen model). Cells and
    caption are escaped here."""
    head = "".join(f'<th class="{"name" if i == 0 else ""}">{_escape(h)}</th>' for i, h in enumerate(header))
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, cell in enumerate(row):
            css = " ".join(name for name, wanted in (("name", c == 0), ("best", (r, c) == highlight)) if wanted)
            cells.append(f'<td class="{css}">{_escape(cell)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    caption = f"<caption>{_escape(caption)}</caption>" if caption else ""
    box = "scroll long" if len(rows) > LONG else "scroll"
    return (f'<div class="{box}"><table>{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _png(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(figure, caption: str, wide: bool = False) -> str:
    """A figure with its caption; ``wide``: on a line of its own (a pairs plot, heat maps)."""
    css = ' class="wide"' if wide else ""
    return (f'<figure{css}><img alt="{_escape(caption)}" src="{_png(figure)}">'
            f"<figcaption>{_escape(caption)}</figcaption></figure>")


def _data_section(X: np.ndarray, names: list[str], source: str) -> str:
    rows = [[name, _number(X[:, i].mean()), _number(X[:, i].std(ddof=1) if X.shape[0] > 1 else 0.0),
             _number(X[:, i].min()), _number(np.median(X[:, i])), _number(X[:, i].max())]
            for i, name in enumerate(names)]
    origin = f" from <code>{_escape(source)}</code>" if source else ""
    return (f"<h2>Data</h2><p>{X.shape[0]} rows x {X.shape[1]} columns{origin}.</p>"
            + _table(["column", "mean", "std", "min", "median", "max"], rows))


def _selection_section(selection) -> str:
    from ..selection import CRITERION_KEYS, FAILED_TEXT, MARKS_LEGEND, candidate_label, candidate_marks, criterion_label

    if selection is None:
        return "<h2>Model selection</h2><p>No selection was run: a single model was fitted.</p>"
    column = CRITERION_KEYS[selection.criterion]
    records, chosen = selection.records, selection.best_record
    structures = list(dict.fromkeys(candidate_label(r) for r in records))
    ks = sorted({r["n_components"] for r in records})
    by_key = {(candidate_label(r), r["n_components"]): r for r in records}
    cells = []
    for k in ks:
        row = [str(k)]
        for structure in structures:
            record = by_key.get((structure, k))
            if record is None:
                row.append("")
            else:
                value = FAILED_TEXT if record["failed"] else _number(record[column], 2)
                marks = candidate_marks(record, record is chosen)
                row.append(f"{value} {marks}" if marks else value)
        cells.append(row)
    best = (chosen["covariance_type"], chosen["n_components"])
    label = criterion_label(selection.criterion, formula=True)
    table = _table(["K"] + structures, cells,
                   highlight=(ks.index(best[1]), 1 + structures.index(best[0])), caption=label)
    failed = [r for r in records if r["failed"]]
    reasons = "".join(f"<li>{_escape(candidate_label(r))}, K={r['n_components']}: {_escape(r['reason'])}</li>"
                      for r in failed)
    warning = ("" if chosen["converged"] else
               f'<p class="note">The chosen model did not converge in {chosen["n_iter"]} iterations: its likelihood '
               "and criterion may still improve. Fit again with a larger <code>max_iter</code> (or "
               "<code>tol</code>).</p>")
    return (f"<h2>Model selection</h2><p>Every candidate, K components x covariance structure; the chosen model is "
            f"<b>{_escape(best[0])}, K={best[1]}</b>.</p>" + warning + table
            + f'<p class="meta">{_escape(MARKS_LEGEND)}</p>'
            + (f"<p>Candidates that failed:</p><ul>{reasons}</ul>" if failed else ""))


def _model_section(model, X: np.ndarray, names: list[str], plots: bool) -> str:
    n_samples = X.shape[0]
    n_components, n_features = model.means_.shape
    mean_log_likelihood = model.score(X)  # of the data shown, which need not be the training data
    summary = [
        ["covariance type", model.covariance_type], ["components K", str(n_components)],
        ["log-likelihood (total)", _number(mean_log_likelihood * n_samples, 3)],
        ["log-likelihood per sample", _number(mean_log_likelihood, 6)],
        ["free parameters", str(model._n_parameters())],
        ["BIC (lower is better)", _number(model.bic(X), 2)], ["AIC (lower is better)", _number(model.aic(X), 2)],
        ["converged", str(bool(model.converged_))],
        # With SQUAREM an iteration is a cycle of up to three EM steps (gaussmix.fitting.acceleration).
        ["EM iterations (SQUAREM cycles)" if getattr(model, "acceleration", None) == "squarem" else "EM iterations",
         str(model.n_iter_)],
    ]
    parts = ["<h2>Chosen model</h2>", _table(["quantity", "value"], summary)]
    if not model.converged_:
        parts.append(f'<p class="note">EM did not converge in {model.n_iter_} iterations: the parameters below may '
                     "still change with more iterations.</p>")
    covariances = model._structure.dense_covariances(model.covariances_, n_components, n_features)
    if n_features > WIDE:
        parts.append(_wide_parameters(model, covariances, names, plots))
        return "".join(parts)
    parts.append(_table(["component", "weight"] + [f"mean {name}" for name in names],
                        [[str(k), _number(model.weights_[k])] + [_number(v) for v in model.means_[k]]
                         for k in range(n_components)]))
    shared = model._structure.equal_covariances  # one matrix for all components (tied, EEE, EEI, EII, E): once
    for k in range(1 if shared else n_components):
        parts.append("<p>Covariance shared by all components:</p>" if shared else f"<p>Covariance of component {k}:</p>")
        parts.append(_table([""] + names, [[names[i]] + [_number(v) for v in covariances[k, i]]
                                            for i in range(n_features)]))
    return "".join(parts)


def _wide_parameters(model, covariances: np.ndarray, names: list[str], plots: bool) -> str:
    """Means and standard deviations, one row per variable (best separating first), and the correlations as heat
    maps: a d x d table of numbers neither fits a page nor reads beyond :data:`WIDE` columns."""
    from .plotting import separation_ratios

    n_components, n_features = model.means_.shape
    ratios = separation_ratios(model)
    sd = np.sqrt(np.diagonal(covariances, axis1=1, axis2=2))
    shared = model._structure.equal_covariances  # one standard deviation per variable, not K equal ones
    order = np.argsort(-ratios, kind="stable")
    header = (["variable", "separation"] + (["sd (all components)"] if shared else [])
              + [f"component {k}" for k in range(n_components)])
    rows = [["weight", ""] + ([""] if shared else []) + [_number(weight, 3) for weight in model.weights_]]
    for j in order:
        digits = _decimals(sd[:, j].mean())  # one variable, one number of decimals
        cells = [f"{model.means_[k, j]:.{digits}f}" + ("" if shared else f" ({sd[k, j]:.{digits}f})")
                 for k in range(n_components)]
        rows.append([names[j], _number(ratios[j], 3)] + ([f"{sd[0, j]:.{digits}f}"] if shared else []) + cells)
    spread = ("standard deviation (the same for all components, one column)" if shared
              else "in brackets, standard deviation")
    parts = [f"<p>{n_features} variables: each component's weight, then its mean and {spread}, one row per "
             "variable, ordered by <i>separation</i>, the between- over within-component variance of the variable "
             "(sum<sub>k</sub> w<sub>k</sub> (mu<sub>kj</sub> - m<sub>j</sub>)<sup>2</sup> / sum<sub>k</sub> "
             "w<sub>k</sub> Sigma<sub>k,jj</sub>; Fisher's ratio, free of units; large = the components differ "
             "in it). Digits follow each variable's spread.</p>",
             _table(header, rows)]
    off_diagonal = covariances[:, ~np.eye(n_features, dtype=bool)]
    if not np.any(off_diagonal):
        parts.append(f"<p>The covariance structure ({_escape(model.covariance_type)}) is diagonal: the variables are "
                     "uncorrelated within each component, so the standard deviations above are the whole covariance."
                     "</p>")
    elif plots and _have_matplotlib():
        from . import plotting

        caption = ("Correlation matrix within components (the covariance scaled by the standard deviations above), "
                   + ("one matrix shared by all components" if shared else "one heat map per component")
                   + f"; {n_features} x {n_features}, in the data's column order")
        parts.append(_figure(plotting.plot_correlations(model, feature_names=names), caption, wide=True))
    else:
        parts.append('<p class="note">The correlation heat maps are plots: they need matplotlib and plots turned '
                     "on.</p>")
    return "".join(parts)


def _decimals(spread: float) -> int:
    """Decimals that show a value to about a thousandth of ``spread``: wide data mix units (wine: hue near 1,
    proline near 1000), and one number of decimals for all would print noise (3.4e-11 for a pixel near 0)."""
    if not np.isfinite(spread) or spread <= 0:
        return 4
    return int(np.clip(2 - np.floor(np.log10(spread)), 0, 8))


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _trace_section(model) -> str:
    trace = list(getattr(model, "lower_bounds_", []))
    shown = range(len(trace)) if len(trace) <= 12 else [*range(6), None, *range(len(trace) - 5, len(trace))]
    rows = []
    for index in shown:
        if index is None:
            rows.append(["...", "", ""])
            continue
        change = "" if index == 0 else f"{trace[index] - trace[index - 1]:+.3e}"
        rows.append([str(index + 1), f"{trace[index]:.8f}", change])
    rows.append(["returned", f"{model.lower_bound_:.8f}", ""])
    return ("<h2>EM trace</h2><p>Per-sample mean log-likelihood of the parameters entering each iteration; "
            "the last row is that of the returned parameters.</p>"
            + _table(["iteration", "mean log-likelihood", "change"], rows))


def _plots(model, X: np.ndarray, selection, names: list[str]) -> list[str]:
    from ..selection import criterion_label
    from . import plotting

    figures = []
    if selection is not None:
        for criterion in ("bic", "icl"):  # the signs of the table above
            figures.append(_figure(plotting.plot_criterion(selection.records, criterion=criterion).figure,
                                   f"{criterion_label(criterion)} across K and covariance structures"))
    n_features = X.shape[1]
    projected = (" on the first two principal components of the standardised data (each column scaled to unit "
                 "variance, so its units do not decide the picture)") if n_features > 2 else ""
    if n_features == 1:
        figures.append(_figure(plotting.plot_histogram(model, X, feature_names=names).figure,
                               "Histogram with component densities"))
    else:
        figures.append(_figure(plotting.plot_clusters(model, X, feature_names=names).figure,
                               f"Clusters with 1- and 2-sd covariance ellipses{projected}"))
        if n_features == 2:
            figures.append(_figure(plotting.plot_density(model, X, feature_names=names).figure,
                                   "Density contours (crosses: component means)"))
        else:
            # Principal components show where the data vary most; these show where the components differ.
            directions = plotting.plot_clusters(model, X, feature_names=names, projection="directions")
            figures.append(_figure(directions.figure, "Clusters in the first two MclustDR directions (Scrucca 2010): "
                                   "the directions along which the components' means and covariances differ most"))
            shown = plotting.pairs_features(model, WIDE)
            figures.append(_figure(plotting.plot_pairs(model, X, features=shown, feature_names=names),
                                   _pairs_caption(model, shown, names), wide=True))
    figures.append(_figure(plotting.plot_uncertainty(model, X, feature_names=names).figure,
                           f"Classification uncertainty{projected}"))
    if getattr(model, "lower_bounds_", None):
        figures.append(_figure(plotting.plot_trace(model).figure, "EM trace"))
    return figures


MERGING_MIN_COMPONENTS = 3
"""Models with at least this many components get the "Merging components" section: with two, the only merge is
into one cluster."""


def _merging_section(model, X: np.ndarray, plots: bool) -> str:
    """The entropy merge hierarchy of the components (Baudry et al. 2010): a table of merges and the entropy plot."""
    from ..inference.merging import combine_components

    merged = combine_components(model, X)
    rows = [[str(merged.n_components), "", "(the fitted components)", _number(merged.entropies[-1], 3), "", ""]]
    for step in merged.steps:
        joined = merged.components(step.n_clusters)[step.pair[0]]
        rows.append([str(step.n_clusters), f"{step.pair[0]} + {step.pair[1]}", ", ".join(map(str, joined)),
                     _number(step.entropy, 3), _number(step.entropy_decrease, 3), str(step.n_merged)])
    parts = ["<h2>Merging components</h2>",
             "<p>Several Gaussian components may describe one cluster that is not Gaussian. Following Baudry et al. "
             "(2010; mclust's <code>clustCombi</code>), each step merges the two clusters whose union most lowers the "
             "entropy of the responsibilities, -sum<sub>n</sub> sum<sub>k</sub> z<sub>nk</sub> log z<sub>nk</sub> "
             "(a union's responsibilities are the sums of its components'). Clusters are numbered among those before "
             "the merge; the union keeps the smaller number. Where the entropy stops falling steeply (the elbow of "
             "the plot) the clusters left are well apart. <code>gaussmix.combine_components(model, X)</code> gives "
             "the labels at any number of clusters.</p>",
             _table(["clusters", "merged", "components in the merged cluster", "entropy", "decrease", "rows merged"],
                    rows)]
    if plots and _have_matplotlib():
        import matplotlib

        with matplotlib.rc_context({"figure.max_open_warning": 0}):
            parts.append(_figure(merged.plot().figure, "Entropy against the number of clusters (choose the elbow)"))
            parts.append(_figure(merged.plot(kind="normalised").figure,
                                 "Entropy decrease of each merge per row merged (a jump: two separate clusters "
                                 "were merged)"))
    return "".join(parts)


def _pairs_caption(model, shown, names: list[str]) -> str:
    """Which variables the pairs plot shows, and why."""
    n_features = len(names)
    listed = ", ".join(names[j] for j in shown)
    if len(shown) == n_features:
        return f"Pairs plot of all {n_features} variables, with 2-sd ellipses"
    if model.means_.shape[0] == 1:
        return (f"Pairs plot: showing {len(shown)} of {n_features} variables ({listed}); with one component no "
                "variable separates components, so these are the first ones")
    return (f"Pairs plot: showing {len(shown)} of {n_features} variables ({listed}), chosen as those that separate "
            "the components best: the largest between- over within-component variance ratio (the separation "
            "column of the table above)")


def _plots_html(model, X: np.ndarray, selection, names: list[str]) -> str:
    if not _have_matplotlib():
        return ('<p class="note">Plots need matplotlib, which is not installed: '
                "<code>pip install 'gaussmix[plot]'</code>, then run again.</p>")
    import matplotlib

    with matplotlib.rc_context({"figure.max_open_warning": 0}):
        return "".join(_plots(model, X, selection, names))


def _page(title: str, body: str) -> str:
    """A whole HTML document: the title, the version and time it was made, then ``body`` (already HTML)."""
    from .. import __version__

    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{_escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>"
            f"<h1>{_escape(title)}</h1><p class=\"meta\">gaussmix {_escape(__version__)}, generated {generated}.</p>"
            f"{body}</body></html>\n")


def build_report(model, X, *, selection=None, feature_names: Sequence[str] | None = None, source: str = "",
                 title: str = "gaussmix report", plots: bool = True) -> str:
    """The report as one HTML string.

    Parameters
    ----------
    model : fitted GaussianMixture
        The model described (usually ``selection.best_estimator_``).
    X : array of shape (n_samples, n_features)
        The data described: the training data, or other data for a saved model (the summary, likelihoods,
        BIC/AIC and plots are computed on it; the EM trace is the fit's).
    selection : result of ``gaussmix.select_model``, optional
        Adds the selection table and the BIC/ICL curves.
    feature_names : list of str, optional
    source : str
        Where the data came from (shown, escaped).
    plots : bool
        False, or matplotlib missing: tables only, with a note.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise ValueError(f"feature_names has {len(names)} names for {X.shape[1]} columns")
    plot_html = _plots_html(model, X, selection, names) if plots else '<p class="note">Plots were turned off.</p>'
    return _page(
        title,
        _data_section(X, names, source)
        + _selection_section(selection)
        + _model_section(model, X, names, plots)
        + (_merging_section(model, X, plots) if model.means_.shape[0] >= MERGING_MIN_COMPONENTS else "")
        + "<h2>Plots</h2>" + plot_html
        + _trace_section(model),
    )


def _classifier_section(model, X: np.ndarray, labels: np.ndarray, names: list[str], cv: int, seed: int) -> str:
    """The classifier: its structure(s), candidates, a cross-validated confusion matrix and each class's model."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    classes = [str(c) for c in model.classes_]
    labels = np.asarray([str(label) for label in labels])
    counts = {c: int(np.sum(labels == c)) for c in classes}
    folds = min(cv, min(counts.values()))
    parts = [f"<h2>Classifier</h2><p>{_escape(model.model_type_)}: "
             + ("one Gaussian per class, one covariance structure for all classes (" + _escape(model.covariance_type_)
                + ")" if model.model_type_ == "EDDA" else "a Gaussian mixture per class, its structure and number of "
                "components chosen per class by BIC")
             + f"; BIC (lower is better) {_number(model.bic(), 2)}.</p>"]
    rows = [[c, str(counts[c]), _number(p, 4)] for c, p in zip(classes, model.priors_)]
    parts.append(_table(["class", "rows here", "prior"], rows))
    if model.model_type_ == "EDDA":
        with_cv = any(c.get("cv_accuracy") is not None for c in model.candidates_)
        with_failures = any(c["failed"] for c in model.candidates_)
        candidates = [[c["covariance_type"], "failed" if c["failed"] else _number(c["bic"], 2),
                       *([_number(c.get("cv_accuracy"), 3) if c.get("cv_accuracy") is not None else ""] if with_cv
                         else []),
                       *([c["reason"]] if with_failures else [])]
                      for c in model.candidates_]
        chosen = next(i for i, c in enumerate(model.candidates_) if c["covariance_type"] == model.covariance_type_)
        header = ["structure", "BIC (lower is better)", *(["cv accuracy"] if with_cv else []),
                  *(["why it failed"] if with_failures else [])]
        parts.append(_table(header, candidates, highlight=(chosen, 2 if with_cv else 1),
                            caption="every structure tried; the chosen one is marked"))
    if folds >= 2:
        predicted = np.asarray([str(c) for c in cross_val_predict(
            clone(model), X, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed))])
        matrix = [[int(np.sum((labels == true) & (predicted == guess))) for guess in classes] for true in classes]
        accuracy = float(np.mean(predicted == labels))
        parts.append(f"<h3>Cross-validated confusion matrix</h3><p>{folds}-fold stratified cross-validation (the model "
                     f"refitted with the same settings on each training part): accuracy {accuracy:.3f} on {len(labels)} "
                     "rows.</p>")
        parts.append(_table(["true \\ predicted", *classes], [[c, *map(str, row)] for c, row in zip(classes, matrix)]))
    else:
        parts.append('<p class="note">A class has a single row here: no cross-validated confusion matrix.</p>')
    parts.append("<h3>Each class's model</h3>")
    rows = []
    for c, class_model in zip(classes, model.models_):
        structure = model.covariance_type_ if model.model_type_ == "EDDA" else class_model.covariance_type
        for k in range(class_model.n_components):
            rows.append([c if k == 0 else "", structure if k == 0 else "", str(k), _number(class_model.weights_[k], 3),
                         *(_number(value, 3) for value in class_model.means_[k])])
    parts.append(_table(["class", "structure", "component", "weight", *(f"mean {name}" for name in names)], rows))
    return "".join(parts)


def build_classifier_report(model, X, labels, *, feature_names: Sequence[str] | None = None, source: str = "",
                            title: str = "gaussmix classifier report", plots: bool = True, cv: int = 5,
                            seed: int = 0) -> str:
    """The report of a fitted :class:`~gaussmix.GaussianMixtureClassifier` as one HTML string.

    Parameters
    ----------
    model : fitted GaussianMixtureClassifier
    X : array of shape (n_samples, n_features)
        Labelled rows described (the training rows, or others).
    labels : array of shape (n_samples,)
        Their true classes: the cross-validated confusion matrix refits the model's settings on ``cv``
        stratified folds of them.
    feature_names, source, title, plots
        As for :func:`build_report`; the plot is the data in the first two (standardised) principal axes,
        coloured by predicted class, with the class Gaussians' ellipses for an EDDA model.
    """
    X = np.asarray(X, dtype=np.float64)
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(X.shape[1])]
    plot_html = ""
    if plots and _have_matplotlib():
        from . import plotting

        import matplotlib.pyplot as plt

        figure, ax = plt.subplots(figsize=(6.4, 4.8))
        if model.model_type_ == "EDDA":
            plotting.plot_clusters(model.mixture_, X, ax=ax)
            caption = ("the rows coloured by predicted class (component k is class "
                       + ", ".join(f"{k}: {c}" for k, c in enumerate(model.classes_)) + "), with each class's Gaussian")
        else:
            predicted = model.predict(X)
            for c in model.classes_:
                ax.scatter(*X[predicted == c][:, :2].T, s=10, label=str(c))
            ax.legend(title="predicted class")
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1] if len(names) > 1 else "")
            caption = "the rows coloured by predicted class (first two variables)"
        plot_html = "<h2>Plot</h2>" + _figure(figure, caption)
    return _page(
        title,
        _data_section(X, names, source)
        + _classifier_section(model, X, labels, names, cv, seed)
        + plot_html,
    )


def write_report(path, model, X, *, force: bool = False, **options) -> Path:
    """Build the report (:func:`build_report`; :func:`build_classifier_report` for a classifier, whose ``labels``
    are then required) and write it atomically to ``path``."""
    from ..estimators.classifier import GaussianMixtureClassifier

    if isinstance(model, GaussianMixtureClassifier):
        text = build_classifier_report(model, X, **options)
    else:
        text = build_report(model, X, **options)
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")), force=force)
