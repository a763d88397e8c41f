"""The HTML report: valid, self-contained (images embedded, no external URL), complete, escaped."""

import base64
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from gaussmix import GaussianMixture, select_model
from gaussmix.datasets import load_faithful
from gaussmix.report import build_report, write_report

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
    text, *_ = selection_report
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
    assert len(checker.images) == 6  # BIC, ICL, clusters, density, uncertainty, EM trace


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
