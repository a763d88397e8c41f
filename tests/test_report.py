"""The HTML report: valid, self-contained (images embedded, no external URL), complete, escaped."""

import base64
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from gaussmix import GaussianMixture, ScaleWarning, select_model
from gaussmix.datasets import load_faithful
from gaussmix.cli.report import build_report, write_report

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Checker(HTMLParser):
    """Checks nesting (every opened element closed in order) and collects URLs and images."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.urls, self.images, self.text = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "action", "data", "poster") and value is not None:
                self.urls.append(value)
            if name == "style" and value and "url(" in value:
                self.urls.append(value)
        if tag == "img":
            self.images.append(dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(text):
    checker = Checker()
    checker.feed(text)
    checker.close()
    return checker


@pytest.fixture(scope="module")
def selection_report():
    X, names = load_faithful()
    selection = select_model(X, n_components=(1, 2, 3), covariance_types=("full", "tied"), random_state=0,
                             max_iter=500)
    records, model = selection.records, selection.best_estimator_
    text = build_report(model, X, selection=selection, feature_names=names, source="<faithful & co>.csv")
    return text, model, X, records


def test_report_is_valid_self_contained_html(selection_report):
    text, model, *_ = selection_report
    assert text.startswith("<!DOCTYPE html>")
    checker = parse(text)
    assert checker.errors == [] and checker.stack == []
    # no external resource: every URL is an embedded data: URI, and no http(s) or protocol-relative link anywhere
    assert checker.urls and all(url.startswith("data:image/png;base64,") for url in checker.urls)
    without_images = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    assert not re.search(r"(https?:|ftp:)?//[a-z0-9]", without_images, re.I)
    assert "<script" not in text and "<link" not in text and "@import" not in text
    for image in checker.images:
        png = base64.b64decode(image["src"].split(",", 1)[1], validate=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
        assert image["alt"]
    merging = 2 if model.n_components >= 3 else 0  # entropy and normalised entropy decrease
    assert len(checker.images) == 6 + merging  # BIC, ICL, clusters, density, uncertainty, EM trace


def test_report_contents(selection_report):
    text, model, X, records = selection_report
    body = " ".join(parse(text).text)
    assert "272 rows x 2 columns" in body
    assert "<faithful & co>.csv" in body and "<faithful & co>" not in text  # escaped in the source
    for record in records:  # the selection table holds every candidate's BIC
        assert f"{record['bic']:.2f}" in body
    best = min(r["bic"] for r in records)
    assert f"{best:.2f} *" in body
    highlighted = re.findall(r'<td class="best">([^<]*)</td>', text)
    assert highlighted == [f"{best:.2f} *"]  # the chosen cell only, not its whole row
    for weight in model.weights_:
        assert f"{weight:.4f}" in body
    assert f"{model.lower_bound_:.8f}" in body  # the EM trace's returned value
    assert f"{X[:, 1].mean():.4f}" in body  # data summary
    # select_model's fits iterate in SQUAREM cycles: the count says so
    assert model.acceleration == "squarem" and "EM iterations (SQUAREM cycles)" in body


def test_report_without_plots_and_one_dimensional(tmp_path):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-2, 2, 300), rng.normal(4, 1, 150)])[:, None]
    model = GaussianMixture(2, random_state=0).fit(x)
    text = build_report(model, x, plots=False)
    assert "<img" not in text and "Plots were turned off" in text
    assert "No selection was run" in text
    path = write_report(tmp_path / "r.html", model, x)
    assert parse(path.read_text(encoding="utf-8")).images  # histogram, uncertainty, trace
    with pytest.raises(ValueError, match="already exists"):
        write_report(tmp_path / "r.html", model, x)


def test_report_without_matplotlib_says_how_to_get_plots(monkeypatch):
    import sys

    X, names = load_faithful()
    model = GaussianMixture(2, random_state=0).fit(X)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    text = build_report(model, X, feature_names=names)
    assert "<img" not in text and "pip install 'gaussmix[plot]'" in html_unescape(text)
    assert parse(text).errors == []


def html_unescape(text):
    import html

    return html.unescape(text)


def model_rows(text):
    """The 'Chosen model' summary table as {quantity: value}."""
    section = text.split("<h2>Chosen model</h2>", 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", section)
    return dict(zip(cells[::2], cells[1::2]))


def test_log_likelihood_is_that_of_the_data_shown():
    X, names = load_faithful()
    model = GaussianMixture(2, covariance_type="EEE", random_state=0).fit(X)
    other = X[::2] + np.array([0.3, 2.0])  # a model file described on other data (report DATA --model)
    rows = model_rows(build_report(model, other, feature_names=names, plots=False))
    assert rows["log-likelihood per sample"] == f"{model.score(other):.6f}"
    assert rows["log-likelihood (total)"] == f"{model.score(other) * len(other):.3f}"
    assert abs(model.score(other) - model.lower_bound_) > 1e-3  # the training value would be wrong here


@pytest.mark.parametrize("covariance_type, shared", [("tied", True), ("EEE", True), ("EEI", True), ("EII", True),
                                                     ("VVI", False), ("VEE", False), ("full", False)])
def test_a_covariance_common_to_all_components_is_shown_once(covariance_type, shared):
    X, names = load_faithful()
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    text = build_report(model, X, feature_names=names, plots=False)
    assert text.count("Covariance shared by all components") == int(shared)
    assert text.count("Covariance of component") == (0 if shared else 3)


# ------------------------------------------------------------- wide data: 2, 13 and 64 columns (issue 17, item 3)
DATA = Path(__file__).parent / "data"


def load_csv(name):
    """A data file of tests/data without its ``label`` column (the CLI's ``--drop label``): (X, names)."""
    path = DATA / f"{name}.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    X = np.loadtxt(path, delimiter=",", skiprows=1)
    keep = [i for i, name in enumerate(header) if name != "label"]
    return X[:, keep], [header[i] for i in keep]


def faithful_csv():
    X, names = load_faithful()
    return X, list(names)


WIDTHS = {2: (faithful_csv, "tied", 3), 13: (lambda: load_csv("wine"), "full", 3),
          64: (lambda: load_csv("digits"), "tied", 4)}


@pytest.fixture(scope="module", params=sorted(WIDTHS), ids=lambda d: f"d={d}")
def wide_report(request):
    """The report at d = 2 (faithful), 13 (wine) and 64 (digits), with what each saved figure showed."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    load, covariance_type, n_components = WIDTHS[request.param]
    X, names = load()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScaleWarning)  # digits has constant pixels: the report must cope with them
        model = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0).fit(X)
    figures, savefig = [], Figure.savefig

    def recording(figure, *args, **kwargs):
        labels = {ax.get_ylabel() for ax in figure.axes}
        figures.append({"title": figure.get_suptitle() or figure.axes[0].get_title(),
                        "legend": bool(figure.legends) or any(ax.get_legend() for ax in figure.axes),
                        "colorbar": "correlation" in labels})
        return savefig(figure, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Figure, "savefig", recording)
        text = build_report(model, X, feature_names=names)
    return request.param, text, model, names, figures


def tables(text):
    return re.findall(r"<table>.*?</table>", text, flags=re.S)


def test_every_plot_has_a_legend(wide_report):
    _, _, _, _, figures = wide_report
    assert figures
    for figure in figures:
        if figure["title"].startswith("Correlations"):  # heat maps: a colour bar, components named in the titles
            assert figure["colorbar"], figure
        else:
            assert figure["legend"], figure


def test_every_table_scrolls_inside_the_page(wide_report):
    d, text, *_ = wide_report
    assert parse(text).errors == []
    assert text.count("<table>") == len(re.findall(r'<div class="scroll[^"]*"><table>', text))
    assert re.search(r"\.scroll \{[^}]*overflow-x: auto", text)


def test_wide_data_get_standard_deviations_and_heat_maps_not_covariance_tables(wide_report):
    d, text, model, names, figures = wide_report
    widest = max(len(re.findall(r"<th[ >]", re.search(r"<thead>.*?</thead>", t, flags=re.S)[0])) for t in tables(text))
    if d <= 6:
        assert "Covariance shared by all components" in text  # a 2 x 2 matrix reads as numbers
        assert not any(f["title"].startswith("Correlations") for f in figures)
    else:
        assert "Covariance" not in text and "mean " + names[0] not in text
        assert widest <= max(6, model.n_components + 3)  # the data summary; variable, separation, sd, components
        assert "standard deviation" in text and "separation" in text
        assert sum(f["title"].startswith("Correlations") for f in figures) == 1


def test_projection_and_pairs_plot_say_what_they_show(wide_report):
    d, text, model, names, _ = wide_report
    body = html_unescape(text)
    if d == 2:  # the data's own axes: no projection, no pairs plot, nothing chosen
        assert "standardised" not in body and "Pairs plot" not in body
        return
    assert "first two principal components of the standardised data" in body
    shown = re.search(r"Pairs plot: showing 6 of (\d+) variables \(([^)]*)\), chosen as those that separate the "
                      r"components best", body)
    assert shown and int(shown[1]) == d
    from gaussmix.cli.plotting import separation_ratios

    ratios = separation_ratios(model)
    chosen = [names.index(name) for name in shown[2].split(", ")]
    assert sorted(chosen) == sorted(np.argsort(-ratios)[:6].tolist())


def test_separation_ratio_is_fishers_and_picks_the_separating_variables():
    from gaussmix.cli.plotting import pairs_features, principal_axes, separation_ratios

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 9)) * np.arange(1, 10)  # unequal scales
    X[:200, [2, 6]] += [30.0, 60.0]  # only columns 2 and 6 tell the halves apart
    model = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    w, mu, var = model.weights_, model.means_, model.covariances_
    by_hand = (w @ (mu - w @ mu) ** 2) / (w @ var)
    np.testing.assert_allclose(separation_ratios(model), by_hand, rtol=1e-12)
    assert pairs_features(model, 2).tolist() == [2, 6]
    assert pairs_features(model, 9).tolist() == list(range(9))
    # Standardised principal axes: the units of a column do not change the scores.
    rescaled = X * np.r_[1000.0, np.ones(8)]
    scores = [(data - centre) @ axes for data in (X, rescaled) for centre, axes in [principal_axes(data)]]
    np.testing.assert_allclose(np.abs(scores[0]), np.abs(scores[1]), atol=1e-8)


def test_merging_section_follows_the_model_for_three_or_more_components():
    from gaussmix import combine_components

    X, names = faithful_csv()
    model = GaussianMixture(4, random_state=0).fit(X)
    text = build_report(model, X, feature_names=names, plots=False)
    assert text.index("<h2>Chosen model</h2>") < text.index("<h2>Merging components</h2>") < text.index("<h2>Plots")
    section = text.split("<h2>Merging components</h2>", 1)[1].split("<h2>", 1)[0]
    merged = combine_components(model, X)
    rows = re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>", 1)[1])
    assert len(rows) == model.n_components  # the fitted components, then one row per merge
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in rows]
    assert [int(row[0]) for row in cells] == list(range(model.n_components, 0, -1))
    assert [float(row[3]) for row in cells] == pytest.approx(merged.entropies[::-1], abs=1e-3)
    assert [row[1] for row in cells[1:]] == [f"{s.pair[0]} + {s.pair[1]}" for s in merged.steps]
    two = build_report(GaussianMixture(2, random_state=0).fit(X), X, plots=False)
    assert "Merging components" not in two


def test_wide_data_are_also_shown_in_the_mclustdr_directions(wide_report):
    d, text, *_, figures = wide_report
    assert ("Clusters in the first two MclustDR directions" in text) == (d > 2)
    assert "Entropy of the combined clusters" in [f["title"] for f in figures]  # K = 3 or 4 in every width
