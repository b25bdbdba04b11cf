"""Reproduce HARD's shift experiment on HardShift-v0 (Nix, Burg, Sinz 2023, arXiv 2305.14890).

    python scripts/reproduce_hard.py --out results/hard
    python scripts/reproduce_hard.py --out results/hard-full --full
    python scripts/reproduce_hard.py --out results/hard-toy --datasets toy --seeds 2 --workers 1
    python scripts/reproduce_hard.py --out results/hard-standard --seeds 10 \
        --methods kd_random_shift,kd_standard,hard,hard_warp_nearest,hard_warp_mix

A circular CNN teacher (exactly shift invariant) is distilled into an MLP student on
signals whose pattern only starts in positions 0..7. Every method runs one distillation
of ``toy_budget`` (toy: 8 classes, noise 0.3) or ``mnist1d_budget`` (MNIST-1D) student
updates per seed; seed s also draws the data set and the teacher (``task_seed = s``). We
report the student's accuracy where the training data put the pattern (in distribution)
and everywhere else (shifted).

Methods (quadgym.repro.hard_jobs.METHODS): ``kd`` (no augmentation), ``kd_noise``
(Gaussian noise), ``kd_random_shift`` (uniform shifts: the augmentation one designs knowing
the answer), ``kd_standard`` (the strongest standard augmentation of 1-D signals we built:
a random shift, a random smooth local warp and noise), ``hard`` (REINFORCE
policy over the shifts themselves), ``hard_warp``: a spatial-transformer generator of
smooth displacement fields, not handed the shift family (the env receives additive
perturbations), trained to maximise the teacher–student KL under a bound on the
transformation's size; ``hard_warp_nearest`` (the same, reading the warped signal at the
nearest sample: no interpolation blur), ``hard_warp_mix`` (HARD with the standard
augmentation: of each step's augmented signals a quarter are warped by that generator and
the rest randomly shifted) and its ablation ``hard_warp_mix_untrained`` (the generator
frozen at initialisation: random warps). With ``--full`` also ``hard_grad`` (a shift
generator with a noise input, gradient ascent on the KL) and its ablations
``hard_grad_no_noise`` (no noise input) and ``hard_grad_untrained`` (learning rate 0: its
noise alone), ``hard_warp_pathwise`` (gradient ascent instead of the score estimator),
``hard_warp_nearest_untrained`` and ``hard_warp_composed`` (the generator warps signals
that were randomly shifted first). ``--methods`` runs only those named.

Statistics (quadgym.repro.hard_jobs): mean over seeds with a 95 % t-interval; paired
two-sided t-tests over seeds (``quadgym.stats.paired_test``) for the comparisons in
``COMPARISONS``, on the seeds the variants were chosen on (0-4, ``selection``), on the fresh
seeds after them (``confirmation``) and on all, each with Holm-adjusted p-values over the
comparisons of its data set and seed set. Tables: quadgym.repro.hard_tables; figures:
quadgym.repro.hard_figures.

Writes to ``--out``: ``results.json`` (``setup``; ``runs``: per data set, per method,
per-seed lists ``acc_in_distribution``, ``acc_shifted``, ``out_of_window`` (fraction of
augmented patterns outside the window over the second half of the run), ``seconds``, and
the ``positions`` and ``shifts`` histograms over the second half summed over seeds;
``teacher``; ``summary``: intervals and paired tests; ``examples``: per data set, the
warps of a few signals by each of ``EXAMPLE_METHODS``, seed 0; ``seconds``, wall;
``cpu_seconds``, per data set and seed, of the process that ran it; written last, through a
temporary file and a rename, so that it exists only for a finished run), ``tables.md``,
``accuracy.png`` (the paper's bar chart of accuracy per method, redrawn), ``shifts.png``
(the shifts the augmentors induce and where they put the pattern) and ``warps.png`` (the
augmented inputs of ``EXAMPLE_METHODS`` next to the originals, with their displacement
fields).
"""

import dataclasses
import json
import time
from pathlib import Path
from typing import Literal

import torch

from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.envs.hard.data import DATASETS
from quadgym.files import atomic_write_bytes
from quadgym.repro.hard_figures import FIGURES, plot_accuracy, plot_shifts, plot_warps
from quadgym.repro.hard_jobs import FULL_ONLY, METHODS, collect, methods_of, summarise
from quadgym.repro.hard_tables import tables

Dataset = Literal[DATASETS]
Method = Literal[(*METHODS, *FULL_ONLY)]


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    out: str = param("results/hard", "output directory (results.json, tables.md, the figures)")
    seeds: int | None = param(
        None,
        "seeds per method: 0, 1, ...; seed s also draws data and teacher; none: 5, 10 with --full",
        ge=1,
    )
    # at least 2: the histograms cover the second half of each run
    toy_budget: int = param(600, "student updates per run on the toy data set", ge=2)
    mnist1d_budget: int = param(3000, "student updates per run on MNIST-1D", ge=2)
    batch_size: int = param(32, "signals per student update", ge=1)
    window: int = param(8, "positions 0..window-1 where training patterns start", ge=1)
    datasets: tuple[Dataset, ...] = param(DATASETS, "data sets to run, comma-separated")
    workers: int = param(2, "processes (1: in this process); each runs whole seeds", ge=1)
    full: bool = param(
        False, "10 seeds (unless --seeds is given) and the ablations of FULL_ONLY (docs/hard.md)"
    )
    methods: tuple[Method, ...] = param(
        (), "only these methods, comma-separated (any of the default run's and --full's)"
    )

    def check(self) -> None:
        """At least one data set, each once; methods each once."""
        if not self.datasets or len(set(self.datasets)) < len(self.datasets):
            raise ValueError(f"datasets must name each data set once, got {self.datasets}")
        if len(set(self.methods)) < len(self.methods):
            raise ValueError(f"methods must name each method once, got {self.methods}")


def main(argv: list[str] | None = None) -> dict:
    """Run, print and write everything; returns what results.json holds."""
    args = parse_args(Args, __doc__, argv)
    if args.seeds is None:
        args = dataclasses.replace(args, seeds=10 if args.full else 5)
    torch.set_num_threads(1)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # what an earlier run wrote is never left beside this run's (figures included)
    for stale in ("tables.md", "results.json", *FIGURES):
        (out / stale).unlink(missing_ok=True)
    runs, teacher, examples, cpu = collect(args)
    summary = summarise(runs)
    text = tables(summary, teacher, args.seeds)
    print(text)
    atomic_write_bytes(out / "tables.md", text.encode())
    plot_accuracy(summary, out / "accuracy.png")
    plot_shifts(runs, args.window, out / "shifts.png")
    plot_warps(examples, out / "warps.png")
    seconds = time.perf_counter() - start
    written = {
        "setup": {
            **args.to_dict(),
            "env": "HardShift-v0",
            "student": "MLP 2x128",
            "teacher": "circular CNN 2x32, kernel 7, global max",
            "methods": {k: {"plugin": p, **c} for k, (p, c) in methods_of(args).items()},
        },
        "runs": runs,
        "teacher": teacher,
        "summary": summary,
        "examples": examples,
        "seconds": seconds,
        "cpu_seconds": cpu,
    }
    atomic_write_bytes(out / "results.json", json.dumps(written, indent=1).encode())
    total = sum(map(sum, cpu.values()))
    print(f"wrote {out}/ (results.json, tables.md, accuracy.png, shifts.png, warps.png)")
    print(f"in {seconds:.0f} s; CPU {total:.0f} s in {args.workers} worker(s)")
    return written


if __name__ == "__main__":
    main()
