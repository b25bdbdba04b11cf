"""scripts/reproduce_hard.py, in-process: every key is written, each plugin's console line
carries its own name, and the position histogram covers the second half of each run, as
its docstring says."""

import json
from pathlib import Path

from scriptload import load_script

ROOT = Path(__file__).resolve().parents[1]


def test_writes_every_key_labels_and_second_half_histogram(tmp_path, capsys):
    script = load_script("reproduce_hard")
    budget, batch = 6, 4
    args = ["--out", tmp_path, "--seeds", 1, "--batch-size", batch, "--datasets", "toy,mnist1d"]
    script.main([str(a) for a in [*args, "--toy-budget", budget, "--mnist1d-budget", budget]])
    out = capsys.readouterr().out.splitlines()
    lines = [line.split()[:2] for line in out if "in-distribution" in line]
    keys = [*script.PLUGINS, "hard_grad_untrained"]
    assert lines == [[key, ds] for key in keys for ds in ("toy", "mnist1d")]
    results = json.loads((tmp_path / "results.json").read_text())
    for key in keys:
        for ds in ("toy", "mnist1d"):
            run = results[key][ds]
            assert len(run["acc_in_distribution"]) == 1 and 0 <= run["acc_shifted"][0] <= 1
            # one augmented pattern per signal per step, over the last budget - budget // 2 steps
            assert sum(run["positions"]) == (budget - budget // 2) * batch
    assert results["teacher"]["toy"]["shifted"][0] >= 0.99
    assert results["setup"]["seeds"] == 1
    assert (tmp_path / "augmentations.png").stat().st_size > 0
    assert (tmp_path / "accuracy.png").stat().st_size > 0
