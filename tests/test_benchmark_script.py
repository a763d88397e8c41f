"""The benchmark script runs end to end on tiny shapes and writes a well-formed JSON table."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_writes_table_and_json(tmp_path):
    output = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_em.py"), "--quick", "--json", str(output)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "speed-up" in completed.stdout
    result = json.loads(output.read_text())
    cases = {row["case"] for row in result["rows"]}
    assert {"full float64", "full float32", "diag float64", "tied float64", "spherical float64", "kmeans float64"} <= cases
    for row in result["rows"]:
        # Same initialisation, same number of iterations: the two libraries must agree.
        assert row["loglik_rel_diff"] < 1e-6, row
        assert row["gaussmix_peak_mb"] >= 0


def test_selection_benchmark_runs_and_skips_mclust_cleanly():
    """benchmarks/bench_selection_mclust.py on one small data set of ../shared/data, without R (--no-r behaves
    as a machine without Rscript does)."""
    data = ROOT.parent / "shared" / "data" / "acidity.csv"
    if not data.exists():
        import pytest

        pytest.skip("../shared/data is not beside this checkout")
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_selection_mclust.py"), "--data", "acidity", "--no-r"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "mclust: skipped" in completed.stdout
    row = next(line for line in completed.stdout.splitlines() if line.startswith("acidity"))
    assert " E,2 -392.07 " in row  # mclust's pick and BIC on acidity (tests/mclust_reference.py)
