"""Stable-Baselines3 algorithms as quadgym plugins: thin adapters over PPO, SAC and TD3.

The config (:class:`PPOConfig`, :class:`SACConfig`, :class:`TD3Config`) holds the
adapter's own keys: ``n_envs`` (copies of the env in a ``DummyVecEnv``, or each in a
process of its own, ``SubprocVecEnv``, where the env's ``ENV_DEFAULTS`` entry says so),
``num_envs`` (instead: that many lanes of the env's batched backend,
``gym.make_vec``'s ``vector_entry_point``, behind :class:`BatchedVecEnv`),
``normalize`` (``VecNormalize`` of observations and returns) and ``env_kwargs``
(``gym.make`` keywords of the training envs; None: the env's entry of
:data:`~quadgym.agents.sb3.config.ENV_DEFAULTS`, which on QuadHover-v0 spreads
the starts); the commonly tuned SB3 hyper-parameters as typed fields (None: for
PPO the env's defaults in that table, on copies or on the batched backend; SB3's
own otherwise); and ``sb3_kwargs``, any other keyword of the SB3 class, checked
against its ``__init__`` before anything is built. The table's ids
(QuadHover-v0, QuadTrack-v0, QuadLand-v0, QuadGates-v0, QuadVisualReach-v0) are the
envs the adapters support.

Observations choose SB3's policy class (:func:`policy_for`): ``MultiInputPolicy`` for
a ``Dict`` (``obs_type="kin+rgb"``), ``CnnPolicy`` for an RGB image, ``MlpPolicy``
otherwise; ``VecNormalize`` normalises only the vector parts (:func:`vector_keys`), never
an image. SAC and TD3 on images need an explicit ``buffer_size`` (SB3's default buffer
of them would not fit in memory).

``learn``'s budget is in environment steps (agent-steps for ``ppo_shared``);
SB3 finishes the rollout it is in, so a call may consume a little more, and
:attr:`SB3Algorithm.progress` (the model's ``num_timesteps``) says how much.
Records carry the mean return of the episodes finished since the previous
record: one per rollout that finished any, and one closing each ``learn`` call.
A checkpoint holds the model's weights, optimiser states and step counters and the
normalisation statistics as tensors in one file (:mod:`quadgym.agents.sb3.state`), never a
pickle.
"""

from __future__ import annotations

import multiprocessing
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    SubprocVecEnv,
    VecEnv,
    VecMonitor,
    VecNormalize,
    VecTransposeImage,
)

from quadgym.agents.base import Algorithm, BudgetUnit
from quadgym.agents.checkpoint import read_checkpoint, write_checkpoint
from quadgym.agents.sb3.asymmetric import AsymmetricPolicy
from quadgym.agents.sb3.config import (
    ENV_DEFAULTS,
    PPOConfig,
    SACConfig,
    SB3Config,
    TD3Config,
    sb3_keywords,
)
from quadgym.agents.sb3.recipes import PrecisionBonus, SmoothnessPenalty
from quadgym.agents.sb3.state import model_state, restore_model_state
from quadgym.agents.schedule import cosine_factor
from quadgym.envs.quad.episode import PRIVILEGED
from quadgym.envs.quad.vector import LANE_INFO
from quadgym.registry import base_id


def policy_for(space: gym.Space) -> str:
    """SB3's policy class for observations in ``space``: ``"MultiInputPolicy"`` for a
    ``Dict``, ``"CnnPolicy"`` for an image ``Box`` (SB3's ``is_image_space``: uint8,
    0-255, 1 or 3 or 4 channels), ``"MlpPolicy"`` otherwise (vectors, and depth or
    segmentation images, which SB3's ``MlpPolicy`` flattens)."""
    if isinstance(space, spaces.Dict):
        return "MultiInputPolicy"
    if is_image_space(space):
        return "CnnPolicy"
    return "MlpPolicy"


