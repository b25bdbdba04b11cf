#!/usr/bin/env bash
# Refresh every recorded result in benchmarks/results/ with the commands cited in
# benchmarks/README.md (no options beyond those, so each JSON's meta.command is the
# README's command). The figures are throughput and wall-clock times: run it on a quiet
# machine, nothing else running; each JSON records the 1-minute load average at its start
# and end, so a busy run shows. About 10 minutes on 2 cores.
#
#     bash benchmarks/record_all.sh                    # with .venv/bin/python
#     PYTHON=/path/to/python bash benchmarks/record_all.sh
#
# A benchmark that fails stops the script; the results already written stay, and each
# file is replaced atomically, so none is left half-written.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}

load=$(cut -d' ' -f1 /proc/loadavg)
echo "1-minute load average now: $load (on an idle machine it is well under 0.5)"
if [ -n "$(git status --porcelain -- . ':(exclude)benchmarks/results' 2>/dev/null)" ]; then
    echo "note: the tree has uncommitted changes; the results will say <commit>+dirty"
fi

run() {
    echo
    echo "+ $py $*"
    "$py" "$@"
}

run benchmarks/bench_hover.py
run benchmarks/bench_vector.py
run benchmarks/bench_swarm.py
run benchmarks/bench_toys.py
run benchmarks/bench_camera.py
run benchmarks/bench_rllib.py
run benchmarks/time_to_hover.py --steps 400000 --seeds 0,1,2
run benchmarks/time_to_hover.py --steps 1500000 --every 250000 --seeds 0,1,2 --num-envs 64

echo
echo "done: $(ls benchmarks/results/*.json | tr '\n' ' ')"
