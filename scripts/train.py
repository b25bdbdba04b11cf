"""Train any quadgym algorithm plugin on any environment it supports.

    python scripts/train.py --env CoPGBandit-v0 --algo copg --steps 100 --out runs/copg
    python scripts/train.py --env QuadHover-v0 --algo ppo --steps 1000000 --config n_envs=8
    python scripts/train.py --resume runs/copg --steps 200     # continue to 200 in all

The budget (``--steps``) is in the plugin's unit (``budget_unit``): environment
steps for ppo, sac, td3 and the HardShift augmentors, agent-steps for
ppo_shared, epochs over the dataset for the offline ones (copg, ipo, dpo, ...),
gradient updates for gpt and ftp. ``--config KEY=VALUE ...`` sets the plugin's
typed config (``python -c "import quadgym; print(quadgym.describe_algo('copg'))"``
lists it): an unknown key or a value of the wrong type is refused before
anything is written.

Training runs in chunks of ``--checkpoint-every``; after each chunk the run
directory gets ``checkpoint.bin`` (atomically replaced), ``state.json``
(atomically, progress as the checkpoint holds it), rows in ``metrics.csv`` and
TensorBoard events in ``tb/``, each row at its absolute position in the budget.
Ctrl-C saves a checkpoint and exits cleanly. ``--resume DIR`` reloads the
configuration and the last checkpoint, drops rows logged after it, and continues;
for the offline plugins the result is identical to an uninterrupted run of the
same seed; SB3 continues from the saved model and normalisation statistics (SB3
does not save its environments' or rollout buffer's state, so the continuation
differs from an uninterrupted run in its random stream).
"""

from __future__ import annotations

import dataclasses
import signal
import sys
from typing import Any

from tqdm import tqdm

import quadgym
from quadgym.agents.base import POSITION
from quadgym.cli import build_parser
from quadgym.config import TypedConfig, param
from quadgym.outdir import out_problem
from quadgym.registry import get_algo_class
from quadgym.runs.directory import Run


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    env: str | None = param(None, "environment id (see quadgym.list_envs())")
    algo: str | None = param(None, "algorithm plugin (see quadgym.list_algos())")
    steps: int | None = param(None, "total budget, in the plugin's unit", ge=1)
    seed: int | None = param(None, "the plugin's seed (0 for a new run)", ge=0)
    num_envs: int | None = param(
        None, "train on this many lanes of the env's batched backend (gym.make_vec)", ge=1
    )
    config: tuple[str, ...] = param((), "the plugin's config as KEY=VALUE words")
    out: str | None = param(None, "run directory (default runs/<env>-<algo>-s<seed>)")
    resume: str | None = param(None, "continue the run in this directory")
    checkpoint_every: int | None = param(
        None, "budget per chunk between checkpoints (default: a tenth of --steps)", ge=1
    )
    stop_after: int | None = param(
        None, "train at most this much now, then checkpoint and exit (--resume later)", ge=1
    )
    threads: int | None = param(
        None, "torch threads (default 1, fastest for small networks; saved with the run)", ge=1
    )


def planned_run(args: Args) -> Run:
    """A new run (nothing written yet) or the saved one of ``--resume``; refuses missing
    arguments, and for ``--resume`` arguments that would change the run (env, algo,
    seed, config) instead of ignoring them. ``--steps`` and ``--checkpoint-every`` may
    change on resume; the change is recorded in state.json."""
    if args.resume:
        changed = [
            f"--{name.replace('_', '-')}"
            for name in ("env", "algo", "seed", "num_envs", "config", "out")
            if getattr(args, name) not in (None, ())
        ]
        if changed:
            raise ValueError(
                f"--resume continues the saved run; it takes only --steps, --checkpoint-every, "
                f"--stop-after and --threads, not {', '.join(changed)}"
            )
        problem = out_problem(args.resume, "--resume")
        if problem:
            raise ValueError(problem)
        run = Run.open(args.resume)
        run.extend(args.steps, args.checkpoint_every, args.threads)
        return run
    if not (args.env and args.algo and args.steps):
        raise ValueError("--env, --algo and --steps are required (or --resume DIR)")
    config = {"seed": args.seed or 0, **get_algo_class(args.algo).Config.parse_strings(args.config)}
    if args.num_envs is not None:
        config["num_envs"] = args.num_envs
    out = args.out or f"runs/{args.env}-{args.algo}-s{config['seed']}"
    chunk = args.checkpoint_every or max(1, args.steps // 10)
    return Run.plan(out, args.env, args.algo, config, args.steps, chunk, args.threads or 1)


def build(state: dict[str, Any]) -> Any:
    """The plugin of ``state``; plugins with a ``horizon`` get the run's total budget."""
    cls = get_algo_class(state["algo"])
    config = dict(state["config"])
    if "horizon" in {f.name for f in dataclasses.fields(cls.Config)}:
        config["horizon"] = state["total"]
    return quadgym.make_algo(state["algo"], state["env"], **config)


def main(argv: list[str] | None = None) -> int:
    interrupts = 0

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:  # the second Ctrl-C stops now; the last checkpoint is intact
            raise KeyboardInterrupt

    # from the start, so that Ctrl-C at any moment ends with a consistent run directory
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return train(argv, lambda: interrupts > 0)
    except KeyboardInterrupt:
        print("stopped at once (second Ctrl-C); --resume continues from the last checkpoint")
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)


def train(argv: list[str] | None, interrupted: Any) -> int:
    """Parse, build, then train chunk by chunk until done or ``interrupted()``."""
    parser = build_parser(Args, __doc__)
    try:
        args = Args(**vars(parser.parse_args(argv)))
        run = planned_run(args)
        algo = build(run.state)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    import torch

    torch.set_num_threads(run.state["threads"])
    try:
        if not args.resume:
            run.start()
        done = run.restore(algo)
        log = run.log()
    except OSError as exc:
        parser.error(f"cannot write the run directory {run.path}: {exc}")
    except ValueError as exc:
        parser.error(str(exc))
    total = run.state["total"]
    target = min(total, done + args.stop_after) if args.stop_after else total
    bar = tqdm(total=total, initial=done, desc=f"{run.state['algo']} on {run.state['env']}")

    def record(rec: dict) -> None:
        log.write(rec)
        shown = ("mean_return", "loss", "regret", "chosen", "acc_shifted")
        bar.set_postfix({k: f"{v:.4g}" for k, v in rec.items() if k in shown})
        bar.update(rec[POSITION] - bar.n)

    try:
        while algo.progress < target and not interrupted():
            algo.learn(min(run.state["checkpoint_every"], target - algo.progress), callback=record)
            run.commit(algo)
            bar.update(algo.progress - bar.n)
        if interrupted() and not run.checkpoint.exists():  # stopped before the first chunk
            run.commit(algo)
    except OSError as exc:  # a full disk, a directory gone read-only: the last commit stands
        print(
            f"error: cannot write the run directory {run.path}: {exc}; the last checkpoint "
            f"(at {run.state['done']} of {total}) is intact: --resume {run.path} once "
            f"it can be written",
            file=sys.stderr,
        )
        return 1
    finally:
        bar.close()
        log.close()
    if interrupted():
        print(
            f"interrupted: checkpoint saved at {run.state['done']} of {total}; "
            f"continue with --resume {run.path}"
        )
        return 130
    print(f"done: {run.state['done']} in {run.path} (checkpoint.bin, metrics.csv, tb/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
