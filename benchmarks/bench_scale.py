"""Scale benchmark: an out-of-core fit from a .npy file larger than the memory it may use, and Dask's overhead.

    python benchmarks/bench_scale.py            # n=20,000,000 x 16 (2.5 GB .npy), K=16 diag; Dask on 2,000,000 x 16
    python benchmarks/bench_scale.py --quick    # tiny sizes (the test suite runs this)

1. Out of core: writes the .npy file to a temporary directory (deleted afterwards), then fits
   ``GaussianMixture(K, 'diag')`` from the file in a fresh process and reads that process's peak resident
   memory (VmHWM); then fits the same data held in memory (``np.load``) in another fresh process. Where pyarrow
   is installed, the same rows as a Parquet file (row groups of 1,000,000 rows; its fit must equal the
   in-memory one) and about as many bytes of CSV are fitted out of core too, each in a fresh process; where Dask
   is, a Dask array whose blocks two worker processes read from the .npy file themselves (peak memory of each
   worker and of the client). Both
   start from the same parameters; seconds per pass are the times between the EM callbacks (one E-step
   pass and an M-step each), median over the iterations.
2. Dask: the same model on n=2,000,000 x 16 in memory and on a LocalCluster of 2 worker processes (one
   thread each) holding the array persisted in 16 blocks; the overhead is the difference per iteration.

Writes a table to stdout and JSON to ``--json`` (default benchmarks/results/bench_scale.json). Exits with
status 1 when a target is missed (see :func:`missed_targets`): the out-of-core peak RSS must stay under 1 GB
and both the out-of-core and the Dask fit must equal the in-memory fit (means to 1e-10, same iterations).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

RSS_LIMIT_MB = 1024
SAME_FIT_RTOL = 1e-10
"""Largest relative difference of the means at which two engines' fits from the same start count as equal."""


def mixture_blocks(n: int, d: int, k: int, seed: int, block: int = 1_000_000):
    """Rows of a K-component diagonal mixture, generated block by block (never all in memory)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(k, d)) + 100.0
    scales = np.exp(rng.uniform(-0.5, 0.5, size=(k, d)))
    for start in range(0, n, block):
        rows = min(block, n - start)
        labels = rng.integers(0, k, rows)
        yield centres[labels] + rng.standard_normal((rows, d)) * scales[labels]


def write_npy(path: Path, n: int, d: int, k: int, seed: int = 0) -> None:
    """A float64 .npy file written in blocks through a file handle (no memory map: bounded memory)."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float64)), "fortran_order": False, "shape": (n, d)}
    with open(path, "wb") as file:
        np.lib.format.write_array_header_1_0(file, header)
        for rows in mixture_blocks(n, d, k, seed):
            file.write(np.ascontiguousarray(rows).tobytes())
        file.flush()
        os.fsync(file.fileno())  # no write-back competing with the timed reads


