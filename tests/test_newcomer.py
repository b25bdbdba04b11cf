"""What a new user meets first (issue 34): each test names the friction it removes."""

import argparse

import gymnasium as gym
import numpy as np
import pytest
from scriptload import load_script

from quadgym.envs.quad.tasks.suite import TASKS


def test_evaluate_writes_into_results_by_default_not_into_the_run():
    """Before: evaluation.json/.png and onboard.* went into the run (a shipped baseline)."""
    out_dir = load_script("evaluate").out_dir
    shipped = argparse.Namespace(run="baselines/QuadHover-v0-ppo-s0", out=None)
    assert str(out_dir(shipped)) == "results/evaluate/QuadHover-v0-ppo-s0"
    asked = argparse.Namespace(run="baselines/QuadHover-v0-ppo-s0", out="elsewhere")
    assert str(out_dir(asked)) == "elsewhere"


# a summary that is hover's success (0.05 m, uncrashed) but not the task's, and back
NOT_DONE = {"completed": 0.0, "landed": 0.0, "reached": 0.0, "rms_error": 0.3}
DONE = {"completed": 1.0, "landed": 1.0, "reached": 1.0, "rms_error": 0.05}


@pytest.mark.parametrize("name", ["track", "land", "gates", "visual_reach"])
def test_each_task_judges_success_by_its_own_rule(name):
    """Before: evaluate.py's success rate was hover's rule (final error < 0.10 m) on every
    task: gates printed success 0.40 beside completed 0.800."""
    task_class = TASKS[name][0]
    near = {"final_error": 0.05, "crashed": 0.0}
    far = {"final_error": 0.5, "crashed": 0.0}
    assert not task_class.success(None, {**near, **NOT_DONE})
    assert task_class.success(None, {**far, **DONE})
    assert task_class.success_rule != TASKS["hover"][0].success_rule


def test_hover_success_is_near_and_uncrashed():
    hover = TASKS["hover"][0]
    assert hover.success(None, {"final_error": 0.05, "crashed": 0.0})
    assert not hover.success(None, {"final_error": 0.05, "crashed": 1.0})
    assert not hover.success(None, {"final_error": np.float64(0.1), "crashed": 0.0})


@pytest.mark.parametrize(
    "make, error, wanted",
    [
        (
            lambda: __import__("gymnasium").make("QuadHover-v0", drone_modle="cf2x"),
            TypeError,
            "did you mean 'drone_model'?",
        ),
        (
            lambda: __import__("gymnasium").make("QuadTrack-v0", drone_modle="cf2x"),
            ValueError,
            "did you mean 'drone_model'?",
        ),
        (lambda: swarm().parallel_env(num_drone=4), TypeError, "did you mean 'num_drones'?"),
    ],
    ids=["single-hover", "single-track", "swarm"],
)
def test_a_misspelt_env_argument_gets_the_closest_name(forbid, make, error, wanted):
    """Before: 'the hover task takes no options of its own' (nothing on drone_model), and
    the swarm's num_drone was answered in the hover task's terms."""
    from quadgym.envs.quad.sim.world import World

    forbid((World, "__init__"))  # refused before a world is made
    with pytest.raises(error, match=wanted):
        make()


def swarm():
    from quadgym.envs import quad_swarm_v0

    return quad_swarm_v0


def test_the_readmes_sb3_snippet_runs_torch_on_one_thread():
    """Before: the PettingZoo/SuperSuit/SB3 snippet ran at 79 fps on 2 cores (116 s for 4,096
    steps; 1.4 s with one thread): torch's default threads fought the env (friction 2)."""
    import re
    import textwrap
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    (snippet,) = [b for b in blocks if "supersuit" in b]
    snippet = textwrap.dedent(snippet)
    compile(snippet, "README", "exec")
    assert 0 <= snippet.find("torch.set_num_threads(1)") < snippet.find(".learn(")


def test_check_env_passes_headless(monkeypatch):
    """Before: Gymnasium's check_env made an env per listed render mode, 'human' among them,
    and failed without a display (friction 8)."""
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    monkeypatch.delenv("DISPLAY", raising=False)
    env = gym.make("QuadHover-v0", render_mode="rgb_array", episode_seconds=0.5)
    assert env.unwrapped.metadata["render_modes"] == ["rgb_array"]
    check_env(env.unwrapped)
    env.close()
    monkeypatch.setenv("DISPLAY", ":0")  # with a display the GUI is offered (not opened here)
    with gym.make("QuadHover-v0") as env:
        assert env.unwrapped.metadata["render_modes"] == ["rgb_array", "human"]


def test_fly_gui_without_a_display_is_a_usage_error(monkeypatch, capsys):
    """Before: a traceback from inside the World."""
    from quadgym.commands import main

    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["fly", "--gui"]) == 2
    assert "--gui needs a display and DISPLAY is not set" in capsys.readouterr().err


