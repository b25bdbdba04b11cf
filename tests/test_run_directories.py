"""A run directory is reconciled exactly as quadgym/runs.py says, and every bad input is
refused by name before work starts (issue 29, items 6, 7, 9, 10).

The copg plugin on CoPGSequence-v0 is quick and deterministic; runs are made in this
process with scripts/train.py's ``main``.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from scriptload import load_script

import quadgym.runs
from quadgym.runs import DirRun, RunError

train_script = load_script("train")
COPG = ["--env", "CoPGSequence-v0", "--algo", "copg", "--steps", 40, "--checkpoint-every", 4]
COPG_CONFIG = ["--config", "n_pairs=200"]


def train(*args: object) -> int:
    return train_script.main([str(a) for a in args])


def refused(capsys: pytest.CaptureFixture, *args: object) -> str:
    """The error of a scripts/train.py call that must exit 2 (argparse's usage error)."""
    with pytest.raises(SystemExit) as exit_info:
        train(*args)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def state(out: Path) -> dict:
    return json.loads((out / "state.json").read_text())


def positions(out: Path) -> list[int]:
    with open(out / "metrics.csv") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


@pytest.fixture
def run4(tmp_path: Path) -> Path:
    """A run stopped at 4 of 40 (a chunk of 4)."""
    out = tmp_path / "run"
    assert train(*COPG, "--out", out, "--stop-after", 4, *COPG_CONFIG) == 0
    return out


# ----------------------------------------------------------------- item 6: reconciliation


def test_a_checkpoint_more_than_a_chunk_ahead_is_refused(run4, capsys):
    """Before: "a chunk ahead" was any amount (a checkpoint 36 ahead gave done 40)."""
    at4 = (run4 / "state.json").read_bytes()
    assert train("--resume", run4) == 0  # to 40
    (run4 / "state.json").write_bytes(at4)  # the state at 4, the checkpoint at 40
    err = refused(capsys, "--resume", run4)
    assert "more than a chunk ahead" in err and "holds 40" in err
    assert state(run4)["done"] == 4  # nothing changed


def test_a_checkpoint_of_another_seed_and_learning_rate_is_refused(run4, tmp_path, capsys):
    """Before: a checkpoint of another run of the same plugin and env was accepted."""
    other = tmp_path / "other"
    config = ["--config", "n_pairs=200", "lr=0.5"]
    assert train(*COPG, "--out", other, "--stop-after", 4, "--seed", 3, *config) == 0
    shutil.copy(other / "checkpoint.bin", run4 / "checkpoint.bin")
    err = refused(capsys, "--resume", run4)
    assert "another run" in err and "seed 3" in err and "lr 0.5" in err


def test_a_resume_cannot_set_the_budget_below_what_is_done(run4, capsys):
    """Before: --resume --steps 2 on a run at 4 set total 2 < done 4 silently."""
    err = refused(capsys, "--resume", run4, "--steps", 2)
    assert "--steps 2 is below the 4 this run has done" in err
    assert state(run4)["total"] == 40


# ----------------------------------------------------------------- item 7: a torn row


def test_a_torn_last_row_is_dropped_on_resume(run4):
    """Before: a last line ``1`` torn from ``11,...`` was kept as a second step-1 row."""
    with open(run4 / "metrics.csv", "a") as f:
        f.write("1")  # a row cut by a kill before its other fields and newline
    assert train("--resume", run4, "--stop-after", 4) == 0
    assert positions(run4) == list(range(1, 9))


# ----------------------------------------------------------------- item 9: named errors


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("checkpoint_every", "0"),
        ("checkpoint_every", "-3"),
        ("checkpoint_every", "2.5"),
        ("threads", "0"),
        ("threads", "-2"),
        ("threads", '"one"'),
        ("done", "Infinity"),
        ("resumes", '"none"'),
        ("total", "true"),
        ("config", "[1]"),
    ],
)
def test_an_invalid_state_field_is_named(run4, capsys, field, text):
    """Before: tracebacks (ZeroDivision, TypeError, OverflowError...)."""
    saved = json.loads((run4 / "state.json").read_text())
    saved[field] = "@@"
    (run4 / "state.json").write_text(json.dumps(saved).replace('"@@"', text))
    err = refused(capsys, "--resume", run4)
    assert f"state.json field {field} is invalid" in err


@pytest.mark.parametrize("kind", ["garbage", "binary", "directory"])
def test_an_unreadable_metrics_log_is_named(run4, capsys, kind):
    path = run4 / "metrics.csv"
    path.unlink()
    if kind == "garbage":
        path.write_text("step,loss\nthe quick,brown,fox\n")
    elif kind == "binary":
        path.write_bytes(bytes(range(256)))
    else:
        path.mkdir()
    err = refused(capsys, "--resume", run4)
    assert "metrics.csv" in err and ("not a row of this log" in err or "not a readable" in err)


