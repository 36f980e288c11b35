"""Faults in distributed runs: real worker processes, started as a user starts them, and killed.

* TensorFlow multi-worker training: two ``seisembed train`` processes on 127.0.0.1 joined
  by ``TF_CONFIG`` (``train.distribute: multiworker``) follow the 2-replica loss trajectory
  of one process with two logical CPUs (the same arithmetic) and the 1-replica one within
  the tolerance of ``test_scale``; only the chief writes ``--out-dir``; a worker killed
  mid-run stops the other with a named error, and a restart of both resumes to the
  uninterrupted run's history; workers that cannot see the chief's resume state refuse
  to start instead of training out of step.
* Dask: a scheduler and two workers started by their command lines (``dask scheduler``,
  ``dask worker``), one worker SIGKILLed mid-embedding: the same embeddings as in-process,
  no row lost or doubled; an unreachable or malformed ``dask.scheduler_address`` and a
  cluster whose workers are all gone end in a named error, not a traceback or a hang.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tcn")
pytest.importorskip("distributed")

from tests.unit.train.test_train import N_SAMPLES, tiny_store  # noqa: E402,F401  (module fixture)

#: two worker processes vs one process with two logical CPUs: both are 2 replicas, each on
#: the same half of the events; the gradients are summed over the 2 replicas in either
#: case (a sum of two floats is the same in either order), so the epoch losses agree to
#: float32 round-off of the per-replica logs. Measured: 0 (bitwise) over 3 epochs.
SAME_REPLICAS_TOLERANCE = 1e-5
#: two workers (2 replicas) vs one worker (1 replica), same global batch and seed: each
#: replica mines its triplets within its half of the events, so close, not equal; the
#: tolerance of tests/unit/evaluate/test_scale.py (margin 0.2). Measured: 0.0053 over 3 epochs.
ONE_REPLICA_TOLERANCE = 0.02

TRAIN = {
    "epochs": 3,
    "steps_per_epoch": 4,
    "val_batches": 2,
    "val_pairs": 60,
    "warmup_epochs": 1,
    "ramp_epochs": 1,
    "early_stopping_patience": 4,
}

#: ``seisembed train`` (python -m seisembed) with an audit hook listing every file this
#: process creates, writes, renames or deletes below ``SEISEMBED_AUDIT_DIR``.
WORKER = r"""
import atexit, json, os, runpy, sys
watched = os.path.realpath(os.environ["SEISEMBED_AUDIT_DIR"])
writes = []
def _inside(path):
    try:
        return isinstance(path, (str, bytes, os.PathLike)) and os.path.realpath(os.fsdecode(path)).startswith(watched)
    except Exception:
        return False
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing and _inside(path):
            writes.append([event, os.fsdecode(path)])
    elif event in ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree", "shutil.move"):
        writes.extend([event, os.fsdecode(a)] for a in args[:2] if _inside(a))
sys.addaudithook(hook)
atexit.register(lambda: open(os.environ["SEISEMBED_AUDIT_LOG"], "w").write(json.dumps(writes)))
sys.argv = ["seisembed", *sys.argv[1:]]
runpy.run_module("seisembed", run_name="__main__")
"""


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _train_command(store: Path, out: Path, **train) -> list[str]:
    config = {
        "seed": 3,
        "sampling": {"events_per_batch": 4, "records_per_event": 3, "prefetch_batches": 1},
        "train": {**TRAIN, **train},
    }
    return [
        "train",
        "--store",
        str(store),
        "--out-dir",
        str(out),
        "--threads",
        "1",
        "--config-json",
        json.dumps(config),
    ]


def _start_workers(store: Path, outs: list[Path], tmp: Path, tag: str) -> list[subprocess.Popen]:
    """Two ``seisembed train`` processes of one multi-worker run (worker ``i`` writes to ``outs[i]``)."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index, out in enumerate(outs):
        scratch = tmp / f"{tag}-tmp{index}"
        scratch.mkdir()
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            "TMPDIR": str(scratch),
            "SEISEMBED_AUDIT_DIR": str(out),
            "SEISEMBED_AUDIT_LOG": str(tmp / f"{tag}-writes{index}.json"),
        }
        with open(tmp / f"{tag}-worker{index}.log", "w") as log:  # the child keeps its own descriptor
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, *_train_command(store, out, distribute="multiworker")],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    return procs


