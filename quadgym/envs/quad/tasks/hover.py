"""QuadHover-v0's task: reach and hold a target point. The behaviour is the task base's
(:class:`~quadgym.envs.quad.tasks.base.HoverTask`, whose protocol every task overrides);
this module is hover's declaration, a task among equals."""

from quadgym.envs.quad.tasks.base import HoverTask
from quadgym.envs.quad.tasks.spec import TaskSpec

#: Training-env defaults on QuadHover-v0: starts spread over the air around the
#: target (up to 1.5 m above the ground, ±0.5 m in xy, ±0.3 rad of tilt, ±0.5 m/s).
#: From ground starts alone, PPO settles on staying put (0.5 reward a step, no risk)
#: and never learns to fly; from the air it learns to hover first, and take-off
#: from the ground (the evaluation start) follows.
HOVER_TRAIN_ENV = {
    "start_height_noise": 1.5,
    "start_xy_noise": 0.5,
    "start_tilt_noise": 0.3,
    "start_vel_noise": 0.5,
}

#: The declaration every table derives from (tasks/spec.py).
SPEC = TaskSpec("hover", "QuadHover-v0", HoverTask, order=0, sb3={"train_env": HOVER_TRAIN_ENV})
