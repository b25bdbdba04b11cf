"""The runs and statistics of ``scripts/reproduce_hard.py``: every method on one (data set,
seed) per job, in spawned worker processes, and the paired tests on the seeds the variants
were chosen on (selection) and on fresh ones (confirmation).

``args`` below is the script's ``Args`` (:class:`~quadgym.config.TypedConfig`): ``seeds``,
``toy_budget``/``mnist1d_budget``, ``batch_size``, ``window``, ``datasets``, ``workers``,
``full`` and ``methods``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

import quadgym
from quadgym.envs.hard.models import estimate_shift, warp_interpolate, warp_nearest
from quadgym.evaluation import process_pool
from quadgym.stats import holm, paired_test, t_interval

#: hard_warp with the standard augmentation: a quarter of each step's augmented signals
#: warped by the generator (read at the nearest sample), the rest randomly shifted
MIX = {"sampler": "nearest", "standard": "random_shift", "warp_fraction": 0.25}
#: The strongest standard augmentation of 1-D signals we built: a uniform random shift, a
#: random smooth local warp within hard_warp's slope bound (0.1) and noise well below the
#: toy's own (0.3). Fixed before any run, not screened.
STANDARD = {"warp_slope": 0.1, "noise_std": 0.1}
#: result key -> (plugin, extra config)
METHODS: dict[str, tuple[str, dict]] = {
    "kd": ("kd", {}),
    "kd_noise": ("kd_noise", {}),
    "kd_random_shift": ("kd_random_shift", {}),
    "kd_standard": ("kd_random_shift", STANDARD),
    "hard": ("hard", {}),
    "hard_warp": ("hard_warp", {}),
    "hard_warp_nearest": ("hard_warp", {"sampler": "nearest"}),
    "hard_warp_mix": ("hard_warp", MIX),
    "hard_warp_mix_untrained": ("hard_warp", {**MIX, "lr": 0.0}),
}
FULL_ONLY: dict[str, tuple[str, dict]] = {
    "hard_grad": ("hard_grad", {}),
    "hard_grad_no_noise": ("hard_grad", {"noise_dim": 0}),
    "hard_grad_untrained": ("hard_grad", {"lr": 0.0}),
    "hard_warp_pathwise": ("hard_warp", {"estimator": "pathwise", "lr": 1e-2}),
    "hard_warp_nearest_untrained": ("hard_warp", {"sampler": "nearest", "lr": 0.0}),
    "hard_warp_composed": (
        "hard_warp",
        {"sampler": "nearest", "standard": "random_shift", "compose": True},
    ),
}
#: (a, b): a against b, paired by seed, on shifted accuracy
COMPARISONS = (
    ("hard_warp", "kd"),
    ("hard_warp", "kd_random_shift"),
    ("hard", "kd_random_shift"),
    ("hard_warp_nearest", "kd_random_shift"),
    ("hard_warp_nearest", "hard_warp"),
    ("hard_warp_nearest", "hard_warp_nearest_untrained"),
    ("hard_warp_mix", "kd_random_shift"),
    ("hard_warp_mix", "hard_warp"),
    ("hard_warp_mix", "hard_warp_mix_untrained"),
    ("hard_warp_mix_untrained", "kd_random_shift"),
    ("hard_warp_composed", "kd_random_shift"),
    ("hard_grad", "hard_grad_no_noise"),
    ("hard_grad", "hard_grad_untrained"),
    ("kd_standard", "kd_random_shift"),
    ("hard", "kd_standard"),
    ("hard_warp_nearest", "kd_standard"),
    ("hard_warp_mix", "kd_standard"),
)
#: The seeds the learned augmentors' variants (sampler, mix fraction) were chosen on
#: (0 .. SELECTION_SEEDS − 1, docs/hard.md); the others confirm on fresh seeds.
SELECTION_SEEDS = 5
EXAMPLES = 6  # signals whose warps are drawn
EXAMPLE_METHODS = ("hard_warp", "hard_warp_nearest")  # whose warps are drawn (seed 0)


def methods_of(args: Any) -> dict[str, tuple[str, dict]]:
    """The methods of this run: ``METHODS``, and with ``--full`` the ablations
    ``FULL_ONLY``; only those of ``--methods`` when it names some."""
    methods = {**METHODS, **FULL_ONLY} if args.full else dict(METHODS)
    if args.methods:
        return {k: v for k, v in {**METHODS, **FULL_ONLY}.items() if k in args.methods}
    return methods


def run_seed(dataset: str, seed: int, args: Any) -> dict[str, Any]:
    """Every method on one data set and seed (the teacher is trained once, in this process):
    per method the final accuracies, the out-of-window fraction and the position and
    shift histograms over the second half, and the seconds; hard_warp's examples."""
    torch.set_num_threads(1)
    budget = getattr(args, f"{dataset}_budget")
    env_kwargs = dict(
        dataset=dataset,
        budget=budget,
        batch_size=args.batch_size,
        window=args.window,
        task_seed=seed,
    )
    out: dict[str, Any] = {"methods": {}}
    cpu = time.process_time()
    for key, (plugin, config) in methods_of(args).items():
        start = time.perf_counter()
        agent = quadgym.make_algo(
            plugin, "HardShift-v0", seed=seed, env_kwargs=env_kwargs, **config
        )
        agent.learn(budget // 2)
        positions, shifts = agent.position_counts.copy(), agent.shift_counts.copy()
        history = agent.learn(budget - budget // 2)
        out["methods"][key] = {
            "acc_in_distribution": agent.final["acc_in_distribution"],
            "acc_shifted": agent.final["acc_shifted"],
            "out_of_window": float(np.mean([r["out_of_window"] for r in history])),
            "positions": (agent.position_counts - positions).tolist(),
            "shifts": (agent.shift_counts - shifts).tolist(),
            "seconds": time.perf_counter() - start,
        }
        out["teacher"] = agent.final["teacher"]
        if key in EXAMPLE_METHODS and seed == 0:
            out.setdefault("examples", {})[key] = warp_examples(agent)
    out["cpu_seconds"] = time.process_time() - cpu  # this process's CPU time, teacher included
    return out


def warp_examples(agent: Any) -> dict[str, list]:
    """A trained hard_warp's training draws for ``EXAMPLES`` signals of distinct classes:
    the originals, the warped signals (read by its sampler), the displacement fields and
    the induced shifts."""
    data = agent.task.data
    _, first = np.unique(data.y_train, return_index=True)
    x = data.x_train[np.sort(first)[:EXAMPLES]]
    field = agent.warp_field(x, deterministic=False)
    sample = warp_nearest if agent.config.sampler == "nearest" else warp_interpolate
    warped = sample(torch.as_tensor(x), field).numpy()
    field = field.numpy()
    return {
        "original": x.tolist(),
        "warped": warped.tolist(),
        "field": field.tolist(),
        "shift": estimate_shift(x, warped).tolist(),
        "position": data.pos_train[np.sort(first)[:EXAMPLES]].tolist(),
    }


def collect(args: Any) -> tuple[dict, dict, dict, dict]:
    """Every (data set, seed) job, in ``args.workers`` processes: per data set, per method,
    per-seed lists (histograms summed over seeds); the teachers'; the examples; each
    data set's CPU seconds per seed."""
    seeds = range(args.seeds)
    jobs = [(ds, s) for s in seeds for ds in args.datasets]
    if args.workers == 1:
        done = [run_seed(ds, s, args) for ds, s in jobs]
    else:
        with process_pool(args.workers) as pool:
            done = list(pool.map(run_seed, *zip(*jobs, strict=True), [args] * len(jobs)))
    runs: dict = {ds: {} for ds in args.datasets}
    teacher: dict = {ds: {"in_distribution": [], "shifted": []} for ds in args.datasets}
    examples: dict = {}
    cpu = {ds: [] for ds in args.datasets}
    for (ds, _), result in zip(jobs, done, strict=True):
        cpu[ds].append(result["cpu_seconds"])
        for split in teacher[ds]:
            teacher[ds][split].append(result["teacher"][split])
        if "examples" in result:
            examples[ds] = result["examples"]
        for key, rec in result["methods"].items():
            cell = runs[ds].setdefault(key, {"positions": 0, "shifts": 0})
            for metric in ("acc_in_distribution", "acc_shifted", "out_of_window", "seconds"):
                cell.setdefault(metric, []).append(rec[metric])
            for hist in ("positions", "shifts"):
                cell[hist] = (np.asarray(cell[hist]) + np.asarray(rec[hist])).tolist()
    for ds in args.datasets:
        for key, cell in runs[ds].items():
            print(
                f"  {key:<28} {ds:<8} in-distribution {np.mean(cell['acc_in_distribution']):.3f}"
                f"  shifted {np.mean(cell['acc_shifted']):.3f}"
                f" (min {np.min(cell['acc_shifted']):.3f})"
                f"  {np.mean(cell['seconds']):.1f} s/run",
                flush=True,
            )
    return runs, teacher, examples, cpu


def seed_sets(n: int) -> dict[str, tuple[int, int]]:
    """The seed ranges [first, end) the paired tests are made on, of ``n`` seeds: the
    ``selection`` seeds (those the variants were chosen on), the fresh ``confirmation``
    seeds after them and ``all``; each only when it holds two seeds or more and differs
    from the others."""
    sets = {"selection": (0, min(n, SELECTION_SEEDS))}
    if n - SELECTION_SEEDS >= 2:
        sets["confirmation"] = (SELECTION_SEEDS, n)
    if n > SELECTION_SEEDS:
        sets["all"] = (0, n)
    return {name: (a, b) for name, (a, b) in sets.items() if b - a >= 2}


def summarise(runs: dict) -> dict:
    """Per data set: per method the t-intervals of the accuracies and of the out-of-window
    fraction; per seed set (:func:`seed_sets`) the paired tests of ``COMPARISONS`` (those
    whose methods ran) on shifted accuracy, each with ``p_holm``, its p-value adjusted
    (Holm) for the number of comparisons made on that data set and seed set."""
    out: dict = {}
    for ds, cells in runs.items():
        metrics = ("acc_in_distribution", "acc_shifted", "out_of_window")
        n = min(len(c["acc_shifted"]) for c in cells.values())
        paired: dict = {}
        for name, (a0, a1) in seed_sets(n).items():
            tests = {
                f"{a} vs {b}": paired_test(
                    cells[a]["acc_shifted"][a0:a1], cells[b]["acc_shifted"][a0:a1]
                )
                for a, b in COMPARISONS
                if a in cells and b in cells
            }
            adjusted = holm([t["p"] for t in tests.values()])
            for test, p in zip(tests.values(), adjusted, strict=True):
                test["p_holm"] = p
            paired[name] = {"seeds": [a0, a1 - 1], "tests": tests}
        out[ds] = {
            "intervals": {k: {m: t_interval(c[m]) for m in metrics} for k, c in cells.items()},
            "paired": paired,
        }
    return out