def write_parquet(npy: Path, path: Path, block: int = 1_000_000) -> None:
    """The rows of ``npy`` as a Parquet file with row groups of ``block`` rows (read block by block)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    X = np.load(npy, mmap_mode="r")
    names = [f"x{j}" for j in range(X.shape[1])]
    with pq.ParquetWriter(path, pa.schema([(name, pa.float64()) for name in names])) as writer:
        for start in range(0, X.shape[0], block):
            rows = np.ascontiguousarray(X[start:start + block])
            writer.write_table(pa.table({name: rows[:, j] for j, name in enumerate(names)}), row_group_size=block)


def write_csv(npy: Path, path: Path, n_rows: int, block: int = 200_000) -> None:
    """The first ``n_rows`` rows of ``npy`` as CSV with a header, every value to 17 significant digits."""
    X = np.load(npy, mmap_mode="r")
    with open(path, "w") as file:
        file.write(",".join(f"x{j}" for j in range(X.shape[1])) + "\n")
        for start in range(0, n_rows, block):
            np.savetxt(file, X[start:min(start + block, n_rows)], delimiter=",", fmt="%.17g")


def initial_parameters(d: int, k: int, seed: int) -> dict:
    """Starting parameters near the generating ones (the same for every engine)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(k, d)) + 100.0
    return dict(weights_init=np.full(k, 1 / k), means_init=centres + 0.5, precisions_init=np.ones((k, d)))


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_fit(X, k: int, iterations: int, init: dict, **params) -> dict:
    """Fit with a callback that stamps every iteration; seconds per pass = median gap between stamps."""
    from gaussmix import GaussianMixture

    stamps = []
    model = GaussianMixture(k, covariance_type="diag", max_iter=iterations, tol=0.0,
                            callback=lambda *_: stamps.append(time.perf_counter()), **init, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    total = time.perf_counter() - start
    gaps = np.diff(stamps)
    return {"seconds_per_pass": float(np.median(gaps)) if gaps.size else float("nan"), "fit_seconds": total,
            "n_iter": int(model.n_iter_), "lower_bound": float(model.lower_bound_), "means": model.means_.tolist()}


def child(config: dict) -> dict:
    """Runs in a fresh process: one fit, with this process's peak memory."""
    init = {name: np.asarray(value) for name, value in config["init"].items()}
    if config["mode"] == "ooc":
        result = timed_fit(config["path"], config["k"], config["iterations"], init)
    elif config["mode"] == "dask-file":
        result = dask_from_file(config, init)
    else:
        X = np.load(config["path"])
        result = timed_fit(X, config["k"], config["iterations"], init)
        result["data_mb"] = X.nbytes / 2**20
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def run_child(config: dict) -> dict:
    completed = subprocess.run([sys.executable, __file__, "--child", json.dumps(config)], capture_output=True,
                               text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def out_of_core(n: int, d: int, k: int, iterations: int, directory: Path) -> dict:
    path = directory / "bench_scale.npy"
    start = time.perf_counter()
    write_npy(path, n, d, k)
    write_seconds = time.perf_counter() - start
    init = {name: value.tolist() for name, value in initial_parameters(d, k, seed=0).items()}
    base = dict(path=str(path), k=k, iterations=iterations, init=init)
    ooc = run_child(dict(base, mode="ooc"))
    memory = run_child(dict(base, mode="memory"))
    file_mb = path.stat().st_size / 2**20
    difference = float(np.max(np.abs(np.asarray(ooc["means"]) - np.asarray(memory["means"]))
                       / np.abs(np.asarray(memory["means"]))))
    sources = {}
    if parquet_available():
        parquet = directory / "bench_scale.parquet"
        write_parquet(path, parquet)
        sources["parquet"] = run_child(dict(base, path=str(parquet), mode="ooc"))
        sources["parquet"]["file_mb"] = parquet.stat().st_size / 2**20
        sources["parquet"]["max_relative_difference_of_means"] = float(np.max(
            np.abs(np.asarray(sources["parquet"]["means"]) - np.asarray(memory["means"])) / np.abs(np.asarray(memory["means"]))))
        parquet.unlink()
        # CSV of about the same size as the .npy file (a float64 in text takes ~19 bytes instead of 8).
        csv_rows = max(2, n * 8 // 19)
        csv = directory / "bench_scale.csv"
        write_csv(path, csv, csv_rows)
        sources["csv"] = run_child(dict(base, path=str(csv), mode="ooc"))
        sources["csv"].update(file_mb=csv.stat().st_size / 2**20, n_rows=csv_rows)
        csv.unlink()
    if dask_available():
        sources["dask"] = run_child(dict(base, mode="dask-file"))
        sources["dask"]["file_mb"] = file_mb
        sources["dask"]["max_relative_difference_of_means"] = float(np.max(
            np.abs(np.asarray(sources["dask"]["means"]) - np.asarray(memory["means"])) / np.abs(np.asarray(memory["means"]))))
    path.unlink()
    return {"n": n, "d": d, "k": k, "iterations": iterations, "file_mb": file_mb, "write_seconds": write_seconds,
            "ooc": ooc, "memory": memory, "max_relative_difference_of_means": difference,
            "rss_under_limit": ooc["peak_rss_mb"] < RSS_LIMIT_MB, "sources": sources}


def dask_available() -> bool:
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def read_npy_rows(path: str, start: int, stop: int) -> np.ndarray:
    """Rows ``[start, stop)`` of a 2-D float64 .npy file, read with one seek (no memory map: bounded memory)."""
    with open(path, "rb") as file:
        version = np.lib.format.read_magic(file)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, _ = read_header(file)
        file.seek(file.tell() + start * shape[1] * 8)
        return np.fromfile(file, dtype=np.float64, count=(stop - start) * shape[1]).reshape(-1, shape[1])


def dask_from_file(config: dict, init: dict) -> dict:
    """Fit a Dask array whose blocks the two worker processes read from the .npy file themselves."""
    import dask
    import dask.array as da
    import distributed

    path = config["path"]
    n, d = np.load(path, mmap_mode="r").shape
    block = 1_000_000
    blocks = [da.from_delayed(dask.delayed(read_npy_rows)(path, start, min(start + block, n)),
                              shape=(min(start + block, n) - start, d), dtype=np.float64)
              for start in range(0, n, block)]
    X = da.concatenate(blocks)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        result = timed_fit(X, config["k"], config["iterations"], init)
        workers = client.run(peak_rss_mb)
    result["worker_peak_rss_mb"] = sorted(workers.values())
    return result


def parquet_available() -> bool:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def dask_overhead(n: int, d: int, k: int, iterations: int, processes: bool) -> dict:
    import dask.array as da
    import distributed

    X = np.concatenate(list(mixture_blocks(n, d, k, seed=1)))
    init = initial_parameters(d, k, seed=1)
    memory = timed_fit(X, k, iterations, init)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sending large graph")  # the data, sent once to persist
            Xd = client.persist(da.from_array(X, chunks=(-(-n // 16), d)))
            distributed.wait(Xd)
        timed_fit(Xd, k, 1, init)  # warm-up: workers import gaussmix
        on_dask = timed_fit(Xd, k, iterations, init)
        # Peak memory of each worker process (its share of the persisted array included) and of this client.
        workers = client.run(peak_rss_mb) if processes else {}
        on_dask["worker_peak_rss_mb"] = sorted(workers.values())
        on_dask["client_peak_rss_mb"] = peak_rss_mb()
    difference = float(np.max(np.abs(np.asarray(on_dask["means"]) - np.asarray(memory["means"]))
                       / np.abs(np.asarray(memory["means"]))))
    return {"n": n, "d": d, "k": k, "iterations": iterations, "worker_processes": processes, "memory": memory,
            "array_mb": X.nbytes / 2**20,
            "dask": on_dask, "overhead_seconds_per_iteration": on_dask["seconds_per_pass"] - memory["seconds_per_pass"],
            "max_relative_difference_of_means": difference}


def print_table(result: dict) -> None:
    ooc, dask = result["out_of_core"], result["dask"]
    print(f"Out of core: n={ooc['n']:,} x {ooc['d']}, K={ooc['k']} diag, .npy file {ooc['file_mb']:.0f} MB, "
          f"{ooc['iterations']} EM iterations (written in {ooc['write_seconds']:.1f} s)")
    print(f"{'engine':<22}{'s / pass':>10}{'fit s':>10}{'peak RSS MB':>14}")
    print(f"{'out-of-core (.npy)':<22}{ooc['ooc']['seconds_per_pass']:>10.2f}{ooc['ooc']['fit_seconds']:>10.1f}"
          f"{ooc['ooc']['peak_rss_mb']:>14.0f}")
    print(f"{'in memory':<22}{ooc['memory']['seconds_per_pass']:>10.2f}{ooc['memory']['fit_seconds']:>10.1f}"
          f"{ooc['memory']['peak_rss_mb']:>14.0f}")
    for name, source in ooc.get("sources", {}).items():
        label = f"out-of-core ({name})"
        rss = max(source.get("worker_peak_rss_mb") or [source["peak_rss_mb"]])
        where = f" (largest of the 2 worker processes; client {source['peak_rss_mb']:.0f} MB)" if name == "dask" else ""
        print(f"{label:<22}{source['seconds_per_pass']:>10.2f}{source['fit_seconds']:>10.1f}"
              f"{rss:>14.0f}   file {source['file_mb']:.0f} MB{where}")
    print(f"out-of-core / in-memory time per pass: {ooc['ooc']['seconds_per_pass'] / ooc['memory']['seconds_per_pass']:.2f}; "
          f"peak RSS under {RSS_LIMIT_MB} MB: {'yes' if ooc['rss_under_limit'] else 'NO'}; "
          f"max relative difference of the means: {ooc['max_relative_difference_of_means']:.1e}")
    print()
    print(f"Dask: n={dask['n']:,} x {dask['d']}, K={dask['k']} diag, LocalCluster of 2 workers "
          f"({'processes' if dask['worker_processes'] else 'threads'}, 1 thread each), array persisted in 16 blocks")
    print(f"{'engine':<22}{'s / iteration':>14}")
    print(f"{'in memory':<22}{dask['memory']['seconds_per_pass']:>14.3f}")
    print(f"{'dask':<22}{dask['dask']['seconds_per_pass']:>14.3f}")
    if dask["dask"].get("worker_peak_rss_mb"):
        print(f"Dask peak RSS: workers {', '.join(f'{mb:.0f}' for mb in dask['dask']['worker_peak_rss_mb'])} MB "
              f"(each holds half of the {dask['array_mb']:.0f} MB array), client {dask['dask']['client_peak_rss_mb']:.0f} MB")
    print(f"Dask overhead per iteration: {dask['overhead_seconds_per_iteration']:+.3f} s "
          f"({dask['dask']['seconds_per_pass'] / dask['memory']['seconds_per_pass']:.2f} x in memory); "
          f"max relative difference of the means: {dask['max_relative_difference_of_means']:.1e}")


def missed_targets(result: dict) -> list[str]:
    """The targets ``result`` misses, in words (empty when all are met)."""
    ooc, dask = result["out_of_core"], result["dask"]
    missed = []
    if not ooc["ooc"]["peak_rss_mb"] < RSS_LIMIT_MB:
        missed.append(f"out-of-core peak RSS {ooc['ooc']['peak_rss_mb']:.0f} MB is not under {RSS_LIMIT_MB} MB")
    for name, source in ooc.get("sources", {}).items():
        for rss in [source["peak_rss_mb"], *source.get("worker_peak_rss_mb", [])]:
            if not rss < RSS_LIMIT_MB:
                missed.append(f"out-of-core ({name}) peak RSS {rss:.0f} MB is not under {RSS_LIMIT_MB} MB")
        if "max_relative_difference_of_means" in source and not source["max_relative_difference_of_means"] <= SAME_FIT_RTOL:
            missed.append(f"out-of-core ({name}) means differ from the in-memory fit's by "
                          f"{source['max_relative_difference_of_means']:.1e} (relative)")
    for name, part, engine in (("out-of-core", ooc, "ooc"), ("Dask", dask, "dask")):
        if not part["max_relative_difference_of_means"] <= SAME_FIT_RTOL:
            missed.append(f"{name} means differ from the in-memory fit's by "
                          f"{part['max_relative_difference_of_means']:.1e} (relative), above {SAME_FIT_RTOL:.0e}")
        if part[engine]["n_iter"] != part["memory"]["n_iter"]:
            missed.append(f"{name} fit ran {part[engine]['n_iter']} iterations, the in-memory fit "
                          f"{part['memory']['n_iter']}")
    return missed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, threads for the Dask workers")
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--dask-rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--components", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "bench_scale.json"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        print(json.dumps(child(json.loads(arguments.child))))
        return 0
    if arguments.quick:
        arguments.rows, arguments.dask_rows, arguments.features, arguments.components = 20_000, 4_000, 4, 3
        arguments.iterations = 2
    d, k = arguments.features, arguments.components
    with tempfile.TemporaryDirectory(prefix="gaussmix-bench-") as directory:
        ooc = out_of_core(arguments.rows, d, k, arguments.iterations, Path(directory))
    dask = dask_overhead(arguments.dask_rows, d, k, arguments.iterations, processes=not arguments.quick)
    result = {"out_of_core": ooc, "dask": dask, "cpu_count": os.cpu_count(),
              "load_average": list(os.getloadavg())}
    result["targets_missed"] = missed_targets(result)
    print_table(result)
    Path(arguments.json).parent.mkdir(parents=True, exist_ok=True)
    Path(arguments.json).write_text(json.dumps(result, indent=2))
    print(f"\nJSON written to {arguments.json}")
    for target in result["targets_missed"]:
        print(f"TARGET MISSED: {target}", file=sys.stderr)
    return 1 if result["targets_missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