def vector_keys(space: gym.Space) -> list[str] | None:
    """The keys of a ``Dict`` observation ``VecNormalize`` may normalise: its 1-D ``Box``
    es (``kin``), not its images (rgb, depth, seg: pixels keep their scale, and the CNN
    sees what the camera saw). None for a space that is not a ``Dict``."""
    if not isinstance(space, spaces.Dict):
        return None
    return [k for k, s in space.spaces.items() if isinstance(s, spaces.Box) and len(s.shape) == 1]


def normalizes(space: gym.Space) -> bool:
    """Whether ``VecNormalize`` normalises observations in ``space`` at all: a vector, or
    a ``Dict`` with a vector key; never a pure image (an array of 2 or more axes)."""
    keys = vector_keys(space)
    if keys is not None:
        return bool(keys)
    return not (isinstance(space, spaces.Box) and len(space.shape) >= 2)


def channels_first(venv: VecEnv) -> VecEnv:
    """``venv`` with its images channels first (SB3's ``VecTransposeImage``), as SB3's
    CNNs take them. Done here, under ``VecNormalize``, rather than by SB3 on top of it:
    SAC and TD3 store ``VecNormalize``'s original observations in their replay buffer,
    which must then be transposed already."""
    space = venv.observation_space
    parts = space.spaces.values() if isinstance(space, spaces.Dict) else [space]
    if any(is_image_space(s) and not is_image_space_channels_first(s) for s in parts):
        return VecTransposeImage(venv)
    return venv


def replay_bytes(space: gym.Space, transitions: int) -> int:
    """Bytes an SB3 replay buffer of ``transitions`` holds for observations in ``space``
    (each transition's observation and next observation)."""
    parts = space.spaces.values() if isinstance(space, spaces.Dict) else [space]
    one = sum(int(np.prod(s.shape)) * np.dtype(s.dtype).itemsize for s in parts)
    return 2 * transitions * one


def make_copy(env_id: str, **kwargs: Any) -> gym.Env:
    """``gym.make(env_id, **kwargs)`` after ``import quadgym``: what a copy of the env
    runs in its own process (a fresh interpreter knows quadgym's ids only once it is
    imported, which importing this module does)."""
    return gym.make(env_id, **kwargs)


def _close_workers(remotes: list, processes: list) -> None:
    """Stop a ``SubprocVecEnv``'s workers (its ``close()`` without the object)."""
    for remote in remotes:
        try:
            remote.send(("close", None))
        except (BrokenPipeError, EOFError, OSError):
            pass
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()


