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
RUNS = (
    "ftp",
    "gpt",
    "gpt_regularised",
    "gpt_tuned",
    "gpt_matched_params",
    "gpt_matched_compute",
    "ftp_next",
)
Run = Literal[RUNS]
REGIMES = ("few", "fresh")
Regime = Literal[REGIMES]
#: CPU time of an ``ftp`` training step over a ``gpt`` one (batch 128, one thread, measured:
#: gpt 27 ms, ftp 52-61 ms): ``gpt_matched_compute`` trains this many times the steps. A
#: fixed ratio, not one timed during the run, so that its numbers do not depend on the load.
COMPUTE_RATIO = 2
#: CPU time of a training step relative to ``gpt``'s (batch 128, one thread, measured:
#: gpt 27 ms, gpt with dropout 39 ms, ftp 52-60 ms); orders the jobs, longest first.
STEP_COST = {
    "ftp": 2.1,
    "ftp_next": 1.9,
    "gpt_regularised": 1.45,
    "gpt_matched_params": 2.0,
    "gpt_matched_compute": 1.0,
}
#: The search for the strongest GPT (``gpt_tuned``): learning rate and regularisation, as
#: many settings on as many seeds as FTP's were screened on (docs/ftp.md: its default and
#: four variants on two seeds). Candidate -> the ``gpt`` plugin's options over the shared
#: ones (``networks``); "regularised" is ``gpt_regularised``'s.
SEARCH: dict[str, dict[str, Any]] = {
    "lr 2e-3": {},
    "lr 1e-3": {"lr": 1e-3},
    "lr 4e-3": {"lr": 4e-3},
    "dropout 0.1, weight decay 0.1": {"dropout": 0.1, "weight_decay": 0.1},
    "regularised": {"regularised": True},
}
#: Seeds the search trains on: none of the reported ones (0, 1, ...), so that the
#: strongest GPT is chosen on one set of seeds and confirmed on fresh ones.
SEARCH_SEEDS = (100, 101)


