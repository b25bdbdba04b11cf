"""Convert run directories written by quadgym 0.1 (pickled checkpoints) to the safe format.

quadgym 0.1 wrote an SB3 plugin's ``checkpoint.bin`` as SB3's zip plus pickled
normalisation statistics, and a torch plugin's with ``torch.save`` of any object; loading
either unpickles, which runs whatever a crafted file asks. quadgym now refuses both. This
script is the one place that still reads them, and only when told ``--trust``: use it on runs
you made yourself or got from someone you trust, never on a file from an unknown source.

Each run is rebuilt from its ``state.json`` (the plugin and its typed config), its old
checkpoint loaded the old way, and the state written back as tensors plus JSON
(:mod:`quadgym.agents.checkpoint`). Before the file is replaced the converted policy is
checked to act exactly as the old one on observations from the run's env; a run already
in the safe format is left as it is.

Usage::

    python scripts/convert_checkpoint.py --trust --runs baselines/QuadHover-v0-ppo-s0
"""

from __future__ import annotations

import dataclasses
import io
import json
import pickle
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

import quadgym
from quadgym.agents.checkpoint import UnsafeCheckpointError, load_plain, write_checkpoint
from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param

#: Observations on which the old and the converted policy must agree.
CHECK_OBSERVATIONS = 32


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    runs: tuple[str, ...] = param(dataclasses.MISSING, "run directories (with state.json)")
    trust: bool = param(
        False, "required: you trust these files (reading the old format runs their pickles)"
    )


def problem(args: Args) -> str | None:
    """Why the command cannot start: no --trust, or a path that is not a run directory."""
    if not args.trust:
        return "the old format can run code when read: pass --trust for runs you trust"
    for run in map(Path, args.runs):
        if not (run / "state.json").is_file() or not (run / "checkpoint.bin").is_file():
            return f"{run} has no state.json and checkpoint.bin; is it a run directory?"
    return None


def load_legacy(algo, path: Path) -> None:
    """Fill ``algo`` from a quadgym 0.1 checkpoint at ``path`` (unpickles: trusted files only)."""
    if zipfile.is_zipfile(path) and "model.zip" in zipfile.ZipFile(path).namelist():
        with zipfile.ZipFile(path) as z:
            model_bytes = z.read("model.zip")
            stats = z.read("obs_rms.pkl") if "obs_rms.pkl" in z.namelist() else None
        algo.model = algo.config.sb3_class.load(io.BytesIO(model_bytes), env=algo.venv)
        if stats is not None:
            algo.venv.obs_rms, algo.venv.ret_rms = pickle.loads(stats)  # noqa: S301 - --trust
        return
    ckpt = torch.load(path, map_location="cpu", weights_only=False)  # noqa: S614 - --trust
    state = {k: v for k, v in ckpt.items() if k not in {"algo", "env", "config", "format"}}
    with tempfile.TemporaryDirectory() as tmp:
        write_checkpoint(algo, Path(tmp, "old.bin"), state)  # refuses what is not plain data
        algo.load(Path(tmp, "old.bin"))


def observations(algo, n: int) -> list:
    """``n`` observations of the plugin's env, from a seeded episode with random actions."""
    env = algo.env
    if hasattr(env, "possible_agents"):  # PettingZoo: the team's dict
        obs, _ = env.reset(seed=0)
        out = []
        for _ in range(n):
            out.append(obs)
            acts = {a: env.action_space(a).sample() for a in env.agents}
            obs, *_ = env.step(acts)
            if not env.agents:
                obs, _ = env.reset()
        return out
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    out = []
    for _ in range(n):
        out.append(obs)
        obs, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            obs, _ = env.reset()
    return out


def same_actions(a, b, obs: list) -> bool:
    """Whether plugins ``a`` and ``b`` give bit-identical greedy actions on ``obs``."""
    for o in obs:
        x, y = a.act(o), b.act(o)
        if isinstance(x, dict):
            if x.keys() != y.keys() or any(not np.array_equal(x[k], y[k]) for k in x):
                return False
        elif not np.array_equal(np.asarray(x), np.asarray(y)):
            return False
    return True


def convert(run: Path) -> str:
    """Convert one run in place; what was done, as a line of text."""
    path = run / "checkpoint.bin"
    try:
        load_plain(path)
        return f"{run}: already in the safe format"
    except UnsafeCheckpointError:
        pass
    state = json.loads((run / "state.json").read_text())
    old = quadgym.make_algo(state["algo"], state["env"], **state["config"])
    new = None
    try:
        load_legacy(old, path)
        obs = observations(old, CHECK_OBSERVATIONS)
        with tempfile.TemporaryDirectory(dir=run) as tmp:
            old.save(Path(tmp, "checkpoint.bin"))
            new = quadgym.make_algo(state["algo"], state["env"], **state["config"])
            new.load(Path(tmp, "checkpoint.bin"))
            if not same_actions(old, new, obs):
                raise ValueError(f"{run}: the converted policy acts differently; left as it was")
            if new.progress != old.progress:
                raise ValueError(f"{run}: progress {new.progress} != {old.progress}")
            Path(tmp, "checkpoint.bin").replace(path)
    finally:
        for algo in (old, new):
            if algo is not None and hasattr(algo, "close"):
                algo.close()
    return f"{run}: converted (same actions on {CHECK_OBSERVATIONS} observations)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv, check=problem)
    torch.set_num_threads(1)
    for run in map(Path, args.runs):
        try:
            print(convert(run))
        except (ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
