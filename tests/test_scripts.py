import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # ~16 s
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


def test_fly_pid_camera_writes_the_onboard_strip_and_video(tmp_path):
    """2 drones, 0.25 s at 240 Hz: panels every 10 control steps (24 frames/s) and the
    last one, 7 in the MP4; the strip holds 3 of them, each 3·128 = 384 wide and 288 +
    2·(96 + 2) tall (64x48 images scaled by 2)."""
    import imageio.v2 as imageio
    from scriptload import load_script

    from quadgym.envs.quad.sensors.pictures import GAP

    fly = load_script("fly_pid")
    argv = ["--drones", "2", "--duration", "0.25", "--camera", "--camera-frames", "3"]
    assert fly.main([*argv, "--output-dir", str(tmp_path)]) == 0
    strip = imageio.imread(tmp_path / "onboard.png")
    assert strip.shape == (288 + 2 * (96 + GAP), 3 * 384 + 2 * GAP, 3) == (484, 1156, 3)
    frames = imageio.mimread(tmp_path / "onboard.mp4")
    assert len(frames) == 7 and frames[0].shape == (484, 384, 3)


def test_evaluate_onboard_films_a_vision_run(tmp_path):
    """An untrained ppo run on QuadVisualReach-v0 (kin+rgb), one 0.4 s episode at 15 Hz:
    the reset and 6 steps make 7 panels, 4 of them in the strip (1 drone: 288 + 98 tall)."""
    import imageio.v2 as imageio
    from scriptload import load_script

    import quadgym

    run = tmp_path / "run"
    run.mkdir()
    config = {"n_envs": 1, "n_steps": 16, "batch_size": 16}
    quadgym.make_algo("ppo", "QuadVisualReach-v0", **config).save(run / "checkpoint.bin")
    state = {"env": "QuadVisualReach-v0", "algo": "ppo", "config": config}
    (run / "state.json").write_text(json.dumps(state))
    evaluate = load_script("evaluate")
    out = tmp_path / "out"
    argv = ["--run", str(run), "--episodes", "1", "--onboard", "--onboard-frames", "4"]
    argv += ["--out", str(out)]
    assert evaluate.main([*argv, "--env-kwargs", "{'episode_seconds': 0.4}"]) == 0
    assert imageio.imread(out / "onboard.png").shape == (386, 4 * 384 + 3 * 2, 3)
    assert len(imageio.mimread(out / "onboard.mp4")) == 7
    # the headline is the task's own success (before: hover's rule on every task)
    result = json.loads((out / "evaluation.json").read_text())
    assert result["success"] == [bool(m["reached"]) for m in result["task_metrics"]]
    assert result["success_rule"] == "reached the target"
    # the run directory is left as it was (it may be a shipped baseline)
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.bin", "state.json"]


def test_evaluate_onboard_refuses_a_run_without_drones(tmp_path, capsys):
    from scriptload import load_script

    (tmp_path / "state.json").write_text('{"env": "CoPGBandit-v0", "algo": "copg", "config": {}}')
    (tmp_path / "checkpoint.bin").write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        load_script("evaluate").main(["--run", str(tmp_path), "--onboard"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--onboard films drone envs (QuadGates-v0, QuadHover-v0" in err
    assert "is a run of CoPGBandit-v0" in err
