import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_fly_pid_four_drones_headless(tmp_path):
    out = tmp_path / "run"
    video = tmp_path / "flight.mp4"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "fly_pid.py"),
            "--drones",
            "4",
            "--duration",
            "4",
            "--output-dir",
            str(out),
            "--video",
            str(video),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"MPLBACKEND": "Agg", "PATH": ""},
    )
    assert proc.returncode == 0, proc.stderr
    assert "real-time factor" in proc.stdout and proc.stdout.count("drone ") == 4
    data = np.load(out / "flight.npz")
    assert data["pos"].shape == (4 * 240, 4, 3) and data["rpm"].shape == (4 * 240, 4, 4)
    tracking = np.linalg.norm(data["pos"][-1] - data["set_point"][-1], axis=1)
    assert tracking.max() < 0.05
    with open(out / "flight.csv") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 4 * 240 + 1 and len(rows[0]) == 1 + 4 * 13
    assert (out / "flight.png").stat().st_size > 10_000
    assert video.stat().st_size > 1_000


def test_fly_pid_refuses_bad_rates(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "fly_pid.py"),
            "--control-hz",
            "7",
            "--output-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "does not divide" in proc.stderr


def test_parse_args_builds_options_from_the_dataclass():
    from dataclasses import dataclass

    from quadgym.cli import parse_args

    @dataclass
    class Args:
        out: str = "results/x"
        seeds: int = 3
        lr: float = 0.1

    args = parse_args(Args, "doc", ["--seeds", "5", "--lr", "2e-3"])
    assert args == Args(out="results/x", seeds=5, lr=2e-3)
    with pytest.raises(SystemExit) as exit_info:
        parse_args(Args, "doc", ["--seeds", "1"], check=lambda a: "need 2 seeds" * (a.seeds < 2))
    assert exit_info.value.code == 2
