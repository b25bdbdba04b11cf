"""The jobs of ``scripts/reproduce_ftp.py``: one (regime, run, seed) each, planned from the
script's ``Args``, run in spawned worker processes (torch on one thread each).

A job trains one model (``gpt`` or ``ftp``) on ToyCoding-v0 and records, every
``eval_every`` steps and at step 0, its greedy success on the held-out prompts and its
next-token loss on held-out training-split programs (:func:`run_job`). ``args`` below is
the script's ``Args`` (a :class:`~quadgym.config.TypedConfig` whose ``resolved(field)``
gives a preset field's value for the default run or ``--full``).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import time
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import torch

import quadgym
from quadgym.evaluation import process_pool

#: The runs, in the order they are reported.
RUNS = ("ftp", "gpt", "gpt_regularised", "gpt_matched_params", "gpt_matched_compute")
Run = Literal[RUNS]
REGIMES = ("few", "fresh")
Regime = Literal[REGIMES]
#: Runs made in the fresh regime only (on a fixed corpus, more steps or parameters
#: mostly mean more overfitting).
FRESH_ONLY = ("gpt_matched_params", "gpt_matched_compute")
#: What each matched run is sized from.
NEEDS = {"gpt_matched_params": ("ftp",), "gpt_matched_compute": ("ftp", "gpt")}
#: CPU time of a training step relative to ``gpt``'s (batch 128, one thread, measured:
#: gpt 27 ms, gpt with dropout 39 ms, ftp 52-60 ms); orders the jobs, longest first.
STEP_COST = {"ftp": 2.1, "gpt_regularised": 1.45, "gpt_matched_params": 2.0}


def run_job(job: dict) -> dict:
    """Train one model on one seed in one regime; checkpoints every ``eval_every`` steps.

    ``job``: ``plugin``, ``seed``, ``steps``, ``eval_every``, ``eval_prompts``, ``env``
    (ToyCoding-v0 keywords) and ``config`` (the plugin's). Returns the final scores,
    the curve ``[(steps, success, next-token loss), ...]`` from step 0, the adjacent
    cosine and its per-position profile, the same at initialisation, the training wall
    and CPU seconds, the wall seconds of everything else (evaluation: checkpoints,
    cosines, sampled success; start-up), and when (epoch seconds) and in which process
    the job ran. Runs in a worker process: torch on one thread.
    """
    torch.set_num_threads(1)
    began = time.time()
    env = gym.make("ToyCoding-v0", **job["env"])
    algo = quadgym.make_algo(
        job["plugin"], env, seed=job["seed"], horizon=job["steps"], **job["config"]
    )
    n_eval, steps = job["eval_prompts"], job["steps"]
    init_cosine = algo.adjacent_cosine(n_eval)
    init_profile = algo.adjacent_cosine_profile(n_eval)
    curve = [(0, algo.evaluate(n_eval), algo.validation_loss())]
    seconds = cpu = 0.0
    while algo.steps_done < steps:
        wall, start = time.perf_counter(), time.process_time()
        algo.learn(min(job["eval_every"], steps - algo.steps_done))
        seconds += time.perf_counter() - wall
        cpu += time.process_time() - start
        curve.append((algo.steps_done, algo.evaluate(n_eval), algo.validation_loss()))
    stopped = [s for s, _ in algo.val_history][-1] if algo.stopped else None
    result = {
        "success_rate": curve[-1][1],
        "success_rate_sampled": algo.evaluate(n_eval, greedy=False),
        "adjacent_cosine": algo.adjacent_cosine(n_eval),
        "cosine_profile": algo.adjacent_cosine_profile(n_eval),
        "init_cosine": init_cosine,
        "init_cosine_profile": init_profile,
        "validation_loss": curve[-1][2],
        "params": algo.params,
        "stopped_at": stopped,
        "train_seconds": seconds,
        "cpu_seconds": cpu,
        "curve": curve,
    }
    ended = time.time()
    result.update(other_seconds=ended - began - seconds, began=began, ended=ended, pid=os.getpid())
    return result


def networks(args: Any) -> dict[str, tuple[str, dict]]:
    """Run key -> (plugin, config) of the runs whose shape needs no other run."""
    enc = {"d_model": args.d_model, "layers": args.layers}
    ftp = {"n_future": args.n_future, "pseudo_len": args.pseudo_len, "gamma": args.gamma}
    regularised = {
        "dropout": args.reg_dropout,
        "weight_decay": args.reg_weight_decay,
        "early_stop_every": args.reg_early_stop_every,
        "patience": args.reg_patience,
    }
    return {
        "ftp": ("ftp", {**enc, **ftp}),
        "gpt": ("gpt", enc),
        "gpt_regularised": ("gpt", {**enc, **regularised}),
    }


def env_kwargs(args: Any) -> dict[str, int]:
    """ToyCoding-v0's keywords of every job and of the networks sized before any job."""
    return {"value_range": args.value_range, "min_ops": args.min_ops, "max_ops": args.max_ops}


def matched_layers(args: Any, target: int) -> int:
    """Encoder depth whose GPT parameter count is closest to ``target``."""
    env = gym.make("ToyCoding-v0", **env_kwargs(args))
    counts = {
        layers: quadgym.make_algo("gpt", env, d_model=args.d_model, layers=layers).params
        for layers in range(1, 13)
    }
    return min(counts, key=lambda k: abs(counts[k] - target))


def ftp_params(args: Any) -> int:
    """FTP's trainable parameters (for ``gpt_matched_params``)."""
    env = gym.make("ToyCoding-v0", **env_kwargs(args))
    return quadgym.make_algo("ftp", env, **networks(args)["ftp"][1]).params


def job_spec(
    args: Any, regime: str, key: str, seed: int, steps: int, plugin: str, config: dict
) -> dict:
    """The picklable description of one job that :func:`run_job` runs."""
    return {
        "regime": regime,
        "key": key,
        "seed": seed,
        "steps": steps,
        "plugin": plugin,
        "config": {
            **config,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "corpus_size": args.corpus_size if regime == "few" else None,
        },
        "env": env_kwargs(args),
        "eval_every": args.eval_every,
        "eval_prompts": args.resolved("eval_prompts"),
    }


def regime_steps(args: Any, regime: str) -> int:
    """Training steps of every run in ``regime`` (``gpt_matched_compute`` aside)."""
    return args.few_steps if regime == "few" else args.resolved("fresh_steps")


def plan_jobs(args: Any) -> list[dict]:
    """Every job that needs no other job's result (all but ``gpt_matched_compute``),
    seed by seed (so that an interrupted run has whole seeds), within a seed the longest
    first (:data:`STEP_COST`), so that the last jobs to start are short ones."""
    nets = networks(args)
    runs = args.resolved("runs")
    if "gpt_matched_params" in runs:
        nets["gpt_matched_params"] = (
            "gpt",
            {"d_model": args.d_model, "layers": matched_layers(args, ftp_params(args))},
        )
    jobs = []
    for regime in args.resolved("regimes"):
        for key in runs:
            if key not in nets or (regime == "few" and key in FRESH_ONLY):
                continue
            for seed in range(args.seeds):
                spec = job_spec(args, regime, key, seed, regime_steps(args, regime), *nets[key])
                jobs.append(spec)
    return sorted(jobs, key=lambda j: (j["seed"], -j["steps"] * STEP_COST.get(j["key"], 1.0)))


def run_all(args: Any, log: Path) -> dict[str, dict[str, dict]]:
    """Every job, in ``--workers`` processes (or this one): regime -> run -> result
    lists over seeds. ``gpt_matched_compute`` starts once seed 0 of ``ftp`` and ``gpt``
    in the fresh regime have given their CPU seconds. Each finished job is also
    appended to ``log`` (one JSON line), so that an interrupted run keeps what it did."""
    jobs = plan_jobs(args)
    regimes, runs = args.resolved("regimes"), args.resolved("runs")
    pending_compute = "gpt_matched_compute" in runs and "fresh" in regimes
    done: dict[tuple[str, str, int], dict] = {}

    def compute_jobs() -> list[dict]:
        ratio = done["fresh", "ftp", 0]["cpu_seconds"] / done["fresh", "gpt", 0]["cpu_seconds"]
        fresh = args.resolved("fresh_steps")
        steps = max(1, int(round(fresh * ratio / args.eval_every))) * args.eval_every
        key, (plugin, config) = "gpt_matched_compute", networks(args)["gpt"]
        return [job_spec(args, "fresh", key, s, steps, plugin, config) for s in range(args.seeds)]

    def finished(job: dict, result: dict) -> None:
        done[job["regime"], job["key"], job["seed"]] = {**result, "steps": job["steps"]}
        with log.open("a") as f:
            f.write(json.dumps({"job": job, "result": result}) + "\n")
        print(
            f"  {job['regime']:<5} {job['key']:<20} seed {job['seed']}: "
            f"success {result['success_rate']:.3f}, cosine {result['adjacent_cosine']:.3f} "
            f"(init {result['init_cosine']:.3f}), loss {result['validation_loss']:.3f}, "
            f"{result['train_seconds']:.0f} s",
            flush=True,
        )

    def ready() -> bool:
        return all(("fresh", k, 0) in done for k in ("ftp", "gpt"))

    if args.workers == 1:
        for job in jobs:
            finished(job, run_job(job))
        if pending_compute:
            for job in compute_jobs():
                finished(job, run_job(job))
    else:
        with process_pool(args.workers) as pool:
            futures = {pool.submit(run_job, job): job for job in jobs}
            while futures:
                finished_now, _ = concurrent.futures.wait(
                    futures, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in finished_now:
                    finished(futures.pop(future), future.result())
                if pending_compute and ready():
                    pending_compute = False
                    futures.update({pool.submit(run_job, job): job for job in compute_jobs()})
    return collect(done)


def collect(done: dict[tuple[str, str, int], dict]) -> dict[str, dict[str, dict]]:
    """(regime, run, seed) -> result, to regime -> run -> {field: [value per seed]}
    (``params`` and ``steps`` once per run), the runs in :data:`RUNS` order."""
    results: dict[str, dict[str, dict]] = {}
    for (regime, key, _), r in sorted(done.items()):
        run = results.setdefault(regime, {}).setdefault(key, {})
        for field, value in r.items():
            run.setdefault(field, []).append(value)
    for runs in results.values():
        for run in runs.values():
            run["params"], run["steps"] = run["params"][0], run["steps"][0]
    return {regime: {k: runs[k] for k in RUNS if k in runs} for regime, runs in results.items()}


def timing(results: dict, start: float, end: float) -> dict:
    """Where a run's time went: per regime and run the mean training and other (evaluation,
    start-up) wall seconds per job; per worker process its busy seconds and idle seconds
    between ``start`` and ``end`` (epoch seconds: the pool's life, start-up included).
    A worker idle at the end means the jobs were badly balanced."""
    jobs, busy = {}, {}
    for regime in REGIMES:
        for key, run in results.get(regime, {}).items():
            n = len(run["train_seconds"])
            jobs[f"{regime}/{key}"] = {
                "train": sum(run["train_seconds"]) / n,
                "other": sum(run["other_seconds"]) / n,
                "cpu_train": sum(run["cpu_seconds"]) / n,
            }
            for pid, a, b in zip(run["pid"], run["began"], run["ended"], strict=True):
                first, last, total = busy.get(pid, (b, a, 0.0))
                busy[pid] = (min(first, a), max(last, b), total + b - a)
    workers = [
        {"busy": total, "idle_start": first - start, "idle_end": end - last}
        for first, last, total in busy.values()
    ]
    return {"jobs": jobs, "workers": workers, "seconds": end - start}