def _finish(procs: list[subprocess.Popen], tmp: Path, tag: str, timeout: float = 300) -> list[tuple[int, str]]:
    out = []
    for index, proc in enumerate(procs):
        try:
            proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:  # a hang: end it, then fail
                proc.kill()
                proc.wait()
        out.append((proc.returncode, (tmp / f"{tag}-worker{index}.log").read_text()))
    return out


def _one_process(store: Path, out: Path, **train) -> pd.DataFrame:
    proc = subprocess.run(
        [sys.executable, "-m", "seisembed", *_train_command(store, out, **train)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return pd.read_csv(out / "history.csv")


@pytest.fixture(scope="module")
def two_workers(tiny_store, tmp_path_factory):  # noqa: F811 (module fixture)
    """An uninterrupted two-worker run (both workers given the same --out-dir, as on a shared file system)."""
    tmp = tmp_path_factory.mktemp("two-workers")
    out = tmp / "model"
    started = time.perf_counter()
    results = _finish(_start_workers(tiny_store, [out, out], tmp, "run"), tmp, "run")
    for code, log in results:
        assert code == 0, log[-4000:]
    return {
        "out": out,
        "tmp": tmp,
        "logs": [log for _, log in results],
        "history": pd.read_csv(out / "history.csv"),
        "seconds": time.perf_counter() - started,
    }


@pytest.mark.slow
def test_two_worker_processes_follow_the_replicated_loss_and_only_the_chief_writes(tiny_store, two_workers, tmp_path):  # noqa: F811
    two = two_workers["history"]
    card = json.loads((two_workers["out"] / "model_card.json").read_text())
    assert card["replicas"] == 2 and len(two) == TRAIN["epochs"]
    # the same 2-replica arithmetic in one process (2 logical CPUs), and 1 replica
    mirrored = _one_process(
        tiny_store, tmp_path / "mirrored", distribute="mirrored", devices=["/cpu:0", "/cpu:1"], logical_cpus=2
    )
    one = _one_process(tiny_store, tmp_path / "one", distribute="none")
    for column in ("loss", "mean_triplet_loss", "active_triplets", "val_loss", "val_auc"):
        np.testing.assert_allclose(two[column], mirrored[column], rtol=0, atol=SAME_REPLICAS_TOLERANCE, err_msg=column)
    diff = np.abs(two["loss"].to_numpy() - one["loss"].to_numpy())
    assert diff.max() < ONE_REPLICA_TOLERANCE, (one["loss"].tolist(), two["loss"].tolist())
    # only the chief wrote the shared --out-dir; worker 1 wrote to its own temporary folder and removed it
    tmp = two_workers["tmp"]
    chief_writes = json.loads((tmp / "run-writes0.json").read_text())
    other_writes = json.loads((tmp / "run-writes1.json").read_text())
    assert any(path.endswith("model.keras") for _, path in chief_writes)
    assert other_writes == [], other_writes[:10]
    assert "this worker writes to" in two_workers["logs"][1]
    assert list((tmp / "run-tmp1").iterdir()) == []
    assert sorted(p.name for p in two_workers["out"].iterdir()) == [
        "figures",
        "history.csv",
        "model.keras",
        "model_card.json",
        "model_card.md",
    ]


def _wait_for(path: Path, procs: list[subprocess.Popen], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert all(p.poll() is None for p in procs), "a worker ended before the first epoch was checkpointed"
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_killed_worker_stops_the_run_by_name_and_both_resume_to_the_same_history(tiny_store, two_workers, tmp_path):  # noqa: F811
    out = tmp_path / "model"
    procs = _start_workers(tiny_store, [out, out], tmp_path, "killed")
    _wait_for(out / ".resume" / "state.json", procs)  # epoch 1 finished and checkpointed
    procs[1].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    (code, log), _ = _finish(procs, tmp_path, "killed", timeout=120)
    # before: a raw tensorflow UnavailableError traceback; now one line naming the fault and the way out
    assert code == 1, log[-3000:]
    assert time.monotonic() - killed_at < 120
    assert "a worker of this multi-worker run stopped" in log and "restart every worker" in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    state = json.loads((out / ".resume" / "state.json").read_text())
    assert 1 <= state["epoch"] < TRAIN["epochs"]

    # restarted where worker 1 cannot see the chief's resume state (its own --out-dir: no shared
    # file system): it would start at epoch 0 while the chief resumes; both refuse instead
    alone = tmp_path / "not-shared"
    results = _finish(_start_workers(tiny_store, [out, alone], tmp_path, "unshared"), tmp_path, "unshared", 180)
    for code, log in results:
        assert code == 1 and "resume at different epochs" in log, log[-3000:]
    assert json.loads((out / ".resume" / "state.json").read_text()) == state  # untouched

    # restarted properly: both resume after the checkpointed epoch and end with the uninterrupted history
    results = _finish(_start_workers(tiny_store, [out, out], tmp_path, "resumed"), tmp_path, "resumed")
    for code, log in results:
        assert code == 0, log[-3000:]
        assert f"resuming after epoch {state['epoch']}" in log
    resumed = pd.read_csv(out / "history.csv")
    columns = ["epoch", "loss", "active_triplets", "val_loss", "val_auc"]
    pd.testing.assert_frame_equal(resumed[columns], two_workers["history"][columns])


# -- Dask: a scheduler and workers started by their command lines ------------------------------
DASK = str(Path(sys.executable).with_name("dask"))


@pytest.fixture
def dask_cluster(tmp_path):
    """``dask scheduler`` and two ``dask worker`` processes (no nanny: a killed worker stays dead)."""
    scheduler_file = tmp_path / "scheduler.json"

    def start(command: list[str], log: str) -> subprocess.Popen:
        with open(tmp_path / log, "w") as out:  # the child keeps its own descriptor
            return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    procs = [
        start(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", str(scheduler_file)],
            "scheduler.log",
        )
    ]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists():
        assert time.monotonic() < deadline and procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
        time.sleep(0.1)
    for i in range(2):
        procs.append(
            start(
                [DASK, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "1", "--nthreads", "1"]
                + ["--no-nanny", "--no-dashboard", "--name", f"w{i}"],
                f"worker{i}.log",
            )
        )
    from distributed import Client

    monitor = Client(scheduler_file=str(scheduler_file), timeout="60s", set_as_default=False)  # not for our computes
    monitor.wait_for_workers(2, timeout=120)
    workers = monitor.scheduler_info()["workers"]
    by_name = {f"w{i}": proc for i, proc in enumerate(procs[1:])}
    assert sorted(str(info["name"]) for info in workers.values()) == ["w0", "w1"], workers
    try:
        yield {
            "address": json.loads(scheduler_file.read_text())["address"],
            "monitor": monitor,
            "workers": {addr: by_name[str(info["name"])] for addr, info in workers.items()},
        }
    finally:
        monitor.close()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _in_thread(fn, *args, **kwargs):
    """Run ``fn`` in a thread; returns (thread, box) with box['value'] or box['error'] once done."""
    import threading

    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


@pytest.fixture
def tiny_model(tmp_path):
    from seisembed.config import section
    from seisembed.train.model import build_model

    path = tmp_path / "m.keras"
    build_model(section("model", {}), n_samples=N_SAMPLES, seed=1).save(path)
    return path


@pytest.mark.slow
def test_a_worker_killed_mid_embedding_changes_no_row(tiny_store, tiny_model, dask_cluster):  # noqa: F811
    from seisembed.evaluate.association import embed_store

    block = 4  # many small tasks, so that the kill lands mid-run
    local = embed_store(tiny_store, tiny_model, batch=block)
    config = {"scheduler_address": dask_cluster["address"], "embed_block_traces": block, "no_workers_timeout_s": 60}
    started = time.perf_counter()
    thread, box = _in_thread(embed_store, tiny_store, tiny_model, batch=block, dask_config=config)
    monitor, (victim, survivor) = dask_cluster["monitor"], sorted(dask_cluster["workers"])
    n_tasks = -(-len(local) // block)
    held = {}
    deadline = time.monotonic() + 240
    while thread.is_alive() and time.monotonic() < deadline:
        held = monitor.has_what()
        done = sum(len(keys) for keys in held.values())
        if len(held.get(victim, ())) >= 2 and done < n_tasks // 2:
            dask_cluster["workers"][victim].send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    thread.join(timeout=240)
    assert not thread.is_alive(), "the embedding hung after a worker was killed"
    assert dask_cluster["workers"][victim].wait(timeout=30) == -signal.SIGKILL, "the worker was not killed mid-run"
    # the killed worker held finished blocks (lost with it) and most blocks were still to do
    assert len(held[victim]) >= 2 and sum(len(k) for k in held.values()) < n_tasks
    assert "error" not in box, box.get("error")
    spread = box["value"]
    assert list(monitor.scheduler_info()["workers"]) == [survivor]
    # no row lost, doubled or moved; the same bits (the same blocks of `block` windows through the same
    # model, on the same CPU kind: no reason for a different rounding)
    assert spread["trace_name"].is_unique and len(spread) == len(local)
    pd.testing.assert_frame_equal(spread, local, check_exact=True)
    assert spread.attrs == local.attrs
    print(f"embedding on the cluster with a worker killed: {time.perf_counter() - started:.1f} s, {n_tasks} tasks")


@pytest.mark.slow
def test_all_workers_killed_is_a_named_error_not_a_hang(tiny_store, tiny_model, dask_cluster):  # noqa: F811
    from seisembed.cluster import ClusterError
    from seisembed.evaluate.association import embed_store

    config = {"scheduler_address": dask_cluster["address"], "embed_block_traces": 4, "no_workers_timeout_s": 3}
    thread, box = _in_thread(embed_store, tiny_store, tiny_model, batch=4, dask_config=config)
    monitor = dask_cluster["monitor"]
    deadline = time.monotonic() + 240
    while thread.is_alive() and time.monotonic() < deadline and not any(monitor.has_what().values()):
        time.sleep(0.02)
    for proc in dask_cluster["workers"].values():
        proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    # before: the client waited for a worker forever; now the work stops after no_workers_timeout_s
    thread.join(timeout=120)
    assert not thread.is_alive(), "the embedding hangs with no worker left"
    assert isinstance(box.get("error"), ClusterError), box
    assert "no worker" in str(box["error"]) and "dask.no_workers_timeout_s" in str(box["error"])
    assert time.monotonic() - killed < 60


def _http_server_port() -> tuple[socket.socket, int]:
    """A listening socket on 127.0.0.1 that answers every connection with an HTTP error (not Dask)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" * 4)

    threading.Thread(target=answer, daemon=True).start()
    return server, server.getsockname()[1]


def test_an_unreachable_or_malformed_scheduler_address_is_a_config_error():
    import dask.config

    from seisembed.cluster import dask_client
    from seisembed.errors import ConfigError

    (port,) = _free_ports(1)
    http, http_port = _http_server_port()
    before = dask.config.get("scheduler", None)
    try:
        for address in (
            f"tcp://127.0.0.1:{port}",
            "http://127.0.0.1:8786",
            "node01",
            f"tcp://127.0.0.1:{http_port}",  # a web server, not a scheduler
        ):
            started = time.monotonic()
            # before: "http://..." and an address without a port were raw ValueErrors, and a server
            # speaking HTTP a MemoryError (its bytes read as a frame length)
            with (
                pytest.raises(ConfigError, match="dask.scheduler_address"),
                dask_client({"scheduler_address": address, "connect_timeout_s": 1}),
            ):
                pass
            assert time.monotonic() - started < 20, address
            # before: the failed client left scheduler="dask.distributed", and every later
            # in-process compute failed with "no Client active"
            assert dask.config.get("scheduler", None) == before, address
    finally:
        http.close()
    assert int(da.ones(4, chunks=2).sum().compute()) == 4


def test_no_worker_while_no_work_waits_is_not_a_fault(tmp_path):
    """The watchdog counts only time with work waiting and no worker (a queued SLURM worker job may come)."""
    from seisembed.cluster import dask_client

    scheduler_file = tmp_path / "scheduler.json"
    with open(tmp_path / "scheduler.log", "w") as out:
        scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", str(scheduler_file)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            assert time.monotonic() < deadline and scheduler.poll() is None, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        with dask_client({"scheduler_address": address, "no_workers_timeout_s": 1}) as client:
            time.sleep(3)  # no worker, no work: before, the watchdog closed the client after 1 s
            assert client.status == "running"
    finally:
        scheduler.kill()
        scheduler.wait()