def run_job(job: dict) -> dict:
    """Train one model on one seed in one regime; checkpoints every ``eval_every`` steps.

    ``job``: ``plugin``, ``seed``, ``steps``, ``eval_every``, ``eval_prompts``, ``env``
    (ToyCoding-v0 keywords), ``config`` (the plugin's) and optionally ``eval_split``, the
    split of the prompts success is measured on (``test``; the search's ``tune``). Returns
    the final scores,
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
    n_eval, steps, split = job["eval_prompts"], job["steps"], job.get("eval_split", "test")
    init = cosines(algo, n_eval)
    curve = [(0, algo.evaluate(n_eval, split=split), algo.validation_loss())]
    seconds = cpu = 0.0
    while algo.steps_done < steps:
        wall, start = time.perf_counter(), time.process_time()
        algo.learn(min(job["eval_every"], steps - algo.steps_done))
        seconds += time.perf_counter() - wall
        cpu += time.process_time() - start
        curve.append((algo.steps_done, algo.evaluate(n_eval, split=split), algo.validation_loss()))
    stopped = [s for s, _ in algo.val_history][-1] if algo.stopped else None
    result = {
        "success_rate": curve[-1][1],
        "success_rate_sampled": algo.evaluate(n_eval, greedy=False, split=split),
        **cosines(algo, n_eval),
        **{f"init_{k.removeprefix('adjacent_')}": v for k, v in init.items()},
        "validation_loss": curve[-1][2],
        "params": algo.params,
        "steps": steps,
        "stopped_at": stopped,
        "train_seconds": seconds,
        "cpu_seconds": cpu,
        "curve": curve,
    }
    ended = time.time()
    result.update(other_seconds=ended - began - seconds, began=began, ended=ended, pid=os.getpid())
    return result


def cosines(algo: Any, n: int) -> dict[str, Any]:
    """The neighbouring-vector similarity of ``algo``'s network on ``n`` held-out programs
    (``neighbour_cosines``), over two sets of position pairs: from ``<sep>`` to ``<eos>``
    (``adjacent_cosine``, ``cosine_profile``: the plugin's ``adjacent_cosine`` and its
    profile, the tables' measure) and the same without each program's last pair, (last
    operation, ``<eos>``) (``adjacent_cosine_trained``, ``cosine_profile_trained``). No loss
    reaches the vector at ``<eos>`` (nothing after it is a target), so that pair compares a
    trained vector with one training never shapes; the profile's last position (K = 6
    programs only) is that pair alone, which is why it falls towards 0 as training moves
    the trained neighbour. A profile is per position pair from ``<sep>``'s, the mean over
    the programs that have the pair (NaN where none has)."""
    cos, keep = algo.neighbour_cosines(n)
    last = keep & (keep.cumsum(1) == keep.sum(1, keepdim=True))
    first = algo.task.prompt_length - 1
    out = {}
    for suffix, mask in (("", keep), ("_trained", keep & ~last)):
        counts, sums = mask.sum(0)[first:].float(), (cos * mask).sum(0)[first:]
        out[f"adjacent_cosine{suffix}"] = float(cos[mask].mean())
        out[f"cosine_profile{suffix}"] = [
            float(s / c) if c else float("nan") for s, c in zip(sums, counts, strict=True)
        ]
    return out


def networks(args: Any) -> dict[str, tuple[str, dict]]:
    """Run key -> (plugin, config) of every run but ``gpt_tuned`` (:func:`choose`):
    ``gpt_matched_params`` has the encoder depth whose parameter count is closest to FTP's,
    ``gpt_matched_compute`` is ``gpt`` (trained :data:`COMPUTE_RATIO` times the steps),
    ``ftp_next`` is FTP predicting the next token only (N = 1: the same network and
    decoder, so what it lacks is the multi-token loss)."""
    enc = {"d_model": args.d_model, "layers": args.layers}
    ftp = {"n_future": args.n_future, "pseudo_len": args.pseudo_len, "gamma": args.gamma}
    nets = {
        "ftp": ("ftp", {**enc, **ftp}),
        "gpt": ("gpt", enc),
        "gpt_regularised": ("gpt", {**enc, **regularised(args)}),
        "gpt_matched_compute": ("gpt", enc),
        "ftp_next": ("ftp", {**enc, **ftp, "n_future": 1}),
    }
    layers = matched_layers(args, ftp_params(args, nets["ftp"][1]))
    nets["gpt_matched_params"] = ("gpt", {**enc, "layers": layers})
    return {k: nets[k] for k in RUNS if k in nets}


def regularised(args: Any) -> dict[str, Any]:
    """``gpt_regularised``'s options: dropout, weight decay, early stopping."""
    return {
        "dropout": args.reg_dropout,
        "weight_decay": args.reg_weight_decay,
        "early_stop_every": args.reg_early_stop_every,
        "patience": args.reg_patience,
    }


def candidate(args: Any, name: str) -> dict[str, Any]:
    """The ``gpt`` options of search candidate ``name`` (:data:`SEARCH`), the learning
    rate included."""
    options = dict(SEARCH[name])
    if options.pop("regularised", False):
        options.update(regularised(args))
    return {"d_model": args.d_model, "layers": args.layers, "lr": args.lr, **options}


def choose(search: dict[str, dict]) -> str:
    """The search's winner in one regime: the candidate with the highest mean greedy
    success on the ``tune`` prompts over its seeds (the first listed in :data:`SEARCH`
    on a tie); ``search`` is candidate -> ``{"success_rate": [per seed]}``."""
    score = {name: sum(r["success_rate"]) / len(r["success_rate"]) for name, r in search.items()}
    return max(SEARCH, key=lambda name: (score[name], -list(SEARCH).index(name)))


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


