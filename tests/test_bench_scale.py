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


def _load_benchmark():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "benchmarks" / "bench_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("peak_rss_mb, dask_difference, missed", [
    (181.0, 0.0, []),
    (1024.0, 0.0, ["peak RSS 1024 MB is not under 1024 MB"]),
    (300.0, 3e-9, ["Dask means differ from the in-memory fit's by 3.0e-09"]),
])
def test_the_benchmark_exits_with_an_error_when_a_target_is_missed(tmp_path, monkeypatch, capsys, peak_rss_mb,
                                                                   dask_difference, missed):
    """The measurements are replaced by given ones (no fits run): the exit status follows the targets."""
    bench = _load_benchmark()
    fit = {"seconds_per_pass": 1.0, "fit_seconds": 3.0, "n_iter": 3, "peak_rss_mb": peak_rss_mb}
    monkeypatch.setattr(bench, "out_of_core", lambda *args: {
        "n": 10, "d": 2, "k": 2, "iterations": 3, "file_mb": 1.0, "write_seconds": 0.1, "ooc": fit,
        "memory": dict(fit, peak_rss_mb=2000.0), "max_relative_difference_of_means": 0.0,
        "rss_under_limit": peak_rss_mb < bench.RSS_LIMIT_MB})
    monkeypatch.setattr(bench, "dask_overhead", lambda *args, **kwargs: {
        "n": 10, "d": 2, "k": 2, "iterations": 3, "worker_processes": True, "memory": fit, "dask": fit,
        "overhead_seconds_per_iteration": 0.0, "max_relative_difference_of_means": dask_difference})
    status = bench.main(["--json", str(tmp_path / "result.json")])
    errors = capsys.readouterr().err
    assert status == (1 if missed else 0)
    reported = [line.removeprefix("TARGET MISSED: ") for line in errors.splitlines()]
    assert len(reported) == len(missed) and all(words in line for words, line in zip(missed, reported))
    assert json.loads((tmp_path / "result.json").read_text())["targets_missed"] == reported
