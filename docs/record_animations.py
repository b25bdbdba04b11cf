"""An animation of every drone task flown by the PID, for the documentation site:

    python docs/record_animations.py            # docs/img/tasks/<env id>.gif, about a minute each

Each is the task's first evaluation episodes (seeds 1000, 1001, ..., as ``quadgym
evaluate`` flies them, one after another until its seconds are filmed) on the registered
defaults, filmed by the env's own third-person camera (``render_mode="rgb_array"`` at
``render_width=320, render_height=240``, to keep the GIFs small) at 10 frames per second.
The PID is the one controller that flies every task it can see (the team tasks through the
``pid`` plugin's planner, one agent for the team), so those pictures show the tasks, not a
trained policy. Visual reach hides the target from the kinematic observation, so the PID
cannot fly it: it is flown by the shipped pixel policy
(``baselines/QuadVisualReach-v0-ppo-s1``). ``docs/build_site.py`` puts each GIF at the top
of its env's page.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "img" / "tasks"
#: env id -> (keyword arguments, seconds filmed).
TASKS = {
    "QuadHover-v0": ({}, 4.0),
    "QuadTrack-v0": ({"action_type": "pid"}, 6.0),
    "QuadLand-v0": ({"action_type": "pid"}, 4.0),
    "QuadGates-v0": ({"action_type": "pid"}, 8.0),
    "QuadVisualReach-v0": ({}, 4.0),  # flown by RUNS' policy
    "quad_swarm_v0": ({"action_type": "pid"}, 4.0),
    "quad_swap_v0": ({"action_type": "pid"}, 8.0),
    "quad_reform_v0": ({"action_type": "pid"}, 8.0),
    "quad_leader_v0": ({"action_type": "pid"}, 8.0),
}
#: env id -> the run directory that flies it, where the PID cannot.
RUNS = {
    "QuadVisualReach-v0": Path(__file__).resolve().parents[1]
    / "baselines"
    / "QuadVisualReach-v0-ppo-s1"
}
#: env id -> who flies it in its GIF, as its page says (the PID where not named).
PILOTS = {"QuadVisualReach-v0": "the shipped pixel policy"}
#: Frames per second of the GIFs, and their size, pixels.
FPS = 10
SIZE = {"render_width": 320, "render_height": 240}


def record(env_id: str, kwargs: dict, seconds: float, out: Path) -> int:
    """Fly and film one episode; the number of frames written."""
    import gymnasium as gym
    import imageio.v2 as imageio

    import quadgym
    from quadgym.evaluation import controller_interface
    from quadgym.registry import PARALLEL_ENVS, make_parallel_env
    from quadgym.runs.load import load_run

    team = env_id in PARALLEL_ENVS
    make = make_parallel_env if team else gym.make
    if env_id in RUNS:
        _, pid = load_run(RUNS[env_id])
        kwargs = {**controller_interface(str(RUNS[env_id])), **kwargs}
    env = make(env_id, render_mode="rgb_array", **SIZE, **kwargs)
    if env_id not in RUNS:
        pid = quadgym.make_algo("pid", env)
    hz = env.unwrapped.task.control_hz
    seed = 1000
    obs, _ = env.reset(seed=seed)
    pid.reset()
    every = max(1, round(hz / FPS))
    frames = [env.render()]
    for step in range(1, int(seconds * hz) + 1):
        obs, _, terminated, truncated, _ = env.step(pid.act(obs, deterministic=True))
        if step % every == 0:
            frames.append(env.render())
        if (not env.agents) if team else (terminated or truncated):
            seed += 1  # an episode shorter than the film (a reach): the next one
            obs, _ = env.reset(seed=seed)
            pid.reset()
    env.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimwrite(out, frames, duration=1000 / FPS, loop=0)
    return len(frames)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    args = parser.parse_args(argv)
    for env_id in args.tasks:
        kwargs, seconds = TASKS[env_id]
        count = record(env_id, kwargs, seconds, OUT / f"{env_id}.gif")
        print(f"{OUT / f'{env_id}.gif'}: {count} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