def test_the_pid_flies_a_kin_plus_rgb_observation_as_it_flies_kin():
    """Before: ``float() argument must be ... not 'dict'`` (friction 9). The same seeded
    episode, with and without the image beside the kinematics, gets the same actions."""
    import gymnasium as gym

    import quadgym

    actions = {}
    for obs_type in ("kin", "kin+rgb"):
        env = gym.make("QuadHover-v0", obs_type=obs_type, episode_seconds=0.3)
        pid = quadgym.make_algo("pid", env)
        obs, _ = env.reset(seed=3)
        actions[obs_type] = []
        for _ in range(5):
            actions[obs_type].append(pid.act(obs))
            obs, *_ = env.step(actions[obs_type][-1])
        env.close()
    np.testing.assert_array_equal(actions["kin"], actions["kin+rgb"])


def test_the_pid_names_an_observation_without_kinematics():
    from quadgym.agents.model_based.base import kinematics

    with pytest.raises(ValueError, match="holds only rgb: use obs_type='kin"):
        kinematics({"rgb": np.zeros((2, 2, 3))})


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--algo", "ppo", "--metric", "kl_to_optimal"],
            "--metric 'kl_to_optimal': ppo on QuadHover-v0 logs ",
        ),
        (["--algo", "pid"], "pid logs no metrics"),
        (["--algo", "kd", "--env", "HardShift-v0"], "kd has no headline metric"),
    ],
)
def test_tune_checks_the_metric_before_ray_starts(argv, message, capsys):
    """Before: ``did not include the specified metric `mean_return``` from inside Ray."""
    tune = load_script("tune")
    base = ["--env", "QuadHover-v0", "--steps", "10", "--out", "/nonexistent/never"]
    with pytest.raises(SystemExit) as exit_info:
        tune.main([*base, *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_tune_defaults_to_the_plugins_headline_metric():
    from quadgym.cli import parse_args

    tune = load_script("tune")
    args = parse_args(tune.Args, None, ["--env", "CoPGBandit-v0", "--algo", "copg"])
    assert tune.metric_and_mode(args) == ("loss", "min")
    args = parse_args(tune.Args, None, ["--env", "QuadHover-v0", "--algo", "ppo"])
    assert tune.metric_and_mode(args) == ("mean_return", "max")
    given = ["--env", "CoPGBandit-v0", "--algo", "copg", "--metric", "regret", "--mode", "min"]
    assert tune.metric_and_mode(parse_args(tune.Args, None, given)) == ("regret", "min")


def test_every_onboard_tile_names_its_part():
    """Before: only "drone i" on the row's first tile; the depth and seg tiles unnamed
    (friction 9). Unlabelled, no tile here has a white pixel (black rgb, a 5 m depth's
    colour, the ground's grey): the white is the label's text."""
    from quadgym.envs.quad.sensors.camera_model import CameraModel
    from quadgym.envs.quad.sensors.pictures import GAP, colour_depth, colour_seg, panel

    model = CameraModel()
    images = {
        "rgb": np.zeros((1, 48, 64, 3), np.uint8),
        "depth": np.full((1, 48, 64, 1), 5.0, np.float32),
        "seg": np.ones((1, 48, 64, 1), np.int32),
    }
    assert not (colour_depth(images["depth"][0], model) == 255).all(axis=-1).any()
    assert not (colour_seg(images["seg"][0], 1) == 255).all(axis=-1).any()
    row = panel(np.zeros((288, 384, 3), np.uint8), images, model)[288 + GAP :]
    for k in range(3):
        tile = row[:, k * 128 : (k + 1) * 128]
        assert (tile[:16] == 255).all(axis=-1).any(), k
        assert not (tile[20:] == 255).all(axis=-1).any(), k  # the label only, in the corner


def test_gymnasiums_record_video_films_an_env_with_what_the_viz_extra_installs(tmp_path):
    """Before: RecordVideo raised "MoviePy is not installed" (friction 9); the ``[viz]``
    extra now brings moviepy. Two episodes of 5 control steps, both filmed at 640x480."""
    import imageio.v2 as imageio
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(
        gym.make("QuadHover-v0", render_mode="rgb_array", episode_seconds=5 / 30),
        str(tmp_path),
        episode_trigger=lambda episode: True,
        disable_logger=True,
    )
    for seed in (0, 1):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated
    env.close()
    videos = sorted(tmp_path.glob("*.mp4"))
    assert [v.name for v in videos] == ["rl-video-episode-0.mp4", "rl-video-episode-1.mp4"]
    frames = imageio.mimread(videos[0])
    # the reset's frame and 5 steps' were filmed; moviepy 2.2 writes a 0.17 s clip of 5 frames
    assert len(frames) in (5, 6) and frames[0].shape == (480, 640, 3)
