"""Data parallelism on loopback: 2 and 4 MPI processes (mpiexec), checked against one process with the global batch.

Each case runs tests/distributed/_ddp_worker.py under ``mpiexec -n N``; rank 0 writes a JSON file read here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mpi4py", reason="MPI tests need mpi4py and an MPI: pip install mpich mpi4py (the dist extra)")

from shenjing.distributed.launch import find_mpiexec  # noqa: E402

WORKER = Path(__file__).with_name("_ddp_worker.py")
ROOT = Path(__file__).resolve().parents[2]
if find_mpiexec() is None:
    pytest.skip("no mpiexec found (pip install mpich)", allow_module_level=True)


def mpirun(n: int, case: str, tmp_path: Path, timeout: float = 120, env: dict | None = None) -> tuple:
    out = tmp_path / f"{case}_{n}.json"
    environ = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   OMP_NUM_THREADS="1", **(env or {}))
    proc = subprocess.run([find_mpiexec(), "-n", str(n), sys.executable, str(WORKER), case, str(out)],
                          capture_output=True, text=True, timeout=timeout, env=environ)
    result = json.loads(out.read_text()) if out.exists() else None
    return proc, result, None


@pytest.mark.parametrize("n", [2, 4])
def test_collectives(n, tmp_path):
    proc, r, _ = mpirun(n, "collectives", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert r["world"] == n and r["backend"] == "mpi"
    assert r["sum"] == [n * (n + 1) / 2, 2.0 * n * (n - 1) / 2]
    assert r["max"] == [n - 1] and r["avg"] == [(n - 1) / 2]
    assert r["bcast"] == [(n - 1) * 10, n - 1]
    assert r["gather"] == [[float(k), -float(k)] for k in range(n)]


@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize("case", ["equality", "equality_small_buckets"])
def test_data_parallel_equals_one_process(n, case, tmp_path):
    """6 SGD-momentum steps of a conv net on N ranks with global batch 24 == one process with batch 24."""
    proc, r, _ = mpirun(n, case, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert r["world"] == n
    assert r["rel"] < 1e-10  # float64: the same weights as one process
    assert r["ranks_agree"] == 0.0  # every rank holds bit-identical weights
    # communication volume: every parameter's gradient once a step, float64
    n_params = 3 * 1 * 9 + 3 + 108 * 16 + 16 + 16 * 4 + 4
    assert r["bytes"] == 6 * n_params * 8
    if case == "equality":
        assert r["buckets"] == 1 and r["calls"] == 6
    else:  # 500-byte buckets: more, smaller messages, same result
        assert r["buckets"] > 1 and r["calls"] == 6 * r["buckets"]


def test_no_sync_accumulation(tmp_path):
    proc, r, _ = mpirun(2, "no_sync", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert r["rel"] < 1e-10


def test_dead_rank_stops_the_others(tmp_path):
    """A rank that exits mid-run: mpiexec stops the others (a hang would end in subprocess.TimeoutExpired)."""
    proc, r, _ = mpirun(2, "dies", tmp_path, timeout=90, env={"DIST_TIMEOUT": "20"})
    assert proc.returncode != 0  # mpiexec passes on the dead rank's status (3) or the timeout aborts (1)
    assert r is None


def test_hanging_rank_times_out_with_a_clear_error(tmp_path):
    """A rank that never arrives: the others raise DistBackendError after the timeout and abort the job."""
    # NOTE: 6 s, not less: on a loaded 2-core CI machine a rank can take seconds to start, and an earlier
    # collective would then time out instead of the one the test is about
    proc, r, _ = mpirun(2, "hangs", tmp_path, timeout=120, env={"DIST_TIMEOUT": "6"})
    assert proc.returncode != 0
    assert "DistBackendError" in proc.stderr
    assert "all_reduce(sum) of shape (3,) float32 did not complete within 6 s" in proc.stderr
    assert "aborting all 2 ranks" in proc.stderr


def test_trainer_data_parallel_equals_one_process_and_resumes(tmp_path):
    """DistributedTrainer on 2 ranks (Adam, global batch 24) == Trainer in one process; a run resumed from a
    checkpoint after 2 of 4 epochs == the uninterrupted run (same world size)."""
    proc, r, _ = mpirun(2, "trainer", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert r["rel"] < 1e-10
    np_close = [abs(a - b) <= 1e-12 * abs(b) for a, b in zip(r["loss"], r["ref_loss"])]
    assert all(np_close) and len(r["loss"]) == 3  # the logged loss is the global one (averaged over the ranks)
    assert r["resume_rel"] < 1e-12


def test_trainer_nan_on_one_rank_stops_every_rank(tmp_path):
    proc, r, _ = mpirun(2, "trainer_nan", tmp_path, timeout=90, env={"DIST_TIMEOUT": "30"})
    assert proc.returncode == 0, proc.stderr
    assert r["reasons"] == [["nan", 0], ["nan", 0]]
    assert proc.stderr.count("Training stopped: the loss became nan at epoch 1, step 2") == 1  # by rank 0


def test_cli_launch_train_only_rank_0_prints_and_writes(tmp_path):
    pytest.importorskip("sklearn", reason="the digits data set comes with scikit-learn (the train extra)")
    config = (ROOT / "examples" / "digits.toml").read_text().replace("epochs = 40", "epochs = 2")
    (tmp_path / "digits.toml").write_text(config)
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
               MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "shenjing.cli", "launch", "-n", "2", "train",
                           str(tmp_path / "digits.toml"), "--out", str(out), "--verbose", "2"],
                          capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Wrote ") == 1 and proc.stdout.count("Test: ") == 1  # rank 0 only
    assert proc.stderr.count("Epoch 1/2") == 1  # the epoch lines too
    assert {"model.safetensors", "history.csv", "metrics.json", "checkpoint.safetensors"} <= set(os.listdir(out))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["test"]["accuracy"] > 0.8
    rows = (out / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 3  # a header and one row per epoch, written once


def test_cli_launch_reports_a_failing_rank(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "shenjing.cli", "launch", "-n", "2", "train",
                           str(tmp_path / "missing.toml")], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode != 0
    assert "shenjing launch: a rank failed with exit status" in proc.stderr


@pytest.mark.parametrize("n", [2, 4])
def test_sync_batchnorm_equals_one_process_batchnorm(n, tmp_path):
    """Conv + BatchNorm2d + BatchNorm1d converted to SyncBatchNorm, under DDP: the weights and running statistics
    after 6 steps equal one process's BatchNorm with the global batch."""
    proc, r, _ = mpirun(n, "sync_bn", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert r["n"] == 14 and r["rel"] < 1e-10


def _selftest(n: int, backend: str, extra_path: str = "") -> subprocess.CompletedProcess:
    path = os.pathsep.join(p for p in (extra_path, str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")
    return subprocess.run([find_mpiexec(), "-n", str(n), sys.executable, "-m", "shenjing.distributed.selftest",
                           backend, "--device", "cpu"], capture_output=True, text=True, timeout=120, env=env)


def test_selftest_mpi():
    proc = _selftest(2, "mpi")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("mpi ok (world 2, device cpu")


@pytest.mark.parametrize("n", [2, 4])
def test_nccl_path_on_the_cpu_through_a_stand_in(n):
    """The NCCL group's code (ids, pointers, NCCL dtypes and ops, the stream wait) against a cupy.cuda.nccl
    stand-in served by MPI (tests/distributed/fake_nccl); the real GPU check is the selftest's one command."""
    proc = _selftest(n, "nccl", str(Path(__file__).with_name("fake_nccl")))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"nccl ok (world {n}, device cpu")
