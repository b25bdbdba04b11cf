"""The two workloads of the "Python around Bullet" work, measured quickly and kept as a history.

    .venv/bin/python benchmarks/bench_overhead.py --label "what changed" [--repeats 3]

Workloads (240 Hz physics, 30 Hz control, ``pyb``, defaults otherwise), from
:mod:`workloads`: QuadHover-v0 with uniform random RPM actions in [-1, 1],
reset whenever an episode ends, ``step()`` only (6,000 steps); and
quad_swarm_v0 with 4, 16 and 64 drones under random actions, ``step()`` only,
counting live agent-steps (16,000 / 4 / 1 agent-steps' worth of env steps,
at least 400). Each figure is the median of ``--repeats`` runs.

Appends one row (label, commit, date, figures) to
``benchmarks/results/overhead.json`` so that each change's effect is on record
beside the one before it; ``--out`` writes elsewhere. About 30 s per repeat.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from record import arguments, git_commit, stamp, write_result
from workloads import hover_random, swarm_random

SWARM_SIZES = (4, 16, 64)


def measure(repeats: int) -> dict[str, float]:
    """Median figures of ``repeats`` runs of each workload."""
    runs = [hover_random("pyb", 1, 6000) for _ in range(repeats)]
    row = {
        "hover_step_only_steps_per_s": statistics.median(r["step_only_steps_per_s"] for r in runs),
        "hover_reset_ms": statistics.median(r["reset_ms"] for r in runs),
    }
    for n in SWARM_SIZES:
        runs = [swarm_random("pyb", n, max(400, 16000 // n)) for _ in range(repeats)]
        row[f"swarm{n}_agent_steps_per_s"] = statistics.median(r["agent_steps_per_s"] for r in runs)
        row[f"swarm{n}_drone_steps_per_s"] = statistics.median(r["drone_steps_per_s"] for r in runs)
    return {k: round(v, 3 if k.endswith("_ms") else 0) for k, v in row.items()}


def main() -> None:
    ap = arguments(__doc__, "overhead.json")
    ap.add_argument("--label", required=True, help="what this row measures (the change)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    meta = stamp(physics_hz=240, control_hz=30, repeats=args.repeats)
    path = Path(args.out)
    history = json.loads(path.read_text())["history"] if path.exists() else []
    row = {"label": args.label, "commit": git_commit(), "date_utc": meta["date_utc"]}
    row.update(measure(args.repeats))
    row["load_avg_1min"] = meta["load_avg_1min"]["start"]
    for key, value in row.items():
        print(f"{key:<32}{value}")
    write_result(
        path,
        meta,
        workloads={
            "hover": "QuadHover-v0 pyb, 1 cf2x, uniform random rpm actions in [-1, 1], reset "
            "when an episode ends; step() only",
            "swarm": "quad_swarm_v0 pyb, random actions in [-1, 1] for each live agent, reset "
            "once all are done; step() only; agent-steps count live agents, drone-steps all",
        },
        history=history + [row],
    )


if __name__ == "__main__":
    main()