class _Records(BaseCallback):
    """Emits the mean return of the episodes finished since the last record: after
    each rollout that finished any, and once more at the end of a ``learn`` call if
    steps were taken since."""

    def __init__(self, emit: Callable[[dict], None]):
        super().__init__()
        self.emit = emit
        self._returns: list[float] = []
        self._position = 0

    def _on_training_start(self) -> None:
        self._position = self.model.num_timesteps

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            if "episode" in info:
                self._returns.append(float(info["episode"]["r"]))
        return True

    def _on_rollout_end(self) -> None:
        if self._returns:
            self._record()

    def _on_training_end(self) -> None:
        if self.model.num_timesteps > self._position:
            self._record()

    def _record(self) -> None:
        returns, self._returns = self._returns, []
        self._position = self.model.num_timesteps
        mean = float(np.mean(returns)) if returns else float("nan")
        self.emit({"mean_return": mean, "episodes": len(returns)})


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
        for key in LANE_INFO:  # the lanes' columns, as each env's own info
            if key in infos:
                for info, value in zip(out, infos[key].tolist(), strict=True):
                    info[key] = value
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
    """Base of the SB3 adapters; subclasses name their ``Config`` (which names the SB3 class).

    The env needs no capability beyond Gymnasium's (``requires`` is empty) and a
    registered id, from which the training envs are built; ``supported_envs`` lists
    the envs the registry pairs the adapters with: those of
    :data:`~quadgym.agents.sb3.config.ENV_DEFAULTS`, whose defaults are tuned there.
    """

    Config: ClassVar[type[SB3Config]] = SB3Config
    budget_unit = BudgetUnit.ENV_STEPS
    supported_envs: ClassVar[tuple[str, ...]] = tuple(ENV_DEFAULTS)
    headline = ("mean_return", "max")
    logged = ("mean_return", "episodes")  # _Records
    config: SB3Config

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.env_id = self._env_id(env)
        self._call_end = 0  # the end of the current learn call: the default horizon
        venv = self.make_training_venv(self.env_id)
        smooth = getattr(self.config, "action_smoothness", 0.0)
        if smooth:  # a recipe of the training envs (quadgym.agents.sb3.recipes)
            venv = SmoothnessPenalty(venv, smooth)
        precise = getattr(self.config, "precision_bonus", 0.0)
        if precise:
            venv = PrecisionBonus(
                venv,
                precise,
                self.config.precision_radius,
                self.config.precision_warmup,
                clock=lambda: self.model.num_timesteps,
            )
        try:
            venv = channels_first(venv)
            space = venv.observation_space
            self.check_observations(space)
            kwargs = {"verbose": 0, **self.sb3_defaults(self.env_id, venv)}
            kwargs.update(self.config.sb3_arguments())
            accepted = sb3_keywords(self.config.sb3_class)
            if getattr(self.config, "schedule", "constant") == "cosine":
                peak = kwargs.get("learning_rate", accepted["learning_rate"].default)
                kwargs["learning_rate"] = self.cosine_rate(peak)
            if self.config.normalize:
                gamma = kwargs.get("gamma", accepted["gamma"].default)
                venv = VecNormalize(
                    venv, gamma=gamma, norm_obs=normalizes(space), norm_obs_keys=vector_keys(space)
                )
            self.venv = venv
            policy = policy_for(space)
            if self.asymmetric:
                policy = self.asymmetric_policy(space, kwargs)
            self.model = self.config.sb3_class(policy, self.venv, **kwargs)
        except BaseException:
            venv.close()
            raise

    @property
    def asymmetric(self) -> bool:
        """Whether the critic reads privileged columns the actor drops (``asymmetric_critic``)."""
        return bool(getattr(self.config, "asymmetric_critic", False))

    def asymmetric_policy(self, space: gym.Space, kwargs: dict[str, Any]) -> type:
        """:class:`~quadgym.agents.sb3.asymmetric.AsymmetricPolicy`, its ``privileged_dim``
        put in ``kwargs``' ``policy_kwargs``.

        Raises:
            ValueError: observations that are not one vector (images, a Dict).
        """
        if not (isinstance(space, spaces.Box) and len(space.shape) == 1):
            raise ValueError(
                f"{self.name}: asymmetric_critic needs vector observations (obs_type='kin'), "
                f"got {space}"
            )
        kwargs["policy_kwargs"] = {
            **(kwargs.get("policy_kwargs") or {}),
            "privileged_dim": len(PRIVILEGED),
        }
        return AsymmetricPolicy

    def critic_columns(self, env_kwargs: dict[str, Any]) -> dict[str, Any]:
        """The training envs' keywords ``env_kwargs``, with ``asymmetric_critic`` those that
        append the critic's privileged columns (``privileged=True``; never the actor's)."""
        return {**env_kwargs, "privileged": True} if self.asymmetric else env_kwargs

    def actor_view(self, observation: Any) -> Any:
        """``observation`` as the model takes it: with ``asymmetric_critic`` an env's own
        observation (without the privileged columns) is padded with zeros to the training
        width; the actor never reads those columns, so they change no action."""
        if not self.asymmetric:
            return observation
        observation = np.asarray(observation)
        width = self.model.observation_space.shape[0]
        if observation.shape[-1] == width - len(PRIVILEGED):
            pad = np.zeros((*observation.shape[:-1], len(PRIVILEGED)), observation.dtype)
            observation = np.concatenate([observation, pad], -1)
        return observation

    def check_observations(self, space: gym.Space) -> None:
        """Refuse observations the plugin cannot train on (see :class:`OffPolicyAlgorithm`)."""

    def close(self) -> None:
        """Close the training envs (their worker processes, if any)."""
        self.venv.close()

    def _env_id(self, env: str | gym.Env) -> str:
        """The id the training envs are built from (a ``gym.make`` env carries it).

        Raises:
            ValueError: ``env`` is an instance built without the registry.
        """
        if isinstance(env, str):
            return base_id(env)
        if env.spec is None:
            raise ValueError(f"{self.name!r} builds its training envs from an env id: pass one")
        return base_id(env.spec.id)

    def default_copies(self, env_id: str) -> int:
        """Copies of the env where the config's ``n_envs`` is None (PPO's: the env's)."""
        return 1

    def make_training_venv(self, env_id: str) -> VecEnv:
        """The SB3 ``VecEnv`` to train on: ``n_envs`` copies (each in a process of its own
        where ``ENV_DEFAULTS`` says ``subprocess``), or ``num_envs`` lanes of the batched
        backend; ``env_kwargs`` None: the env's defaults in ``ENV_DEFAULTS``."""
        c = self.config
        defaults = ENV_DEFAULTS.get(env_id)
        env_kwargs = c.env_kwargs
        if env_kwargs is None:
            env_kwargs = defaults.train_env if defaults is not None else {}
        env_kwargs = self.critic_columns(env_kwargs)
        if c.num_envs is None:
            copies = c.n_envs if c.n_envs is not None else self.default_copies(env_id)
            apart = defaults is not None and defaults.subprocess and copies > 1
            if apart and "forkserver" in multiprocessing.get_all_start_methods():
                # SB3 starts its workers from a fork server: one that has imported quadgym
                # (torch, SB3, PyBullet) forks each ready to build its env (~6 s saved here)
                multiprocessing.get_context("forkserver").set_forkserver_preload([__name__])
            venv = make_vec_env(
                make_copy,
                n_envs=copies,
                seed=c.seed,
                env_kwargs={"env_id": env_id, **env_kwargs},
                vec_env_cls=SubprocVecEnv if apart else DummyVecEnv,
            )
            if apart:  # a plugin dropped without close() still stops its workers
                weakref.finalize(self, _close_workers, venv.remotes, venv.processes)
            return venv
        batched = gym.make_vec(
            env_id,
            num_envs=c.num_envs,
            vectorization_mode="vector_entry_point",
            autoreset_mode="same_step",
            **env_kwargs,
        )
        venv = VecMonitor(BatchedVecEnv(batched))
        venv.seed(c.seed)
        return venv

    def sb3_defaults(self, env_id: str, venv: VecEnv) -> dict[str, Any]:
        """SB3 keywords tuned for ``env_id`` (the config's typed fields override them)."""
        return {}

    @property
    def progress(self) -> int:
        """Steps taken so far (SB3's ``num_timesteps``, saved with the model)."""
        return int(self.model.num_timesteps)

    def cosine_rate(self, peak: float) -> Callable[[float], float]:
        """SB3's ``learning_rate`` for ``schedule='cosine'``: ``peak`` times the cosine
        factor of the steps taken over the horizon (the config's, else the end of the
        current learn call). It reads the step count, not SB3's progress fraction, so a
        chunked or resumed run decays as an uninterrupted one; SB3 calls it once before
        the model exists (the optimiser's first step size: the peak)."""

        def rate(_progress_remaining: float) -> float:
            model = getattr(self, "model", None)
            if model is None:
                return peak
            horizon = self.config.horizon or self._call_end
            return peak * cosine_factor(model.num_timesteps, horizon)

        return rate

    def _learn(self, budget: int, emit: Callable[[dict], None]) -> None:
        self._call_end = self.progress + budget
        self.model.learn(budget, callback=_Records(emit), reset_num_timesteps=False)

    def _normalize(self, observation: np.ndarray) -> np.ndarray:
        if isinstance(self.venv, VecNormalize):
            return self.venv.normalize_obs(observation)
        return observation

    def act(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """The policy's action for the env's ``observation`` (with ``asymmetric_critic``
        the env's own, without the privileged columns: the actor never reads them, so
        they are filled with zeros)."""
        observation = self.actor_view(observation)
        action, _ = self.model.predict(self._normalize(observation), deterministic=deterministic)
        return action

    def save(self, path: str | Path) -> None:
        """Write the model's weights, optimiser states, step counters and normalisation
        statistics as tensors (:mod:`quadgym.agents.checkpoint`): never SB3's own zip, whose
        pickled objects a reader would have to run."""
        write_checkpoint(self, path, model_state(self.model, self.venv))

    def load(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote into the model this plugin built from its config.

        Raises:
            UnsafeCheckpointError: an old pickled checkpoint or a crafted file (refused).
            ValueError: unreadable, another plugin's or env's, or shaped for another model.
        """
        ckpt = read_checkpoint(self, path)
        try:
            restore_model_state(self.model, self.venv, ckpt)
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{path} does not fit this {self.name} model (built from its config): {exc}"
            ) from None


class PPOAlgorithm(SB3Algorithm):
    """Proximal Policy Optimisation (SB3); config: :class:`PPOConfig`."""

    name = "ppo"
    Config = PPOConfig
    config: PPOConfig

    def default_copies(self, env_id: str) -> int:
        """The env's ``n_envs`` in ``ENV_DEFAULTS`` (8 for an env not in it)."""
        return ENV_DEFAULTS[env_id].n_envs if env_id in ENV_DEFAULTS else 8

    def sb3_defaults(self, env_id: str, venv: VecEnv) -> dict[str, Any]:
        """The env's PPO keywords in ``ENV_DEFAULTS``: those for copies, or for the lanes
        of the batched backend (with ``num_envs``); none for an env not in the table."""
        if env_id not in ENV_DEFAULTS:
            return {}
        lanes = venv.num_envs if self.config.num_envs is not None else None
        return ENV_DEFAULTS[env_id].ppo_keywords(lanes)


#: Replay-buffer observations beyond which an off-policy plugin on images wants an
#: explicit ``buffer_size`` (SB3's default of 10^6 transitions of 64x48 RGB: ~18 GB).
REPLAY_LIMIT_BYTES = 2**31


class OffPolicyAlgorithm(SB3Algorithm):
    """Base of the replay-buffer adapters (SAC, TD3): the same policy classes as PPO
    (:func:`policy_for`); on image observations SB3's default buffer of 10^6
    transitions would not fit in memory, so its size must be given."""

    def check_observations(self, space: gym.Space) -> None:
        """Refuse SB3's default buffer size where its observations need more than
        :data:`REPLAY_LIMIT_BYTES`.

        Raises:
            ValueError: naming the memory the default buffer needs and a size that fits.
        """
        if self.config.buffer_size is not None:
            return
        default = sb3_keywords(self.config.sb3_class)["buffer_size"].default
        need = replay_bytes(space, default)
        if need > REPLAY_LIMIT_BYTES:
            fits = REPLAY_LIMIT_BYTES // replay_bytes(space, 1)
            raise ValueError(
                f"{self.name}: SB3's default replay buffer ({default:,} transitions) of these "
                f"observations needs {need / 2**30:.1f} GiB; set buffer_size (at most "
                f"{fits:,} stay within {REPLAY_LIMIT_BYTES / 2**30:.0f} GiB)"
            )


class SACAlgorithm(OffPolicyAlgorithm):
    """Soft Actor-Critic (SB3); config: :class:`SACConfig`."""

    name = "sac"
    Config = SACConfig


class TD3Algorithm(OffPolicyAlgorithm):
    """Twin Delayed DDPG (SB3); config: :class:`TD3Config`."""

    name = "td3"
    Config = TD3Config
