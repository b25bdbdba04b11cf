"""Stable-Baselines3 algorithms as quadgym plugins: thin adapters over PPO, SAC and TD3.

Every SB3 keyword passes through the config (``learning_rate``, ``n_steps``,
``policy_kwargs``...). Extra keys: ``n_envs`` (parallel copies of the
env in a ``DummyVecEnv``, default 8 for PPO and 1 otherwise), ``num_envs``
(instead: that many lanes of the env's batched backend, ``gym.make_vec``'s
``vector_entry_point``, behind :class:`BatchedVecEnv`), ``normalize``
(wrap in ``VecNormalize`` for observations and rewards, default True) and
``env_kwargs`` (passed to ``gym.make`` for the training envs; on QuadHover-v0
the default spreads the starts, see ``HOVER_TRAIN_ENV``). ``learn``'s budget is in environment
steps; a checkpoint holds the SB3 model and the normalisation statistics in
one file.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize

from quadgym.agents.base import Algorithm, atomic_write_bytes

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

#: PPO defaults on QuadHover-v0: 8 envs × 256 steps per rollout (2048 samples, about
#: 1 s of wall clock), small [64, 64] networks (the state is 22 numbers), an initial
#: action std of e^-1 ≈ 0.37 (a std of 1 saturates the motors and flips the drone).
HOVER_PPO_DEFAULTS = {
    "n_steps": 256,
    "batch_size": 512,
    "n_epochs": 10,
    "learning_rate": 3e-4,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "policy_kwargs": {"net_arch": [64, 64], "log_std_init": -1.0},
}


class _History(BaseCallback):
    """Collects the mean return of the episodes finished in each rollout."""

    def __init__(self, sink: Callable[[dict], Any] | None):
        super().__init__()
        self.sink = sink
        self.records: list[dict] = []
        self._returns: list[float] = []

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            if "episode" in info:
                self._returns.append(float(info["episode"]["r"]))
        return True

    def _on_rollout_end(self) -> None:
        if not self._returns:
            return
        rec = {
            "timesteps": int(self.num_timesteps),
            "mean_return": float(np.mean(self._returns)),
            "episodes": len(self._returns),
        }
        self._returns = []
        self.records.append(rec)
        if self.sink is not None:
            self.sink(rec)


class BatchedVecEnv(VecEnv):
    """Stable-Baselines3's ``VecEnv`` face of a batched Gymnasium ``VectorEnv``.

    The vector env runs in ``same_step`` autoreset mode, which is SB3's
    convention: a finished lane's final observation goes into its info as
    ``terminal_observation`` and the returned observation is the reset one.
    No per-lane Python loop runs except over the lanes that just finished.
    """

    def __init__(self, venv: Any):
        from gymnasium.vector import AutoresetMode

        if venv.autoreset_mode != AutoresetMode.SAME_STEP:
            raise ValueError("BatchedVecEnv needs a vector env in 'same_step' autoreset mode")
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions = None
        self._seed = None

    def reset(self):
        obs, _ = self.venv.reset(seed=self._seed)
        self._seed = None
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, reward, term, trunc, infos = self.venv.step(self._actions)
        dones = term | trunc
        out = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            out[i]["terminal_observation"] = infos["final_obs"][i]
            out[i]["TimeLimit.truncated"] = bool(trunc[i] and not term[i])
        return obs, reward.astype(np.float32), dones, out

    def seed(self, seed: int | None = None):
        self._seed = seed
        return [seed]

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name, indices=None):
        return [getattr(self.venv, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name, value, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name, *args, indices=None, **kwargs):
        return [getattr(self.venv, method_name)(*args, **kwargs)] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False] * len(self._indices(indices))

    def _indices(self, indices):
        if indices is None:
            return range(self.num_envs)
        return [indices] if isinstance(indices, int) else indices


class SB3Algorithm(Algorithm):
    """Base of the SB3 adapters; subclasses name the SB3 class."""

    sb3_class: ClassVar[type]
    supported_envs: ClassVar[tuple[str, ...]] = ("QuadHover-v0",)
    default_n_envs: ClassVar[int] = 1

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        env_id = env if isinstance(env, str) else env.spec.id
        super().__init__(self.make_eval_env(env_id), **config)
        c = dict(config)
        seed = int(c.pop("seed", 0))
        normalize = bool(c.pop("normalize", True))
        venv, defaults = self.make_training_venv(env_id, seed, c)
        self.venv = VecNormalize(venv, gamma=c.get("gamma", 0.99)) if normalize else venv
        kwargs = {**defaults, **c}
        self.model = self.sb3_class("MlpPolicy", self.venv, seed=seed, verbose=0, **kwargs)
        self.env_id = env_id

    def make_eval_env(self, env_id: str):
        """The env a user evaluates on (``self.env``)."""
        return gym.make(env_id)

    def make_training_venv(self, env_id: str, seed: int, c: dict) -> tuple[VecEnv, dict]:
        """The SB3 ``VecEnv`` to train on and the SB3 keyword defaults; pops the
        adapter's own keys from ``c``."""
        n_envs = int(c.pop("n_envs", self.default_n_envs))
        env_kwargs = c.pop("env_kwargs", HOVER_TRAIN_ENV if env_id == "QuadHover-v0" else {})
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        num_envs = c.pop("num_envs", None)
        defaults = self.defaults(env_id)
        if num_envs is not None:  # the batched NumPy backend behind gym.make_vec
            batched = gym.make_vec(
                env_id,
                num_envs=int(num_envs),
                vectorization_mode="vector_entry_point",
                autoreset_mode="same_step",
                **env_kwargs,
            )
            venv = VecMonitor(BatchedVecEnv(batched))
            venv.seed(seed)
            if "n_steps" in defaults:
                # keep ~2048 samples per rollout whatever the number of lanes
                defaults["n_steps"] = max(16, 2048 // int(num_envs))
        else:
            venv = make_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
        return venv, defaults

    def defaults(self, env_id: str) -> dict:
        return {}

    def learn(self, budget: int, callback: Callable[[dict], Any] | None = None) -> list[dict]:
        hist = _History(callback)
        self.model.learn(int(budget), callback=hist, reset_num_timesteps=False)
        return hist.records

    def _normalize(self, observation: np.ndarray) -> np.ndarray:
        if isinstance(self.venv, VecNormalize):
            return self.venv.normalize_obs(observation)
        return observation

    def act(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        action, _ = self.model.predict(self._normalize(observation), deterministic=deterministic)
        return action

    def save(self, path: str | Path) -> None:
        model_buf = io.BytesIO()
        self.model.save(model_buf)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("quadgym.txt", f"{self.name}\n{self.env_id}\n")
            z.writestr("model.zip", model_buf.getvalue())
            if isinstance(self.venv, VecNormalize):
                z.writestr("obs_rms.pkl", pickle.dumps((self.venv.obs_rms, self.venv.ret_rms)))
        atomic_write_bytes(path, out.getvalue())

    def load(self, path: str | Path) -> None:
        try:
            with zipfile.ZipFile(path) as z:
                algo, env_id = z.read("quadgym.txt").decode().split()
                model_bytes = z.read("model.zip")
                stats = z.read("obs_rms.pkl") if "obs_rms.pkl" in z.namelist() else None
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise ValueError(f"{path} is not a readable {self.name} checkpoint: {exc}") from None
        if algo != self.name or env_id != self.env_id:
            raise ValueError(
                f"{path} is a checkpoint of {algo!r} on {env_id!r}, "
                f"not of {self.name!r} on {self.env_id!r}"
            )
        self.model = self.sb3_class.load(io.BytesIO(model_bytes), env=self.venv)
        if stats is not None and isinstance(self.venv, VecNormalize):
            self.venv.obs_rms, self.venv.ret_rms = pickle.loads(stats)  # noqa: S301 - own file


class PPOAlgorithm(SB3Algorithm):
    """Proximal Policy Optimisation (SB3)."""

    name = "ppo"
    sb3_class = PPO
    default_n_envs = 8

    def defaults(self, env_id: str) -> dict:
        return dict(HOVER_PPO_DEFAULTS) if env_id == "QuadHover-v0" else {}


class SACAlgorithm(SB3Algorithm):
    """Soft Actor-Critic (SB3)."""

    name = "sac"
    sb3_class = SAC


class TD3Algorithm(SB3Algorithm):
    """Twin Delayed DDPG (SB3)."""

    name = "td3"
    sb3_class = TD3