def ftp_params(args: Any, config: dict) -> int:
    """FTP's trainable parameters with ``config`` (for ``gpt_matched_params``)."""
    env = gym.make("ToyCoding-v0", **env_kwargs(args))
    return quadgym.make_algo("ftp", env, **config).params


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
            "lr": args.lr,
            **config,
            "batch_size": args.batch_size,
            "corpus_size": args.corpus_size if regime == "few" else None,
        },
        "env": env_kwargs(args),
        "eval_every": args.eval_every,
        "eval_prompts": args.resolved("eval_prompts"),
    }


def regime_steps(args: Any, regime: str, key: str = "ftp") -> int:
    """Training steps of run ``key`` in ``regime``: the regime's, times
    :data:`COMPUTE_RATIO` for ``gpt_matched_compute``."""
    steps = args.few_steps if regime == "few" else args.resolved("fresh_steps")
    return steps * (COMPUTE_RATIO if key == "gpt_matched_compute" else 1)


def search_jobs(args: Any, regime: str) -> list[dict]:
    """The search for the strongest GPT in ``regime``: every :data:`SEARCH` candidate on
    every :data:`SEARCH_SEEDS` seed, trained on the ``fit`` prompts and scored on the
    ``tune`` ones (held out from training and never the evaluation split)."""
    steps = regime_steps(args, regime)
    fit = {"train_split": "fit"}
    return [
        {
            **job_spec(args, regime, name, seed, steps, "gpt", {**candidate(args, name), **fit}),
            "search": True,
            "eval_split": "tune",
        }
        for name in SEARCH
        for seed in SEARCH_SEEDS
    ]


def reported_seeds(args: Any) -> range:
    """The seeds every run is trained and reported on: ``first_seed`` (0 if ``args`` has
    none), then ``seeds`` consecutive ones. A later first seed confirms, on seeds no setting
    was chosen on, what was selected on the earlier ones (FTP's settings: seeds 0-1)."""
    first = getattr(args, "first_seed", 0)
    return range(first, first + args.seeds)


def job_cost(job: dict) -> float:
    """A job's relative CPU cost (steps times :data:`STEP_COST`), to order the jobs."""
    dropout = job["config"].get("dropout", 0.0) > 0
    key = "gpt_regularised" if job.get("search") and dropout else job["key"]
    return job["steps"] * STEP_COST.get(key, 1.0)


def plan_jobs(args: Any) -> list[dict]:
    """Every job that needs no other job's result (all but ``gpt_tuned``'s), regime by
    regime (so that an interrupted run has whole regimes): seed by seed (so that an
    interrupted regime has whole seeds), within a seed the longest first
    (:func:`job_cost`), so that the last jobs to start are short ones; then the regime's
    search when ``gpt_tuned`` is among the runs."""
    nets = networks(args)
    runs = args.resolved("runs")
    jobs = []
    for regime in args.resolved("regimes"):
        planned = [
            job_spec(args, regime, key, seed, regime_steps(args, regime, key), *nets[key])
            for key in runs
            if key != "gpt_tuned"
            for seed in reported_seeds(args)
        ]
        jobs += sorted(planned, key=lambda j: (j["seed"], -job_cost(j)))
        if "gpt_tuned" in runs:
            jobs += sorted(search_jobs(args, regime), key=lambda j: -job_cost(j))
    return jobs


