"""One BIC sign and one meaning of ``*`` across the command line, its JSON and the report (issue 17, item 2).

scikit-learn's sign everywhere (``-2 log L + p log n``, lower is better, the one of ``GaussianMixture.bic``),
stated in each heading; ``*`` marks the chosen model only; ``!`` a candidate that did not converge; a warning
on standard error when the chosen model did not converge. Every command runs in a subprocess.
"""

import json
import re

import numpy as np
import pytest

from test_cli import FAITHFUL, gaussmix
from test_selection import summary_cells

GRID = ("-k", "1-3", "--covariance", "full,tied")
# Two EM iterations from the agglomeration and no tolerance: no candidate with K > 1 can converge.
STALLED = ("-k", "2-3", "--covariance", "full,tied", "--max-iter", "2", "--tol", "0")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signs")
    (folder / "faithful.csv").write_bytes(FAITHFUL.read_bytes())
    return folder


@pytest.fixture(scope="module")
def selected(folder):
    """``select`` on GRID as text (with its progress lines on standard error)."""
    return gaussmix("select", "faithful.csv", *GRID, cwd=folder)


@pytest.fixture(scope="module")
def report_html(folder):
    """``report`` on GRID: its JSON summary and the HTML."""
    completed = gaussmix("report", "faithful.csv", *GRID, "-q", "-o", "r.html", "--force", "--json", cwd=folder)
    return json.loads(completed.stdout), (folder / "r.html").read_text(encoding="utf-8")


def table_cells(text):
    """The selection table printed by ``select``/``fit``: {(covariance type, K): cell text}."""
    return summary_cells(text)


def report_cells(html):
    """The report's selection table: the highlighted cell, every cell and the caption and header row."""
    section = html.split("<h2>Model selection</h2>", 1)[1].split("</table>", 1)[0]
    caption = re.search(r"<caption>(.*?)</caption>", section)[1]
    header = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", section)
    cells, highlighted = re.findall(r"<td[^>]*>(.*?)</td>", section), re.findall(r'<td class="best">(.*?)</td>', section)
    return caption, header, cells, highlighted


def test_fit_select_report_score_and_json_show_the_same_bic(folder, selected, report_html):
    selected_json = json.loads(gaussmix("select", "faithful.csv", *GRID, "--json", "-q", cwd=folder).stdout)
    best = next(r for r in selected_json["records"] if {"covariance_type": r["covariance_type"],
                                                         "n_components": r["n_components"]} == selected_json["best"])
    bic = best["bic"]
    assert bic == pytest.approx(2314.3, abs=0.1)  # scikit-learn's sign: mclust prints -2314.3 for EEE,3
    assert best["mclust_bic"] == pytest.approx(-bic)  # kept for comparing with R, documented in "signs"
    assert "lower is better" in selected_json["signs"]["bic"] and "mclust" in selected_json["signs"]["mclust_bic"]
    assert min(r["bic"] for r in selected_json["records"]) == bic

    shown = f"{bic:.2f}"
    assert table_cells(selected.stdout)[("tied", 3)] == shown + "*"
    assert f"chosen by BIC (lower is better): tied, K=3 ({shown})" in selected.stdout

    fitted = gaussmix("fit", "faithful.csv", *GRID, "-q", "-o", "m.npz", "--force", cwd=folder).stdout
    assert table_cells(fitted)[("tied", 3)] == shown + "*"
    assert f"BIC (lower is better) {shown}," in fitted  # the summary line keeps the table's sign
    fitted_json = json.loads(gaussmix("fit", "faithful.csv", *GRID, "-q", "-o", "m.npz", "--force", "--json",
                                      cwd=folder).stdout)
    assert fitted_json["bic"] == pytest.approx(bic, rel=1e-9)
    assert fitted_json["selection"]["records"] == selected_json["records"]

    scored = json.loads(gaussmix("score", "m.npz", "faithful.csv", "--json", cwd=folder).stdout)
    assert scored["bic"] == pytest.approx(bic, rel=1e-9)
    assert f"BIC (lower is better) {shown}" in gaussmix("score", "m.npz", "faithful.csv", cwd=folder).stdout

    reported, html = report_html
    assert reported["bic"] == pytest.approx(bic, rel=1e-9)
    caption, header, cells, highlighted = report_cells(html)
    assert highlighted == [f"{shown} *"]
    for record in selected_json["records"]:
        assert any(cell.startswith(f"{record['bic']:.2f}") for cell in cells)
    model_table = re.search(r"<td[^>]*>BIC \(lower is better\)</td><td[^>]*>([\d.]+)</td>", html)
    assert model_table and model_table[1] == shown  # the chosen model's own table
    text = re.sub(r"<img[^>]*>", "", html).lower()
    # No second sign anywhere in the report (the MclustDR directions may be named; mclust's BIC may not).
    assert "mclust_bic" not in text and "mclust's sign" not in text and "higher is better" not in text


