"""The scale benchmark runs end to end on tiny sizes and reports what it measured."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.filterwarnings("ignore")
def test_quick_scale_benchmark(tmp_path):
    output = tmp_path / "scale.json"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    completed = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_scale.py"), "--quick", "--json",
                                str(output)], capture_output=True, text=True, timeout=300, check=False,
                               env={**os.environ, "TMPDIR": str(scratch)})
    assert completed.returncode == 0, completed.stderr
    assert "peak RSS" in completed.stdout and "Dask overhead per iteration" in completed.stdout
    result = json.loads(output.read_text())
    ooc = result["out_of_core"]
    assert ooc["ooc"]["n_iter"] == ooc["memory"]["n_iter"] == ooc["iterations"]
    assert ooc["max_relative_difference_of_means"] < 1e-10  # same data, same start: the same fit
    assert result["dask"]["max_relative_difference_of_means"] < 1e-10
    assert 0 < ooc["ooc"]["peak_rss_mb"] < 1024
    assert not list(scratch.glob("gaussmix-bench-*"))  # the data file and its directory were deleted