def test_an_out_under_a_file_is_refused_before_anything_is_built(tmp_path, capsys, forbid):
    import quadgym

    (tmp_path / "file").write_text("")
    forbid((quadgym, "make_algo"))
    err = refused(capsys, *COPG, "--out", tmp_path / "file" / "run", *COPG_CONFIG)
    assert "is a file, not a directory" in err


def test_a_full_disk_mid_run_keeps_the_last_checkpoint_and_says_so(run4, monkeypatch, capsys):
    """Before: a traceback (nothing was lost). Now a message and exit 1; --resume finishes."""
    real = quadgym.runs.directory.atomic_write_bytes
    calls = {"n": 0}

    def full(path, data):
        calls["n"] += 1
        if calls["n"] == 3:  # the state after the second chunk (its checkpoint, at 12, is whole)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(quadgym.runs.directory, "atomic_write_bytes", full)
    assert train("--resume", run4) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "the last checkpoint (at 12 of 40) is intact" in err
    monkeypatch.setattr(quadgym.runs.directory, "atomic_write_bytes", real)
    assert train("--resume", run4) == 0
    assert state(run4)["done"] == 40 and positions(run4) == list(range(1, 41))


# ----------------------------------------------------------------- item 10


def test_temporary_files_of_an_interrupted_write_are_removed_on_resume(run4):
    """Before: a .checkpoint.bin.*.tmp left by a kill stayed for good."""
    (run4 / ".checkpoint.bin.abc123.tmp").write_bytes(b"half a checkpoint")
    (run4 / ".state.json.xyz.tmp").write_bytes(b"{")
    assert train("--resume", run4, "--stop-after", 4) == 0
    assert not list(run4.glob(".*.tmp"))


def test_run_files_are_readable_by_the_group_as_the_umask_allows(tmp_path):
    """Before: every atomically written file was 0600 (mkstemp's), whatever the umask."""
    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        assert train(*COPG, "--out", out, "--stop-after", 4, *COPG_CONFIG) == 0
    finally:
        os.umask(old)
    for name in ("state.json", "checkpoint.bin", "metrics.csv"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


# ----------------------------------------------------------------- a directory checkpoint


def saver(marker: str):
    def save(path: Path) -> None:
        path.mkdir()
        (path / "weights").write_text(marker)

    return save


def test_a_directory_checkpoint_survives_a_kill_at_every_step_of_its_commit(tmp_path):
    """train_rllib.py's checkpoints (quadgym.runs.DirRun): killed after the new checkpoint
    was saved but before the state names it, or after the state and before the link moved,
    the run reopens at a whole checkpoint, the link pointing at it, nothing else left.
    Before: ``save()`` renamed ``checkpoint`` aside before renaming the new one in, and a
    kill between the two left no checkpoint at all."""
    out = tmp_path / "rllib"
    run = DirRun.create(out, {"steps": 10})
    run.commit(1, saver("one"))
    assert os.readlink(out / "checkpoint") == "checkpoint-000001"
    # killed after saving checkpoint-000002, before the state write
    saver("two, half")(out / "checkpoint-000002")
    reopened = DirRun.reopen(out)
    assert reopened.state["position"] == 1 and (out / "checkpoint" / "weights").read_text() == (
        "one"
    )
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-000001"]
    # killed after the state named checkpoint-000002, before the link moved
    saver("two")(out / "checkpoint-000002")
    reopened.state.update(position=2, checkpoint="checkpoint-000002")
    reopened.write_state()
    again = DirRun.reopen(out)
    assert (out / "checkpoint" / "weights").read_text() == "two"
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-000002"]
    assert again.state["position"] == 2


def test_a_directory_run_refuses_a_non_empty_out_and_a_state_naming_a_missing_checkpoint(
    tmp_path,
):
    out = tmp_path / "rllib"
    out.mkdir()
    (out / "metrics.csv").write_text("iteration\n1\n")
    with pytest.raises(RunError, match="is not empty"):
        DirRun.create(out, {})
    (out / "metrics.csv").unlink()
    run = DirRun.create(out, {})
    with pytest.raises(RunError, match="already holds a run"):
        DirRun.create(out, {})
    run.state["checkpoint"] = "checkpoint-000009"
    run.write_state()
    with pytest.raises(RunError, match="not there"):
        DirRun.reopen(out)


def test_an_out_in_a_read_only_directory_is_refused_before_anything_is_built(
    tmp_path, capsys, forbid, monkeypatch
):
    """A read-only mount, as os.access sees it (root writes anywhere else, so the test
    stands it in): refused by name, nothing built. Before: a traceback from the first write."""
    import quadgym
    import quadgym.outdir

    locked = tmp_path / "ro"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(
        quadgym.outdir.os, "access", lambda p, mode: Path(p) != locked and real(p, mode)
    )
    forbid((quadgym, "make_algo"))
    err = refused(capsys, *COPG, "--out", locked / "run", *COPG_CONFIG)
    assert f"{locked} is not writable" in err