def test_every_heading_states_the_convention(folder, selected, report_html):
    assert selected.stdout.splitlines()[0] == "BIC = -2 log L + p log n (lower is better)"
    progress = [line for line in selected.stderr.splitlines() if line.startswith("[")]
    assert progress and all(re.search(r" BIC \d+\.\d ", line) for line in progress)  # positive: our sign
    icl = gaussmix("select", "faithful.csv", *GRID, "--criterion", "icl", "-q", cwd=folder).stdout
    assert icl.splitlines()[0].startswith("ICL") and "(lower is better)" in icl.splitlines()[0]
    caption, header, _, _ = report_cells(report_html[1])
    assert "lower is better" in caption and header[0] == "K"  # the caption heads the table


def test_the_star_marks_the_chosen_model_only(selected, report_html):
    cells = table_cells(selected.stdout)
    assert [key for key, value in cells.items() if "*" in value] == [("tied", 3)]
    assert not any("!" in value for value in cells.values())  # all converged: no other mark
    assert "* chosen model" in selected.stdout  # the footnote says what the marks mean
    _, _, cells, highlighted = report_cells(report_html[1])
    assert [cell for cell in cells if "*" in cell] == highlighted and len(highlighted) == 1


def test_candidates_that_did_not_converge_are_flagged_and_the_choice_warned(folder):
    completed = gaussmix("select", "faithful.csv", *STALLED, "--json", "-q", cwd=folder)
    summary = json.loads(completed.stdout)
    stalled = {(r["covariance_type"], r["n_components"]) for r in summary["records"] if not r["converged"]}
    assert stalled == {(t, k) for t in ("full", "tied") for k in (2, 3)}
    assert "gaussmix: warning: the chosen model" in completed.stderr and "did not converge" in completed.stderr
    assert "--max-iter" in completed.stderr

    text = gaussmix("select", "faithful.csv", *STALLED, "-q", cwd=folder)
    cells = table_cells(text.stdout)
    assert all(value.endswith("!") for value in cells.values()), cells
    best = (summary["best"]["covariance_type"], summary["best"]["n_components"])
    assert [key for key, value in cells.items() if "*" in value] == [best]
    assert "! did not converge" in text.stdout
    assert "Traceback" not in text.stderr and "ConvergenceWarning" not in text.stderr  # the CLI's own words

    gaussmix("report", "faithful.csv", *STALLED, "-q", "-o", "stalled.html", "--force", cwd=folder)
    html = (folder / "stalled.html").read_text(encoding="utf-8")
    _, _, cells, highlighted = report_cells(html)
    assert len(highlighted) == 1 and highlighted[0].endswith(" *!")
    assert sum(cell.endswith("!") for cell in cells) == 4
    assert "The chosen model did not converge" in html and "did not converge within max_iter" in html


def test_a_single_model_that_did_not_converge_is_warned(folder):
    completed = gaussmix("fit", "faithful.csv", "-k", "3", "--max-iter", "1", "--tol", "0", "-o", "one.npz",
                         "--force", "-q", cwd=folder)
    assert "gaussmix: warning: the chosen model (full, K=3) did not converge" in completed.stderr
    converged = gaussmix("fit", "faithful.csv", "-k", "2", "-o", "two.npz", "--force", "-q", cwd=folder)
    assert "warning" not in converged.stderr


def test_demo_report_shows_the_bic_the_demo_prints(tmp_path):
    completed = gaussmix("demo", "--max-components", "3", "--report", "demo.html", cwd=tmp_path)
    chosen = re.search(r"Chosen by BIC \(lower is better\): covariance_type='(\w+)', K=(\d+), BIC ([\d.]+)",
                       completed.stdout)
    assert chosen, completed.stdout
    assert table_cells(completed.stdout)[(chosen[1], int(chosen[2]))] == chosen[3] + "*"
    _, _, _, highlighted = report_cells((tmp_path / "demo.html").read_text(encoding="utf-8"))
    assert highlighted == [f"{chosen[3]} *"]
    assert np.isclose(float(chosen[3]), 2314.3, atol=0.1)
