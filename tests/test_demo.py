"""``python -m gaussmix demo`` end to end, checked against mclust's published result for Old Faithful.

External oracle: R's mclust, ``Mclust(faithful)`` / ``mclustBIC(faithful)``, selects model EEE (one
covariance shared by all components = gaussmix's 'tied') with 3 components, BIC -2314.3 in mclust's
sign convention (larger is better; BIC = 2 log L - df log n), with df = 11 free parameters
(3 x 2 means + 2 mixing weights + 3 covariance entries). See e.g. the mclust output reproduced at
https://liangfgithub.github.io/Rcode_W7_MixtureModel.html ("Best BIC values: EEE,3 -2314").
"""

import math
import re
import subprocess
import sys

import pytest

from subprocess_env import ENV

MCLUST_EEE_3_BIC = -2314.3
MCLUST_EEE_3_DF = 11
N_SAMPLES = 272
STRUCTURES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """``python -m gaussmix demo`` in an empty folder (it writes its report into the working directory)."""
    folder = tmp_path_factory.mktemp("demo")
    # One BLAS thread (ENV): the demo runs ~100 small fits; the output does not depend on it.
    completed = subprocess.run([sys.executable, "-m", "gaussmix", "demo"], capture_output=True, text=True,
                               timeout=300, cwd=folder, env=ENV, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    return folder, completed.stdout


@pytest.fixture(scope="module")
def demo_output(demo_run):
    return demo_run[1]


def test_demo_writes_its_html_report(demo_run):
    folder, output = demo_run
    report = folder / "gaussmix-demo-report.html"
    assert [p.name for p in folder.iterdir()] == [report.name]  # nothing else, no temporary file left
    assert f"Report (data, BIC table, parameters, plots, EM trace): {report.resolve()}" in output
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "<h2>Model selection</h2>" in text and text.count('src="data:image/png;base64,') >= 4


def test_demo_prints_the_bic_table(demo_output):
    lines = demo_output.splitlines()
    header = next(i for i, line in enumerate(lines) if re.match(r"\s*K\s+full\s+tied\s+diag\s+spherical\s*$", line))
    table = {}
    for line in lines[header + 1: header + 7]:
        fields = line.split()
        table[int(fields[0])] = fields[1:]
    assert sorted(table) == [1, 2, 3, 4, 5, 6]
    for row in table.values():
        assert len(row) == len(STRUCTURES)
    # With one component, 'full' and 'tied' are the same model: same BIC.
    assert table[1][0] == table[1][1]
    # The tied K=3 entry is the smallest BIC in the table.
    values = {(k, s): float(v.rstrip("*!")) for k, row in table.items() for s, v in zip(STRUCTURES, row)
              if not v.startswith("failed")}
    assert min(values, key=values.get) == (3, "tied")
    # '*' marks the chosen model and nothing else.
    assert [(k, s) for k, row in table.items() for s, v in zip(STRUCTURES, row) if "*" in v] == [(3, "tied")]


def test_demo_chooses_mclusts_model(demo_output):
    match = re.search(r"Chosen by BIC \(lower is better\): covariance_type='(\w+)', K=(\d+), BIC ([\d.]+)$",
                      demo_output, flags=re.MULTILINE)
    assert match, demo_output
    covariance_type, n_components, bic = match.groups()
    assert covariance_type == "tied"  # mclust's EEE
    assert int(n_components) == 3
    assert float(bic) == pytest.approx(-MCLUST_EEE_3_BIC, abs=0.1)  # scikit-learn's sign: minus mclust's
    # The printed log-likelihood and parameter count reproduce the BIC with mclust's df.
    details = re.search(r"log-likelihood (-[\d.]+) \((-[\d.]+) per sample\), (\d+) free parameters", demo_output)
    assert details, demo_output
    log_likelihood, per_sample, n_parameters = float(details[1]), float(details[2]), int(details[3])
    assert n_parameters == MCLUST_EEE_3_DF
    assert log_likelihood == pytest.approx(per_sample * N_SAMPLES, abs=1e-3)
    assert -2 * log_likelihood + n_parameters * math.log(N_SAMPLES) == pytest.approx(float(bic), abs=0.01)


def test_demo_prints_a_monotone_em_trace(demo_output):
    assert "EM trace" in demo_output
    trace = [float(m[1]) for m in re.finditer(r"^\s+\d+\s+(-\d+\.\d+)", demo_output, flags=re.MULTILINE)]
    assert len(trace) >= 2
    # EM never decreases the likelihood (up to rounding of the printed values).
    assert all(later >= earlier - 1e-7 for earlier, later in zip(trace, trace[1:]))
    final = re.search(r"final \(returned parameters\): (-\d+\.\d+)", demo_output)
    assert final and float(final[1]) >= trace[-1] - 1e-7
    per_sample = float(re.search(r"\((-[\d.]+) per sample\)", demo_output)[1])
    assert float(final[1]) == pytest.approx(per_sample, abs=1e-6)
