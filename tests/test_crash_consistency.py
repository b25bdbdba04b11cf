"""kill -9 at any moment, then --resume: nothing lost, nothing duplicated (quadgym/runs.py).

An offline plugin (copg, deterministic) is killed with SIGKILL at moments spread over a
run, from start-up to the last chunk, and resumed each time until done; its final model
must equal an uninterrupted run's bit for bit, metrics.csv and the TensorBoard events must
hold every position once, in order, and state.json must agree with the checkpoint. The
window between the checkpoint write and the state write, too narrow to hit by timing, is
recreated by putting an older state.json back; states no crash can leave are refused.
"""

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from scriptload import load_script
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import quadgym

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PATH": "", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
train_script = load_script("train")

COPG = ["--env", "CoPGSequence-v0", "--algo", "copg", "--steps", 40, "--checkpoint-every", 4]
COPG_CONFIG = ["--config", "n_pairs=2000"]


def command(*args) -> list[str]:
    return [sys.executable, str(ROOT / "scripts" / "train.py"), *map(str, args)]


def train(*args) -> int:
    """scripts/train.py in this process."""
    return train_script.main([str(a) for a in args])


def spawn(*args) -> subprocess.Popen:
    """scripts/train.py in a child process (to be killed)."""
    return subprocess.Popen(command(*args), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def positions(out: Path) -> list[int]:
    with open(out / "metrics.csv") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def rows(out: Path) -> list[dict]:
    with open(out / "metrics.csv") as f:
        return list(csv.DictReader(f))


def tb_positions(out: Path, tag: str) -> list[int]:
    events = EventAccumulator(str(out / "tb"), purge_orphaned_data=True)
    events.Reload()
    return [e.step for e in events.Scalars(tag)]


def weights(out: Path) -> torch.Tensor:
    return torch.load(out / "checkpoint.bin", weights_only=False)["policy"]


def assert_consistent(out: Path, total: int, tag: str = "loss") -> None:
    """Every position once and in order, in the CSV and TensorBoard; state = checkpoint."""
    state = json.loads((out / "state.json").read_text())
    assert state["done"] == total
    steps = positions(out)
    assert steps == sorted(set(steps)), steps
    logged = tb_positions(out, tag)  # non-finite values (a NaN mean return) are not logged
    assert logged == sorted(set(logged)) and set(logged) <= set(steps), (logged, steps)
    algo = quadgym.make_algo(state["algo"], state["env"], **state["config"])
    algo.load(out / "checkpoint.bin")
    assert algo.progress == state["done"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted copg run, trained in this process: the runs it is compared with,
    killed processes and in-process ones alike, must equal it bit for bit, so where it ran
    does not matter (one interpreter start fewer)."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert train(*COPG, "--out", out, *COPG_CONFIG) == 0
    return out


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def done(out: Path) -> int:
    """The epochs state.json records (0 before it exists)."""
    try:
        return json.loads((out / "state.json").read_text())["done"]
    except (OSError, ValueError, KeyError):
        return 0


#: Kill moments: (epochs the run must have recorded, seconds more). Progress, not fractions
#: of a measured wall time, places them: a loaded machine (or a fast one) moves every
#: moment of a timed schedule, and a resumed run, which has less left to do, ran out
#: before its moment came (seen with other jobs on the cores). One of each phase: start-up
#: (before anything is written), just after the first state write of a fresh run, mid-chunk
#: of a resumed run (rows past its checkpoint), and just after a resumed run's state write,
#: in the last chunk. (A second after-a-write and a second mid-chunk moment, at 20 and 28,
#: repeated phases already covered and cost two interpreter starts.)
MOMENTS = ((0, 0.2), (8, 0.0), (12, 0.03), (36, 0.0))


@pytest.mark.slow  # four training processes, all killed, and a resume: ~25 s
def test_sigkill_at_many_moments_then_resume_equals_an_uninterrupted_run(reference, tmp_path):
    ref = reference
    out = tmp_path / "run"
    kills = 0
    for at_least, extra in MOMENTS:
        resuming = (out / "state.json").exists()
        args = ["--resume", out] if resuming else [*COPG, "--out", out, *COPG_CONFIG]
        proc = subprocess.Popen(
            command(*args), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        while proc.poll() is None and done(out) < at_least:
            time.sleep(0.002)
        time.sleep(extra)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate()
    # a run that ends before its moment ends the whole run: only the last kill may miss
    assert kills >= len(MOMENTS) - 1, "the runs ended before they could be killed: lengthen them"
    assert train("--resume", out) == 0  # the last resume is not killed: in this process
    assert_consistent(out, 40)
    assert same_weights(out, ref)
    assert rows(out) == rows(ref)


def test_a_kill_between_the_checkpoint_and_the_state_write_resumes_exactly(reference, tmp_path):
    ref = reference
    out = tmp_path / "run"
    assert (
        train_script.main(list(map(str, [*COPG, "--out", out, "--stop-after", 8, *COPG_CONFIG])))
        == 0
    )
    older_state = (out / "state.json").read_bytes()  # done: 8
    assert train("--resume", out, "--stop-after", 4) == 0
    # as if killed after checkpoint.bin (at 12) was replaced and before state.json was
    (out / "state.json").write_bytes(older_state)
    assert train("--resume", out) == 0
    assert_consistent(out, 40)
    assert same_weights(out, ref)
    assert rows(out) == rows(ref)


def test_states_no_crash_leaves_are_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        train_script.main(list(map(str, [*COPG, "--out", out, "--stop-after", 4, *COPG_CONFIG])))
        == 0
    )
    older_checkpoint = (out / "checkpoint.bin").read_bytes()  # at 4
    assert train("--resume", out, "--stop-after", 4) == 0
    (out / "checkpoint.bin").write_bytes(older_checkpoint)  # state at 8, checkpoint at 4
    with pytest.raises(SystemExit):
        train("--resume", out)
    assert "the checkpoint is older than the state" in capsys.readouterr().err
    (out / "checkpoint.bin").unlink()
    with pytest.raises(SystemExit):
        train("--resume", out)
    assert "checkpoint.bin is missing" in capsys.readouterr().err
    assert json.loads((out / "state.json").read_text())["done"] == 8  # nothing was changed


def test_a_new_run_never_appends_to_an_old_ones_files(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.csv").write_text("step,loss\n1,0.5\n")
    with pytest.raises(SystemExit):
        train(*COPG, "--out", out, *COPG_CONFIG)
    assert "is not empty" in capsys.readouterr().err
    assert (out / "metrics.csv").read_text() == "step,loss\n1,0.5\n"


@pytest.mark.slow
def test_ppo_killed_mid_run_resumes_to_exactly_its_budget(tmp_path):
    out = tmp_path / "run"
    args = ["--env", "QuadHover-v0", "--algo", "ppo", "--steps", 2048, "--checkpoint-every", 256]
    config = ["--config", "n_envs=2", "n_steps=64", "batch_size=64", "n_epochs=1"]
    proc = spawn(*args, "--out", out, *config)
    deadline = time.time() + 120
    while not (out / "checkpoint.bin").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # into a later chunk
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert train("--resume", out) == 0  # the resume is not killed: in this process
    assert_consistent(out, 2048, tag="mean_return")


def test_killed_before_the_first_checkpoint_starts_over_cleanly(reference, tmp_path):
    ref = reference
    out = tmp_path / "run"
    assert train(*COPG, "--out", out, "--stop-after", 4, *COPG_CONFIG) == 0
    # as if killed mid-way through the first chunk: state.json written at the start (done 0),
    # rows 1-4 logged, no checkpoint yet
    (out / "checkpoint.bin").unlink()
    state = json.loads((out / "state.json").read_text())
    (out / "state.json").write_text(json.dumps({**state, "done": 0}))
    assert positions(out) == [1, 2, 3, 4]
    assert train("--resume", out) == 0
    assert_consistent(out, 40)
    assert same_weights(out, ref)
    assert rows(out) == rows(ref)


@pytest.mark.slow  # ~8 s
def test_a_second_ctrl_c_stops_a_long_chunk_before_it_ends_with_the_checkpoint_intact(tmp_path):
    """The behaviour, not a clock (a "< 5 s" bound failed at load 6-10): after the second
    SIGINT the run stops inside its one 100000-epoch chunk -- no row at its end, exit 130,
    "second Ctrl-C" -- and the checkpoint and state are those of before the chunk."""
    out = tmp_path / "run"
    assert train(*COPG, "--out", out, "--stop-after", 4, *COPG_CONFIG) == 0
    saved = (out / "checkpoint.bin").read_bytes()
    proc = spawn("--resume", out, "--steps", 100_000, "--checkpoint-every", 100_000)
    deadline = time.monotonic() + 600  # bounds a hang only
    while max(positions(out)) < 6:  # rows past the checkpoint: inside the long chunk
        assert proc.poll() is None and time.monotonic() < deadline, "the resumed run did not start"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # the first asks to stop after the chunk (hours away)
    time.sleep(0.5)
    assert proc.poll() is None  # it goes on
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=600)  # a hang guard; the chunk would take hours
    assert proc.returncode == 130 and b"second Ctrl-C" in stdout
    assert max(positions(out)) < 100_000  # stopped before the chunk's end
    assert (out / "checkpoint.bin").read_bytes() == saved
    assert json.loads((out / "state.json").read_text())["done"] == 4


def test_resume_keeps_the_runs_settings_and_records_what_it_changes(tmp_path):
    """A resume keeps the run's --threads and applies and records a new total and chunk
    size. The run is 12 epochs, grown to 16 (it was 40, grown to 48): the settings are what
    is checked, and on two busy cores each epoch at two threads is dear (30-40 s in all)."""
    out = tmp_path / "run"
    run = ["--env", "CoPGSequence-v0", "--algo", "copg", "--steps", 12, "--checkpoint-every", 4]
    assert train(*run, "--out", out, "--stop-after", 4, "--threads", 2, *COPG_CONFIG) == 0
    assert train("--resume", out, "--stop-after", 4) == 0
    state = json.loads((out / "state.json").read_text())
    assert state["threads"] == 2 and state["resumes"] == [{"at": 4}]
    assert train("--resume", out, "--steps", 16, "--checkpoint-every", 8) == 0
    state = json.loads((out / "state.json").read_text())
    assert state["done"] == 16 and state["checkpoint_every"] == 8
    assert state["resumes"][-1] == {"at": 8, "total": 16, "checkpoint_every": 8}