def run_all(args: Any, log: Path) -> tuple[dict[str, dict[str, dict]], dict[str, dict]]:
    """Every job, in ``--workers`` processes (or this one), in :func:`plan_jobs`'s order,
    no more started than there are workers: (regime -> run -> result lists over seeds, the
    search: regime -> :func:`search_summary`). ``gpt_tuned``'s jobs in a regime go to the
    front of the queue once that regime's search is done. Each finished job is also
    appended to ``log`` (one JSON line), so that an interrupted run keeps what it did; with
    ``args.resume`` the jobs ``log`` already holds (the same job, field for field) are not
    run again but read from it (a job is deterministic: :func:`run_job` gives the same
    numbers in any process)."""
    queue = plan_jobs(args)
    earlier = logged_jobs(log) if args.resume else {}
    regimes = args.resolved("regimes")
    pending = set(regimes) if "gpt_tuned" in args.resolved("runs") else set()
    done: dict[tuple[str, str, int], dict] = {}
    searched: dict[tuple[str, str, int], dict] = {}
    chosen: dict[str, dict] = {}

    def tuned_jobs(regime: str) -> list[dict]:
        chosen[regime] = search_summary(searched, regime)
        config = candidate(args, chosen[regime]["chosen"])
        steps = regime_steps(args, regime)
        return [
            job_spec(args, regime, "gpt_tuned", s, steps, "gpt", config)
            for s in reported_seeds(args)
        ]

    def finished(job: dict, result: dict) -> None:
        table = searched if job.get("search") else done
        table[job["regime"], job["key"], job["seed"]] = {**result, "steps": job["steps"]}
        if job_key(job) not in earlier:
            with log.open("a") as f:
                f.write(json.dumps({"job": job, "result": result}) + "\n")
        print(
            f"  {job['regime']:<5} {job['key']:<30} seed {job['seed']}: "
            f"success {result['success_rate']:.3f}, cosine {result['adjacent_cosine']:.3f} "
            f"(init {result['init_cosine']:.3f}), loss {result['validation_loss']:.3f}, "
            f"{result['train_seconds']:.0f} s",
            flush=True,
        )

    def ready() -> list[str]:
        """The regimes whose search just finished."""
        now = [
            r for r in pending if all((r, n, s) in searched for n in SEARCH for s in SEARCH_SEEDS)
        ]
        pending.difference_update(now)
        return now

    def after(job: dict, result: dict) -> None:
        finished(job, result)
        for regime in ready():
            queue[:0] = tuned_jobs(regime)

    def next_job() -> dict | None:
        """The next job to run; those of an earlier run are taken from ``log`` on the way."""
        while queue:
            job = queue.pop(0)
            if job_key(job) not in earlier:
                return job
            after(job, earlier[job_key(job)])
        return None

    if args.workers == 1:
        while (job := next_job()) is not None:
            after(job, run_job(job))
    else:
        with process_pool(args.workers) as pool:
            running: dict = {}
            while queue or running:
                while len(running) < args.workers and (job := next_job()) is not None:
                    running[pool.submit(run_job, job)] = job
                if not running:
                    break
                finished_now, _ = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in finished_now:
                    after(running.pop(future), future.result())
    return collect(done), chosen


def job_key(job: dict) -> str:
    """A job's identity: its JSON with sorted keys (as it reads back from the log)."""
    return json.dumps(json.loads(json.dumps(job)), sort_keys=True)


def logged_jobs(log: Path) -> dict[str, dict]:
    """The jobs an earlier run appended to ``log`` (:func:`job_key` -> result); none if it
    does not exist. A line cut short by a killed run is ignored."""
    if not log.exists():
        return {}
    out = {}
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        out[job_key(record["job"])] = record["result"]
    return out


def search_summary(searched: dict[tuple[str, str, int], dict], regime: str) -> dict:
    """One regime's search: per candidate its per-seed greedy success on the ``tune``
    prompts and next-token loss, and the candidate chosen (:func:`tuned`)."""
    table = {
        name: {
            "success_rate": [searched[regime, name, s]["success_rate"] for s in SEARCH_SEEDS],
            "validation_loss": [searched[regime, name, s]["validation_loss"] for s in SEARCH_SEEDS],
        }
        for name in SEARCH
    }
    return {"candidates": table, "seeds": list(SEARCH_SEEDS), "chosen": choose(table)}


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
    A worker idle at the end means the jobs were badly balanced. Jobs that began before
    ``start`` (taken from the log of an earlier run, ``--resume``) move it back to the
    first of them, so that the times span the runs that made the results."""
    start = min(
        [start, *(b for runs in results.values() for r in runs.values() for b in r["began"])]
    )
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
