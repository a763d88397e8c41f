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
