"""A self-contained HTML report of a fitted mixture: one file, images embedded, no network needed.

The report holds the data summary, the model-selection table (when a selection was run), the chosen
model's parameters, the plots of :mod:`gaussmix.plotting` as base64 PNG ``data:`` URIs and the EM trace.
All CSS is inline; every piece of text from data or file names is HTML-escaped; there are no external URLs,
scripts or fonts, so the file opens anywhere, offline. Without matplotlib the report still has every table
and says how to get the plots.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
from pathlib import Path
from typing import Sequence

import numpy as np

from ._tabular import atomic_write

__all__ = ["build_report", "write_report"]

_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { border-bottom: 2px solid #4a7ab5; padding-bottom: .2em; }
h2 { color: #2c5a8f; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #eef3f9; }
td.name, th.name { text-align: left; }
td.best { background: #fff2c4; font-weight: bold; }
td.failed { color: #a33; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: .2em 0; }
figure { display: inline-block; margin: .6em 1em .6em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #ddd; }
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
    """An HTML table; the first column is a name (left-aligned); ``highlight`` = (row, column) of one cell to
    mark (the chosen model). Cells and caption are escaped here."""
    head = "".join(f'<th class="{"name" if i == 0 else ""}">{_escape(h)}</th>' for i, h in enumerate(header))
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, cell in enumerate(row):
            css = " ".join(name for name, wanted in (("name", c == 0), ("best", (r, c) == highlight)) if wanted)
            cells.append(f'<td class="{css}">{_escape(cell)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    caption = f"<caption>{_escape(caption)}</caption>" if caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _png(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(figure, caption: str) -> str:
    return f'<figure><img alt="{_escape(caption)}" src="{_png(figure)}"><figcaption>{_escape(caption)}</figcaption></figure>'


def _data_section(X: np.ndarray, names: list[str], source: str) -> str:
    rows = [[name, _number(X[:, i].mean()), _number(X[:, i].std(ddof=1) if X.shape[0] > 1 else 0.0),
             _number(X[:, i].min()), _number(np.median(X[:, i])), _number(X[:, i].max())]
            for i, name in enumerate(names)]
    origin = f" from <code>{_escape(source)}</code>" if source else ""
    return (f"<h2>Data</h2><p>{X.shape[0]} rows x {X.shape[1]} columns{origin}.</p>"
            + _table(["column", "mean", "std", "min", "median", "max"], rows))


def _selection_section(selection) -> str:
    from .selection import CRITERION_KEYS, FAILED_TEXT, MARKS_LEGEND, candidate_marks, criterion_label

    if selection is None:
        return "<h2>Model selection</h2><p>No selection was run: a single model was fitted.</p>"
    column = CRITERION_KEYS[selection.criterion]
    records, chosen = selection.records, selection.best_record
    structures = list(dict.fromkeys(r["covariance_type"] for r in records))
    ks = sorted({r["n_components"] for r in records})
    by_key = {(r["covariance_type"], r["n_components"]): r for r in records}
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
    table = _table([f"K \\ {criterion_label(selection.criterion)}"] + structures, cells,
                   highlight=(ks.index(best[1]), 1 + structures.index(best[0])), caption=label)
    failed = [r for r in records if r["failed"]]
    reasons = "".join(f"<li>{_escape(r['covariance_type'])}, K={r['n_components']}: {_escape(r['reason'])}</li>"
                      for r in failed)
    warning = ("" if chosen["converged"] else
               f'<p class="note">The chosen model did not converge in {chosen["n_iter"]} iterations: its likelihood '
               "and criterion may still improve. Fit again with a larger <code>max_iter</code> (or <code>tol</code>).</p>")
    return (f"<h2>Model selection</h2><p>{_escape(label)} of every candidate; the chosen model is "
            f"<b>{_escape(best[0])}, K={best[1]}</b>.</p>" + warning + table
            + f'<p class="meta">{_escape(MARKS_LEGEND)}</p>'
            + (f"<p>Candidates that failed:</p><ul>{reasons}</ul>" if failed else ""))


def _model_section(model, X: np.ndarray, names: list[str]) -> str:
    n_samples = X.shape[0]
    n_components, n_features = model.means_.shape
    mean_log_likelihood = model.score(X)  # of the data shown, which need not be the training data
    summary = [
        ["covariance type", model.covariance_type], ["components K", str(n_components)],
        ["log-likelihood (total)", _number(mean_log_likelihood * n_samples, 3)],
        ["log-likelihood per sample", _number(mean_log_likelihood, 6)],
        ["free parameters", str(model._n_parameters())],
        ["BIC (lower is better)", _number(model.bic(X), 2)], ["AIC (lower is better)", _number(model.aic(X), 2)],
        ["converged", str(bool(model.converged_))], ["EM iterations", str(model.n_iter_)],
    ]
    parts = ["<h2>Chosen model</h2>", _table(["quantity", "value"], summary)]
    covariances = model._structure.dense_covariances(model.covariances_, n_components, n_features)
    parts.append(_table(["component", "weight"] + [f"mean {name}" for name in names],
                        [[str(k), _number(model.weights_[k])] + [_number(v) for v in model.means_[k]]
                         for k in range(n_components)]))
    shared = model._structure.equal_covariances  # one matrix for all components (tied, EEE, EEI, EII, E): once
    for k in range(1 if shared else n_components):
        parts.append("<p>Covariance shared by all components:</p>" if shared else f"<p>Covariance of component {k}:</p>")
        parts.append(_table([""] + names, [[names[i]] + [_number(v) for v in covariances[k, i]]
                                            for i in range(n_features)]))
    return "".join(parts)


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
    from . import plotting
    from .selection import criterion_label

    figures = []
    if selection is not None:
        for criterion in ("bic", "icl"):  # the signs of the table above
            figures.append(_figure(plotting.plot_criterion(selection.records, criterion=criterion).figure,
                                   f"{criterion_label(criterion)} across K and covariance structures"))
    if X.shape[1] == 1:
        figures.append(_figure(plotting.plot_histogram(model, X, feature_names=names).figure,
                               "Histogram with component densities"))
    else:
        projected = " (first two principal components)" if X.shape[1] > 2 else ""
        figures.append(_figure(plotting.plot_clusters(model, X, feature_names=names).figure,
                               f"Clusters with 1- and 2-sd covariance ellipses{projected}"))
        if X.shape[1] == 2:
            figures.append(_figure(plotting.plot_density(model, X, feature_names=names).figure, "Density contours"))
        else:
            figures.append(_figure(plotting.plot_pairs(model, X, feature_names=names), "Pairs plot"))
    figures.append(_figure(plotting.plot_uncertainty(model, X, feature_names=names).figure,
                           "Classification uncertainty"))
    if getattr(model, "lower_bounds_", None):
        figures.append(_figure(plotting.plot_trace(model).figure, "EM trace"))
    return figures


def _plots_html(model, X: np.ndarray, selection, names: list[str]) -> str:
    try:
        import matplotlib
    except ImportError:
        return ('<p class="note">Plots need matplotlib, which is not installed: '
                "<code>pip install 'gaussmix[plot]'</code>, then run again.</p>")
    with matplotlib.rc_context({"figure.max_open_warning": 0}):
        return "".join(_plots(model, X, selection, names))


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
    from . import __version__

    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise ValueError(f"feature_names has {len(names)} names for {X.shape[1]} columns")
    plot_html = _plots_html(model, X, selection, names) if plots else '<p class="note">Plots were turned off.</p>'
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{_escape(title)}</h1><p class=\"meta\">gaussmix {_escape(__version__)}, generated {generated}.</p>"
        + _data_section(X, names, source)
        + _selection_section(selection)
        + _model_section(model, X, names)
        + "<h2>Plots</h2>" + plot_html
        + _trace_section(model)
        + "</body></html>\n"
    )


def write_report(path, model, X, *, force: bool = False, **options) -> Path:
    """Build the report (see :func:`build_report`) and write it atomically to ``path``."""
    text = build_report(model, X, **options)
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")), force=force)
