"""scripts/benchmark.py: every controller on the same seeded episodes, each task's metrics,
the leaderboard's intervals and bold best, controllers of the three kinds."""

import json
import math
import textwrap

import numpy as np
import pytest
from scriptload import load_script

from quadgym.evaluation import best, interval

benchmark = load_script("benchmark")

USER_CONTROLLER = '''
import numpy as np


class Idle:
    """Holds hover RPM: a user's controller of the documented interface."""

    def __init__(self, env):
        self.shape = env.action_space.shape

    def reset(self):
        pass

    def act(self, observation, deterministic=True):
        return np.zeros(self.shape, dtype=np.float32)
'''


def test_interval_and_best_by_hand():
    mean, half = interval([1.0, 2.0, 3.0, float("nan")])  # NaN (no touchdown) is left out
    assert mean == 2.0 and half == pytest.approx(4.3027 * 1.0 / math.sqrt(3), rel=1e-4)
    assert best("min", {"a": 0.2, "b": 0.1, "c": float("nan")}) == {"b"}
    assert best("max", {"a": 1.0, "b": 1.0}) == {"a", "b"}
    assert best(None, {"a": 1.0}) == set()


def test_the_pid_and_a_user_controller_on_the_same_episodes(tmp_path, monkeypatch):
    (tmp_path / "mycontrol.py").write_text(textwrap.dedent(USER_CONTROLLER))
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "bench"
    argv = ["--tasks", "QuadHover-v0", "QuadLand-v0", "--controllers", "pid", "mycontrol:Idle"]
    assert benchmark.main([*argv, "--episodes", "3", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["seeds"] == "1000-1002" and results["commit"]
    hover = results["tasks"]["QuadHover-v0"]
    assert [e["seed"] for e in hover["pid"]["episodes"]] == [1000, 1001, 1002]
    pid_error = np.mean([e["final_error"] for e in hover["pid"]["episodes"]])
    assert hover["pid"]["summary"]["final_error"][0] == pytest.approx(pid_error)
    idle = hover["mycontrol:Idle"]["summary"]
    assert idle["final_error"][0] > 0.9  # it never takes off (1 m below the target)
    board = (out / "leaderboard.md").read_text()
    row = next(line for line in board.splitlines() if line.startswith("| pid |"))
    assert row.count("**") >= 4  # the PID is best on final error and time to target
    land = results["tasks"]["QuadLand-v0"]["pid"]["summary"]
    assert land["landed"][0] == 1.0
    assert (out / "QuadHover-v0.png").stat().st_size > 1000


def test_bad_arguments_exit_before_flying(capsys):
    for argv, message in [
        (["--tasks", "QuadSwim-v0"], "unknown task"),
        (["--controllers", "no.such.module:X"], "cannot import"),
        (["--controllers", "nope"], "is not a plugin"),
        (["--episodes", "0"], "episodes"),
        (["--perturbations", "windy"], "unknown perturb preset"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            benchmark.main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def test_perturbations_reach_every_task(tmp_path):
    out = tmp_path / "harsh"
    argv = ["--tasks", "QuadHover-v0", "--episodes", "2", "--perturbations", "harsh"]
    assert benchmark.main([*argv, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["quadgym_args"]["perturbations"] == ["harsh"]
    summary = results["tasks"]["QuadHover-v0 under harsh"]["pid"]["summary"]
    assert summary["final_error"][0] > 0.1  # the PID at 30 Hz flies far worse under harsh


@pytest.mark.slow  # ~10 s
def test_parallel_workers_give_the_sequential_numbers(tmp_path):
    """The same controller on the same seeds: identical metrics whether the episodes run in
    one process or are split over two (spawned, each with its own PyBullet world). Three
    episodes: the shares are seeds 0, 2 and seed 1, so shares put back one after the other
    rather than interleaved would reorder them."""
    out = {}
    for workers in (1, 2):
        path = tmp_path / f"w{workers}"
        argv = ["--tasks", "QuadTrack-v0", "--controllers", "lqr", "--episodes", "3"]
        assert benchmark.main([*argv, "--workers", str(workers), "--out", str(path)]) == 0
        out[workers] = json.loads((path / "results.json").read_text())["tasks"]
    assert out[1]["QuadTrack-v0"]["lqr"]["episodes"] == out[2]["QuadTrack-v0"]["lqr"]["episodes"]


def test_a_missing_checkpoint_and_a_misfit_controller_give_clear_errors(tmp_path, capsys):
    import gymnasium as gym

    from quadgym.evaluation import _fitting

    run = tmp_path / "run"
    run.mkdir()
    (run / "state.json").write_text('{"env": "QuadHover-v0", "algo": "ppo", "config": {}}')
    with pytest.raises(SystemExit):
        benchmark.main(["--controllers", str(run)])
    assert "has no checkpoint.bin" in capsys.readouterr().err

    class Other:  # a controller built for pid actions, (3,)
        env = gym.make("QuadHover-v0", action_type="pid")

    with pytest.raises(ValueError, match=r"acts in Box.*\(3,\).*the task in Box.*\(4,\)"):
        _fitting("other", Other(), gym.make("QuadHover-v0"))


def untrained_run(path, **env_kwargs):
    """A run directory of an untrained ppo plugin on QuadHover-v0 (``env_kwargs`` for its
    training env), as scripts/train.py writes one."""
    import quadgym

    config = {"n_envs": 1, "n_steps": 16, "batch_size": 16, "env_kwargs": env_kwargs}
    algo = quadgym.make_algo("ppo", "QuadHover-v0", **config)
    path.mkdir()
    algo.save(path / "checkpoint.bin")
    state = {"env": "QuadHover-v0", "algo": "ppo", "config": config}
    (path / "state.json").write_text(json.dumps(state))
    return algo


def test_a_run_is_scored_through_the_action_type_it_trained_with(tmp_path):
    """``vel`` and ``rpm`` actions are both (4,): the shape check alone would fly a velocity
    policy as motor speeds. The run's ``env_kwargs`` action_type reaches its own env and the
    env it is scored on; an env with another action type is refused, naming both."""
    import gymnasium as gym

    import quadgym
    from quadgym.evaluation import _fitting, controller_interface, load_controller, score_many

    run = tmp_path / "run"
    algo = untrained_run(run, action_type="vel")
    assert algo.env.unwrapped.config.action_type == "vel"
    assert controller_interface(str(run)) == {"action_type": "vel"}
    assert controller_interface("pid") == {}
    with pytest.raises(ValueError, match=r"action_type='vel', the env has action_type='rpm'"):
        load_controller(str(run), gym.make("QuadHover-v0"))
    pid = quadgym.make_algo("pid", "QuadHover-v0")
    with pytest.raises(ValueError, match=r"action_type='rpm', the env has action_type='vel'"):
        _fitting("pid", pid, gym.make("QuadHover-v0", action_type="vel"))
    (episode,) = score_many("QuadHover-v0", str(run), [1000])
    assert episode.metrics["seconds"] > 0


def test_a_run_is_left_out_of_other_tasks_tables(tmp_path):
    run = tmp_path / "hover-run"
    untrained_run(run)
    out = tmp_path / "bench"
    argv = ["--tasks", "QuadHover-v0", "QuadLand-v0", "--controllers", "pid", str(run)]
    assert benchmark.main([*argv, "--episodes", "1", "--out", str(out)]) == 0
    tasks = json.loads((out / "results.json").read_text())["tasks"]
    assert "summary" in tasks["QuadHover-v0"][str(run)]
    assert "trained on QuadHover-v0" in tasks["QuadLand-v0"][str(run)]["skipped"]
    hover, land = (out / "leaderboard.md").read_text().split("## QuadLand-v0")
    assert "| hover-run |" in hover and "hover-run" not in land  # the run's short label


def test_ppo_shared_evaluates_with_the_action_type_it_trains_with():
    import quadgym

    algo = quadgym.make_algo(
        "ppo_shared", "quad_swap_v0", num_drones=2, n_swarms=1, env_kwargs={"action_type": "vel"}
    )
    assert algo.env.action_space(algo.env.possible_agents[0]).shape == (4,)
    assert algo.env.config.action_type == "vel"
    with pytest.raises(ValueError, match=r"eval_env_kwargs: action_type='pid' would change"):
        quadgym.make_algo(
            "ppo_shared", "quad_swap_v0", num_drones=2, eval_env_kwargs={"action_type": "pid"}
        )


def test_the_multi_agent_tasks_are_scored_for_the_whole_team(tmp_path, monkeypatch):
    """A PettingZoo task: the pid plugin acts for every drone; a user's controller class
    is built on the ParallelEnv and acts on dicts; the team's metrics (completed,
    collisions, worst final error) come from the task's summarize_team."""
    team_controller = USER_CONTROLLER.replace(
        "self.shape = env.action_space.shape", "self.shape = (4,)"
    ).replace(
        "return np.zeros(self.shape, dtype=np.float32)",
        "return {a: np.zeros(self.shape, dtype=np.float32) for a in observation}",
    )
    (tmp_path / "teamcontrol.py").write_text(textwrap.dedent(team_controller))
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "bench"
    argv = ["--tasks", "quad_swap_v0", "--controllers", "pid", "teamcontrol:Idle"]
    assert benchmark.main([*argv, "--episodes", "2", "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())["tasks"]["quad_swap_v0"]
    assert rows["pid"]["summary"]["completed"][0] == 1.0
    assert rows["pid"]["goals"]["completed"] == "max"
    idle = rows["teamcontrol:Idle"]["summary"]  # hover RPM: nobody moves, nobody collides
    assert idle["completed"][0] == 0.0 and idle["collided"][0] == 0.0
    assert idle["max_final_error"][0] == pytest.approx(np.sqrt(0.5), abs=0.05)  # the diagonal
    assert "| pid | **1.000" in (out / "leaderboard.md").read_text()


@pytest.mark.ray
@pytest.mark.slow  # Ray's start: ~10 s on 2 cores
def test_ray_tasks_give_the_sequential_numbers(tmp_path, ray_alone):
    """--executor ray: the shares run as tasks of an embedded local Ray; the metrics are the
    sequential run's, on a single-drone and a multi-agent task."""
    pytest.importorskip("ray")
    out = {}
    for extra in ([], ["--workers", "2", "--executor", "ray"]):
        path = tmp_path / ("ray" if extra else "one")
        argv = ["--tasks", "QuadTrack-v0", "quad_swap_v0", "--controllers", "lqr"]
        assert benchmark.main([*argv, "--episodes", "3", *extra, "--out", str(path)]) == 0
        out[bool(extra)] = json.loads((path / "results.json").read_text())["tasks"]
    for task in ("QuadTrack-v0", "quad_swap_v0"):
        assert out[True][task]["lqr"]["episodes"] == out[False][task]["lqr"]["episodes"]


def test_ray_arguments_are_checked_before_flying(capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--address", "127.0.0.1:6379"])
    assert "--address is the Ray cluster of --executor ray" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        benchmark.main(["--executor", "dask"])
    assert "executor" in capsys.readouterr().err


def test_a_run_keeps_the_observations_it_trained_on(tmp_path):
    """A policy of "kin" observations cannot read "kin+rgb" ones: obs_type is an interface
    key, carried from the run's env_kwargs and refused when the env differs."""
    import gymnasium as gym

    from quadgym.evaluation import controller_interface, load_controller

    run = tmp_path / "run"
    untrained_run(run, obs_type="kin")
    assert controller_interface(str(run)) == {"obs_type": "kin"}
    with pytest.raises(ValueError, match=r"obs_type='kin', the env has obs_type='kin\+rgb'"):
        load_controller(str(run), gym.make("QuadHover-v0", obs_type="kin+rgb"))


def test_the_table_never_bolds_a_crash_and_names_units_labels_and_directions():
    """A controller that crashed is bold nowhere (not even for its low effort); a metric
    every episode scored the same is shown without ``± 0.000``; each table has a legend
    of units and directions; a run directory is labelled by what follows its env id."""
    summary = {
        "pid": {"final_error": (0.04, 0.01), "crashed": (0.0, 0.0), "effort": (35.0, 0.1)},
        "baselines/QuadHover-v0-ppo-s0": {
            "final_error": (1.4, 0.3),
            "crashed": (1.0, 0.0),
            "effort": (9.9, 1.9),
        },
    }
    goals = {"final_error": "min", "crashed": "min", "effort": "min"}
    rows = {c: {"summary": s, "goals": goals} for c, s in summary.items()}
    results = {"command": "x", "commit": "c", "episodes": 20, "seeds": "1-20", "tasks": {}}
    results["tasks"]["QuadHover-v0 under mild"] = rows
    board = benchmark.leaderboard(results)
    pid = next(line for line in board.splitlines() if line.startswith("| pid |"))
    ppo = next(line for line in board.splitlines() if line.startswith("| ppo-s0 |"))
    assert "**" not in ppo and pid.count("**") == 6  # the PID's three cells, bold
    assert "± 0.000" not in board and "| **0.000** |" in pid
    assert benchmark.cell(0.0, 2e-5) == "0.000 ± 2e-05" and benchmark.cell(1.0, 0.0) == "1.000"
    assert "final_error: m; lower is better" in board
    assert benchmark.label("mypkg.control:MyController") == "MyController"


def test_a_held_out_airframe_is_a_section_of_its_own(tmp_path, capsys):
    """--drone-models cf2p flies every controller on the cf2p too (its own section, the
    cf2p's mass in the env); an unknown airframe is refused before anything flies."""
    out = tmp_path / "models"
    argv = ["--tasks", "QuadHover-v0", "--episodes", "1", "--drone-models", "cf2x", "cf2p"]
    assert benchmark.main([*argv, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["tasks"]) == {"QuadHover-v0", "QuadHover-v0 on cf2p"}
    cf2p = results["tasks"]["QuadHover-v0 on cf2p"]["pid"]["summary"]
    assert cf2p["crashed"][0] == 0.0 and cf2p["final_error"][0] < 0.1
    with pytest.raises(SystemExit):
        benchmark.main(["--drone-models", "cf3", "--out", str(tmp_path / "x")])
    assert "unknown ['cf3']; allowed: cf2x, cf2p, race" in capsys.readouterr().err


def test_the_console_table_keeps_its_columns_apart(tmp_path, capsys):
    """Issue 34's console row ``baselines/QuadHover-v0-ppo-s0final_error``: a controller is
    printed by its short label, and a label longer than its column still leaves a space."""
    long = "ppo-" + "x" * 30  # a label past the column's 28 characters
    run = tmp_path / f"QuadHover-v0-{long}"
    untrained_run(run)
    argv = ["--tasks", "QuadHover-v0", "--controllers", str(run), "--episodes", "1"]
    assert benchmark.main([*argv, "--out", str(tmp_path / "bench")]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "final_error" in line]
    assert rows and all(
        line.split()[:4] == ["QuadHover-v0", "none", long, "final_error"] for line in rows
    )
