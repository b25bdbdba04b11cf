"""An animation of every drone task flown by the PID, for the documentation site:

    python docs/record_animations.py            # docs/img/tasks/<env id>.gif, about a minute each

Each is the task's first evaluation episode (seed 1000, as ``quadgym evaluate`` flies it) on
the registered defaults, filmed by the env's own third-person camera (``render_mode=
"rgb_array"``, 320x240) at 10 frames per second, cut at ``--seconds``. The PID is the one
controller that flies every task, so the pictures show the tasks, not a trained policy.
``docs/build_site.py`` puts each GIF at the top of its env's page.
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
}
FPS = 10


def record(env_id: str, kwargs: dict, seconds: float, out: Path) -> int:
    """Fly and film one episode; the number of frames written."""
    import gymnasium as gym
    import imageio.v2 as imageio

    import quadgym

    env = gym.make(env_id, render_mode="rgb_array", **kwargs)
    pid = quadgym.make_algo("pid", env)
    obs, _ = env.reset(seed=1000)
    pid.reset()
    every = max(1, round(env.unwrapped.task.control_hz / FPS))
    frames = [env.render()]
    for step in range(1, int(seconds * env.unwrapped.task.control_hz) + 1):
        obs, _, terminated, truncated, _ = env.step(pid.act(obs))
        if step % every == 0:
            frames.append(env.render())
        if terminated or truncated:
            break
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
