"""Arguments the scripts took too late or not at all (issue 29, items 8 and 10): each is
refused by name before anything is built, flown or started."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import gymnasium as gym
import pytest
from scriptload import load_script

import quadgym
from quadgym.registry import make_parallel_env

benchmark = load_script("benchmark")
evaluate = load_script("evaluate")


def usage_error(capsys: pytest.CaptureFixture, main, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_a_function_is_not_a_controller_class(tmp_path, capsys):
    """Before: ``os:system`` passed the import check and failed mid-run."""
    out = tmp_path / "bench"
    err = usage_error(capsys, benchmark.main, ["--controllers", "os:system", "--out", str(out)])
    assert "'os:system' is not a controller class" in err and not out.exists()


def test_duplicate_perturbation_keys_are_refused(tmp_path, capsys):
    """Before: ``mass=1.2,mass=1.5`` flew with mass 1.5, the first silently dropped."""
    argv = ["--perturbations", "mass=1.2,mass=1.5", "--out", str(tmp_path / "b")]
    assert "'mass' is given twice" in usage_error(capsys, benchmark.main, argv)


def test_a_non_empty_out_of_another_kind_is_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    err = usage_error(capsys, benchmark.main, ["--out", str(out)])
    assert "is not empty and was not written by scripts/benchmark.py" in err
    assert (out / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: make_parallel_env("quad_swarm_v0", num_drones=1_000_000),
            "num_drones must be <= 10000",
        ),
        (
            lambda: quadgym.make_algo("copg", "CoPGBandit-v0", n_pairs=99_999_999_999),
            "n_pairs must be <= 10000000",
        ),
    ],
)
def test_sizes_beyond_memory_are_refused_before_allocating(make, message):
    """Before: num_drones=1_000_000 hung loading bodies (its downwash would take ~32 TB);
    n_pairs=99999999999 died in a 745 GiB MemoryError."""
    with pytest.raises(ValueError, match=message):
        make()


@pytest.fixture
def rpm_run(tmp_path):
    """A scripts/train.py run of the model-based pid plugin on QuadHover-v0 (motor-speed
    actions, the env's default), written in a second."""
    out = tmp_path / "run"
    train = load_script("train")
    argv = ["--env", "QuadHover-v0", "--algo", "pid", "--steps", "1", "--out", str(out)]
    assert train.main(argv) == 0
    return out


def test_evaluate_refuses_env_kwargs_that_contradict_the_runs_action_type(rpm_run, capsys, forbid):
    """Before: accepted, flown and written to evaluation.json (benchmark refused it)."""
    forbid((gym, "make"))
    argv = ["--run", str(rpm_run), "--env-kwargs", "{'action_type': 'vel'}"]
    err = usage_error(capsys, evaluate.main, argv)
    assert "action_type='vel', but the run" in err and "trained with 'rpm'" in err
    assert not (rpm_run / "evaluation.json").exists()


def test_evaluate_refuses_an_unwritable_video_before_flying(rpm_run, tmp_path, capsys, forbid):
    """Before: every episode was flown, then the write failed with a traceback."""
    (tmp_path / "file").write_text("")
    forbid((gym, "make"))
    argv = ["--run", str(rpm_run), "--video", str(tmp_path / "file" / "v.mp4")]
    assert "is a file, not a directory" in usage_error(capsys, evaluate.main, argv)


def test_evaluate_refuses_a_team_run_by_name_and_names_the_command_that_scores_it(capsys, forbid):
    """Before: Gymnasium's NameNotFound traceback (a team env is PettingZoo's, not
    gym.make's), also on the shipped team baselines."""
    forbid((gym, "make"))
    run = Path(__file__).resolve().parents[1] / "baselines" / "quad_reform_v0-ppo_shared-robust-s0"
    err = usage_error(capsys, evaluate.main, ["--run", str(run), "--out", "unused"])
    assert "multi-agent env quad_reform_v0" in err
    assert f"benchmark.py --tasks quad_reform_v0 --controllers {run}" in err


def test_evaluate_names_an_invalid_state_field(rpm_run, capsys):
    state = json.loads((rpm_run / "state.json").read_text())
    (rpm_run / "state.json").write_text(json.dumps({**state, "threads": "one"}))
    err = usage_error(capsys, evaluate.main, ["--run", str(rpm_run)])
    assert "state.json field threads is invalid: 'one'" in err


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: gym.make("QuadTrack-v0"), "QuadTrack-v0"),
        (lambda: gym.make("QuadLand-v0"), "QuadLand-v0"),
        (lambda: make_parallel_env("quad_swap_v0"), "quad_swap_v0"),
        (lambda: make_parallel_env("quad_leader_v0"), "quad_leader_v0"),
    ],
)
def test_lifecycle_errors_name_the_env_they_come_from(make, name):
    """Before: QuadTrack-v0's and the team envs' errors named QuadHover-v0 and
    quad_swarm_v0."""
    env = make()
    env.close()
    with pytest.raises(RuntimeError, match=f"^{name} is closed"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env.reset(seed=0)


@pytest.mark.parametrize("mount", [False, True])
@pytest.mark.parametrize("earlier", [False, True])
def test_a_claim_killed_at_any_step_leaves_a_directory_the_next_run_takes(tmp_path, earlier, mount):
    """claim() in a forked child, SIGKILLed before each of its file-system calls in turn
    (renames, removals, mkdir, the mark's temporary file and its rename): the output is
    absent, empty, marked or the earlier run whole (a killed write of the mark may leave its
    temporary file, which counts for nothing), and the next claim takes it. ``mount``: the
    rename aside fails (EBUSY, a mount point), so an earlier run is emptied in place. Before:
    a kill between the mark's temporary file and its rename left a directory the next run
    refused as not its own."""
    import errno
    import pathlib
    import shutil
    import signal
    import tempfile

    from quadgym import outdir

    calls = [(os, "rename"), (os, "replace"), (shutil, "rmtree"), (os, "unlink")]
    calls += [(pathlib.Path, "mkdir"), (pathlib.Path, "unlink"), (tempfile, "mkstemp")]
    step, finished = 0, False
    while not finished:
        out = tmp_path / f"out{step}"
        if earlier:
            outdir.claim(out, "me")
            (out / "results.json").write_text("{}")
        child = os.fork()
        if child == 0:  # dies at its step-th call; exits 0 if claim() finishes first
            try:
                count = [0]

                def dying(function, name, count=count, step=step, out=out):
                    def call(*args, **kwargs):
                        count[0] += 1
                        if count[0] > step:
                            os.kill(os.getpid(), signal.SIGKILL)
                        if mount and name == "rename" and Path(args[0]) == out:
                            raise OSError(errno.EBUSY, "a mount point")
                        return function(*args, **kwargs)

                    return call

                for owner, name in calls:
                    setattr(owner, name, dying(getattr(owner, name), name))
                outdir.claim(out, "me")
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(child, 0)
        assert not os.WIFEXITED(status) or os.WEXITSTATUS(status) == 0, step
        finished = os.WIFEXITED(status)
        left = set() if not out.exists() else {p.name for p in outdir._contents(out)}
        assert left in (set(), {outdir.MARK}, {outdir.MARK, "results.json"}), (step, left)
        if not earlier:
            assert "results.json" not in left
        assert outdir.claim_problem(out, "me") is None, (step, list(out.iterdir()))
        outdir.claim(out, "me")
        assert [p.name for p in out.iterdir()] == [outdir.MARK]
        step += 1
    assert step >= 4  # mkdir, the mark's temporary file, its rename, the aside's removal...
    assert {p.name for p in tmp_path.iterdir()} == {f"out{i}" for i in range(step)}


@pytest.mark.parametrize("rename_fails", [False, True])
def test_claiming_an_owned_directory_leaves_only_the_mark(tmp_path, monkeypatch, rename_fails):
    """An earlier run's files go (renamed aside in one step; emptied in place where the
    rename fails, a mount point), no aside copy is left, and the mark stays throughout."""
    from quadgym import outdir

    out = tmp_path / "bench"
    outdir.claim(out, "me")
    (out / "results.json").write_text("{}")
    (out / "plots").mkdir()
    if rename_fails:
        monkeypatch.setattr(outdir.os, "rename", lambda *a: (_ for _ in ()).throw(OSError(16)))
    outdir.claim(out, "me")
    assert [p.name for p in out.iterdir()] == [outdir.MARK]
    assert [p.name for p in tmp_path.iterdir()] == ["bench"]
    with pytest.raises(ValueError, match="was not written by other"):
        (out / "x").write_text("")
        outdir.claim(out, "other")
