"""kill -9 of scripts/benchmark.py, tune.py and train_rllib.py at several moments: nothing
stale (no earlier command's output beside a later one's), nothing lost (a resume ends with
every row once) and nothing unrecoverable (``--resume`` or a rerun always finishes).

The moments are placed by what the script has written (a file appearing, a row logged), not
by a wall clock. The windows inside a commit, too narrow to hit by timing, are recreated
directly in tests/test_run_directories.py.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from scriptload import load_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
ENV = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
ENV["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(SCRIPTS)])  # this tree, not an install


def spawn(script: str, *args: object) -> subprocess.Popen:
    """``scripts/<script>.py`` in a session of its own (killed with its children)."""
    return subprocess.Popen(
        [sys.executable, str(SCRIPTS / f"{script}.py"), *map(str, args)],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], limit: float = 300) -> bool:
    """SIGKILL ``proc`` and its session once ``ready()``; False if it ended first. ``limit``
    (s) only bounds a hang: it is no assertion about speed."""
    deadline = time.monotonic() + limit
    while proc.poll() is None and not ready():
        assert time.monotonic() < deadline, "the script never reached the moment"
        time.sleep(0.02)
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1)  # Ray's processes share the driver's fate
    return True


def run(script: str, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / f"{script}.py"), *map(str, args)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------- benchmark.py

BENCH = ["--tasks", "QuadHover-v0", "QuadLand-v0", "--controllers", "pid"]
benchmark = load_script("benchmark")


@pytest.mark.slow  # three or more benchmark processes: ~20 s
def test_a_killed_benchmark_rerun_leaves_no_earlier_tables_beside_its_pngs(tmp_path):
    out = tmp_path / "bench"
    # the earlier run and the rerun are not killed: in this process (two interpreter starts)
    assert benchmark.main(list(map(str, [*BENCH, "--episodes", 1, "--out", out]))) == 0
    complete = sorted(p.name for p in out.iterdir())
    earlier = 1  # episodes of the whole run in ``out``
    # at once, just after the earlier run's files went, after the first task's PNG
    for ready in (
        lambda: True,
        lambda: not (out / "results.json").exists(),
        lambda: (out / "QuadHover-v0.png").exists(),
    ):
        # ten episodes leave the poller seconds after the first PNG; a run that still ends
        # before it looks must have succeeded (a failed one is how a kill inside claim(),
        # which left a directory the next run refused, showed up here) and is the next
        # earlier run, whole; the moment is tried again with a new one
        for _ in range(5):
            proc = spawn("benchmark", *BENCH, "--episodes", 10, "--out", out)
            if kill_when(proc, ready):
                break
            assert proc.returncode == 0, proc.stderr.read()
            assert sorted(p.name for p in out.iterdir()) == complete
            earlier = 10
        else:
            pytest.fail("five runs in a row ended before the moment to kill them")
        names = sorted(p.name for p in out.iterdir() if not p.name.endswith(".tmp"))
        if (out / "results.json").exists():  # the earlier run, whole and alone
            assert names == complete
            assert json.loads((out / "results.json").read_text())["episodes"] == earlier
        else:  # the killed run's own files only: tables come last, through a rename
            assert set(names) <= {".quadgym-out", "QuadHover-v0.png"}, names
    assert benchmark.main(list(map(str, [*BENCH, "--episodes", 3, "--out", out]))) == 0
    assert json.loads((out / "results.json").read_text())["episodes"] == 3
    assert sorted(p.name for p in out.iterdir()) == complete


# ----------------------------------------------------------------- tune.py

SWEEP = ["--env", "CoPGBandit-v0", "--algo", "copg", "--space", "lr=grid(0.01,0.0001)"]
SWEEP += ["--metric", "kl_to_optimal", "--mode", "min", "--scheduler", "fifo"]
SWEEP += ["--max-concurrent", "1"]


@pytest.mark.ray
@pytest.mark.slow  # three Ray starts: ~1-2 min on 2 cores
def test_tune_killed_at_start_up_and_interrupted_mid_sweep_resumes_to_a_whole_ranking(
    tmp_path, ray_alone
):
    """kill -9 as soon as sweep.json exists (before Tune saved its experiment: --resume
    raised FileNotFoundError and a new run said "use --resume"), then Ctrl-C once a trial
    has finished (the ranking of 1 of 2 configs was published with exit 0): the outputs say
    which trial is unfinished and the exit is non-zero; --resume ends with both ranked."""
    out = tmp_path / "sweep"
    proc = spawn("tune", *SWEEP, "--steps", 400, "--out", out)
    assert kill_when(proc, lambda: (out / "sweep.json").exists())
    assert not (out / "tune" / "tuner.pkl").exists()

    def a_trial_finished() -> bool:
        for state in (out / "trials").glob("*/state.json"):
            try:
                if json.loads(state.read_text())["done"] == 400:
                    return True
            except ValueError:
                continue
        return False

    driver = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "tune.py"), "--resume", str(out)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while driver.poll() is None and not a_trial_finished():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.kill(driver.pid, signal.SIGINT)  # Ctrl-C of the driver alone
    _, stderr = driver.communicate(timeout=300)
    assert driver.returncode != 0, stderr
    statuses = [r["status"] for r in csv_rows(out / "results.csv")]
    assert len(statuses) == 2 and set(statuses) & {"unfinished", "not started"}, statuses
    assert "Incomplete" in (out / "best.md").read_text()

    done = run("tune", "--resume", out)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = csv_rows(out / "results.csv")
    assert [(r["status"], r["done"]) for r in rows] == [("finished", "400")] * 2
    assert len(list((out / "trials").glob("*/state.json"))) == 2  # no stale trial beside
    assert "Incomplete" not in (out / "best.md").read_text()


# ----------------------------------------------------------------- train_rllib.py

RLLIB = ["--drones", 2, "--batch", 256, "--checkpoint-every", 2, "--episodes", 1]


@pytest.mark.ray
@pytest.mark.slow  # five Ray starts and 10 iterations: ~4 min on 2 cores
def test_train_rllib_killed_at_many_moments_resumes_with_every_iteration_once(tmp_path, ray_alone):
    out = tmp_path / "rllib"

    def position() -> int:
        try:
            return json.loads((out / "state.json").read_text())["position"]
        except (OSError, ValueError, KeyError):
            return -1

    def logged() -> int:
        try:
            return len(csv_rows(out / "metrics.csv"))
        except OSError:
            return 0

    # start-up (Ray starting), a row past the checkpoint (iteration 1 of a chunk of 2),
    # just after a checkpoint, a row past a later one
    moments = (
        lambda: position() == 0,
        lambda: logged() >= 1,
        lambda: position() >= 2,
        lambda: logged() > position() >= 4,
    )
    kills = 0
    for i, ready in enumerate(moments):
        args = ["--resume", out] if i else [*RLLIB, "--out", out]
        proc = spawn("train_rllib", *args, "--steps", 2560)
        kills += kill_when(proc, ready)
        state = json.loads((out / "state.json").read_text())  # always whole
        if state["checkpoint"]:  # what the state names is there, whole
            assert (out / state["checkpoint"] / "learner_group").is_dir()
    assert kills == 4
    done = run("train_rllib", "--resume", out)
    assert done.returncode == 0, done.stderr[-3000:]
    iterations = [int(r["iteration"]) for r in csv_rows(out / "metrics.csv")]
    assert iterations == list(range(1, len(iterations) + 1)), iterations
    state = json.loads((out / "state.json").read_text())
    assert state["position"] == iterations[-1] and state["agent_steps"] >= 2560
    assert os.readlink(out / "checkpoint") == state["checkpoint"]
    assert len(list(out.glob("checkpoint-*"))) == 1
    assert (out / "replay.json").is_file() and state["evaluated"]
    again = run("train_rllib", *RLLIB, "--steps", 2560, "--out", out)
    assert again.returncode == 2 and "already holds a run" in again.stderr
