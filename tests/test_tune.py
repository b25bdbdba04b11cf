"""scripts/tune.py: sweeps on Ray Tune whose trials are scripts/train.py runs.

The sweeps are small (2 learning rates x 2 seeds of the copg plugin on CoPGBandit-v0,
40 epochs each, a few seconds a trial); the better learning rate is known: at lr 0.01
the KL to the optimal policy falls to ~1e-4 in 40 epochs, at 1e-4 it stays at ~0.54.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from scriptload import load_script

pytest.importorskip("ray.tune")

tune = load_script("tune")
from quadgym.sweep import checked_space, last_value, split_values  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SWEEP = [
    "--env",
    "CoPGBandit-v0",
    "--algo",
    "copg",
    "--steps",
    "40",
    "--space",
    "lr=grid(0.01,0.0001)",
    "--seeds",
    "0,1",
    "--metric",
    "kl_to_optimal",
    "--mode",
    "min",
]


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["--space", "lrr=grid(0.1)"], "unknown key 'lrr'; did you mean 'lr'?"),
        (["--space", "lr=grid(-1,0.1)"], "lr must be > 0, got -1.0"),
        (["--space", "lr=loguniform(0,1)"], "lr must be > 0, got 0.0"),
        (["--space", "lr=uniform(0.1,0.01)"], "needs numbers, low < high"),
        (["--space", "lr=normal(1,2)"], "KIND one of grid, choice"),
        (["--space", "lr=grid()"], "takes one or more values"),
        (["--space", "seed=grid(1,2)"], "the seed is swept by --seeds"),
        (["--space", "schedule=choice(constant,linear)"], "schedule"),
        # before: -1 failed inside Ray once it had started, leaving a sweep directory
        (["--seeds=-1"], "--seeds must be distinct integers >= 0, got [-1]"),
        (["--seeds", "1,1"], "--seeds must be distinct integers >= 0, got [1, 1]"),
        # before: a FileNotFoundError traceback
        (["--space-file", "missing.yaml"], "--space-file missing.yaml is not readable"),
    ],
)
def test_a_bad_space_is_refused_before_ray_starts(words, message, tmp_path, capsys):
    import ray

    argv = ["--env", "CoPGBandit-v0", "--algo", "copg", "--steps", "4", *words]
    with pytest.raises(SystemExit) as exit_info:
        tune.main([*argv, "--out", str(tmp_path / "sweep")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not ray.is_initialized() and not (tmp_path / "sweep").exists()


def test_a_non_empty_out_that_is_no_sweep_is_refused(tmp_path, capsys):
    import ray

    out = tmp_path / "sweep"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    with pytest.raises(SystemExit):
        tune.main(["--env", "CoPGBandit-v0", "--algo", "copg", "--steps", "4", "--out", str(out)])
    assert "is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"] and not ray.is_initialized()


def test_an_interrupted_sweeps_outputs_name_its_unfinished_trials(tmp_path):
    """summarize() with Tune's statuses: a trial still RUNNING at the end of the session
    and one never started are named, left out of the ranking, and best.md says it is
    partial (before: 1 of 2 configs ranked, nothing said)."""
    from types import SimpleNamespace

    out = tmp_path / "sweep"
    run = out / "trials" / "t1"
    run.mkdir(parents=True)
    (run / "state.json").write_text('{"done": 400}')
    (run / "metrics.csv").write_text("step,kl_to_optimal\n400,0.5\n")
    half = out / "trials" / "t2"
    half.mkdir()
    (half / "state.json").write_text('{"done": 120}')
    (half / "metrics.csv").write_text("step,kl_to_optimal\n120,0.1\n")
    settings = {
        "metric": "kl_to_optimal", "mode": "min", "keys": ["lr"], "algo": "copg",
        "env": "CoPGBandit-v0", "argv": ["--steps", "400"], "samples": 1, "seeds": [0],
        "space": ["lr=grid(0.01,0.001,0.0001)"],
    }  # fmt: skip
    results = [
        SimpleNamespace(config={"lr": 0.01, "seed": 0}, metrics={"trial_id": "t1"}, error=None),
        SimpleNamespace(config={"lr": 0.001, "seed": 0}, metrics={"trial_id": "t2"}, error=None),
    ]
    summary, left = tune.summarize(out, results, settings, {"t1": "TERMINATED", "t2": "RUNNING"})
    assert [s["lr"] for s in summary] == [0.01]  # the better-looking partial one is not ranked
    assert [r["status"] for r in left] == ["unfinished", "not started"]
    statuses = {r["lr"]: r["status"] for r in rows(out)}
    assert statuses == {"0.001": "unfinished", "0.01": "finished", "": "not started"}
    best = (out / "best.md").read_text()
    assert "Incomplete: 2 of 3 trials did not finish" in best and "1 trial(s) not started" in best


def test_space_words_and_files_parse_to_typed_values(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("beta:\n  loguniform: [0.01, 1.0]\nschedule:\n  choice: [constant, cosine]\n")
    args = tune.Args(
        env="CoPGBandit-v0",
        algo="copg",
        steps=4,
        space=("lr=grid(0.01, 0.001)", "n_pairs=choice(100,1000)"),
        space_file=str(path),
    )
    space = checked_space(args.algo, args.space, args.space_file)
    assert space["lr"] == ("grid", [0.01, 0.001])
    assert space["n_pairs"] == ("choice", [100, 1000])  # typed by the field: int
    assert space["beta"] == ("loguniform", [0.01, 1.0])
    assert space["schedule"] == ("choice", ["constant", "cosine"])
    assert split_values("(0.2, 0.3), (0.1,0.7)") == ["(0.2, 0.3)", "(0.1,0.7)"]


def check_tiny_sweep(out: Path, extra: list[str]) -> None:
    """The copg sweep into ``out``: one scripts/train.py run directory per trial, at its
    full budget, and lr 0.01 ranked above 1e-4."""
    assert tune.main([*SWEEP, "--scheduler", "fifo", *extra, "--out", str(out)]) == 0
    trials = rows(out)
    assert sorted((r["lr"], r["seed"]) for r in trials) == [
        ("0.0001", "0"),
        ("0.0001", "1"),
        ("0.01", "0"),
        ("0.01", "1"),
    ]
    for r in trials:  # each trial is a scripts/train.py run of its own
        run = Path(r["run"])
        state = json.loads((run / "state.json").read_text())
        assert state["done"] == state["total"] == 40 and r["done"] == "40"
        assert state["config"] == {"seed": int(r["seed"]), "lr": float(r["lr"])}
        assert (run / "checkpoint.bin").is_file() and (run / "tb").is_dir()
        assert float(r["kl_to_optimal"]) == pytest.approx(last_value(run, "kl_to_optimal"))
    best = (out / "best.md").read_text().splitlines()
    table = [line for line in best if line.startswith("| 0.")]
    assert table[0].startswith("| 0.01 |") and table[1].startswith("| 0.0001 |")
    assert (out / "curves.png").stat().st_size > 5000


@pytest.mark.ray
@pytest.mark.slow  # two Ray starts and a kill: ~40 s on 2 cores
def test_a_killed_sweep_resumes_without_repeating_finished_trials(tmp_path, ray_alone):
    """kill -9 of the driver once a trial has finished, then --resume: every trial ends
    at its full budget, the finished ones untouched (never resumed, same checkpoint), the
    unfinished ones continued from their run directory."""
    out = tmp_path / "sweep"
    argv = [*SWEEP, "--steps", "400", "--scheduler", "fifo", "--max-concurrent", "1"]
    # this tree (its quadgym and its scripts), not an installed one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "scripts")])}
    driver = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "tune.py"), *argv, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )

    def finished() -> list[Path]:
        states = (out / "trials").glob("*/state.json")
        return [p.parent for p in states if json.loads(p.read_text())["done"] == 400]

    deadline = time.monotonic() + 240
    while not finished() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert finished(), "no trial finished in 240 s"
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    time.sleep(2)  # Ray's processes share the driver's fate
    first = {run: (run / "checkpoint.bin").read_bytes() for run in finished()}
    assert len(first) < 4
    assert tune.main(["--resume", str(out)]) == 0
    trials = rows(out)
    assert len(trials) == 4 and len({r["run"] for r in trials}) == 4
    assert len(list((out / "trials").glob("*/state.json"))) == 4
    for r in trials:
        state = json.loads((Path(r["run"]) / "state.json").read_text())
        assert state["done"] == 400, r
    for run, checkpoint in first.items():
        assert (run / "checkpoint.bin").read_bytes() == checkpoint
        assert json.loads((run / "state.json").read_text())["resumes"] == []


@pytest.mark.ray
@pytest.mark.slow  # the sweep on an embedded Ray, then on a head node: ~30 s on 2 cores
def test_a_tiny_sweep_embedded_and_on_a_running_head_node(tmp_path, ray_alone):
    """On the embedded Ray: one scripts/train.py run directory per trial, the better rate
    first. Then `ray start --head` on 127.0.0.1 (stopped at the end) and the same sweep with
    --address: the same trials and the same last metric per trial."""
    check_tiny_sweep(tmp_path / "local", [])  # before the head node: one Ray at a time
    # a test cluster on loopback, without Ray's token authentication: the head and the
    # driver are processes of their own (Ray reads the mode once per process)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    port = 6390 + os.getpid() % 50
    ray_cli = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port)]
        + ["--num-cpus", "2", "--include-dashboard=false", "--disable-usage-stats", "--block"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=env,
    )
    try:
        for line in head.stdout:  # up once it says so
            if "Ray runtime started" in line:
                break
        else:
            pytest.fail("ray start --head ended before the runtime started")
        out = tmp_path / "cluster"
        argv = [*SWEEP, "--scheduler", "fifo", "--address", f"127.0.0.1:{port}", "--out", str(out)]
        driver = [sys.executable, str(ROOT / "scripts" / "tune.py"), *argv]
        done = subprocess.run(driver, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        os.killpg(head.pid, signal.SIGKILL)  # the head and the processes it started
        head.wait()
        # Ray's note of the last cluster started here would outlive it (as `ray stop` does)
        current = Path(tempfile.gettempdir(), "ray", "ray_current_cluster")
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()
    tables = {
        name: sorted((r["lr"], r["seed"], r["done"], r["kl_to_optimal"]) for r in rows(path))
        for name, path in (("local", tmp_path / "local"), ("cluster", out))
    }
    assert tables["cluster"] == tables["local"]


@pytest.mark.ray
@pytest.mark.slow  # 4 trials of 65k batched steps: ~25 s on 2 cores
def test_a_tiny_hover_sweep_ranks_a_learning_rate_that_learns_first(tmp_path, ray_alone):
    """ppo on 64 lanes of QuadHover-v0's batched backend, 65k steps a trial: at lr 1e-3 the
    mean return climbs to ~34 (seeds 0, 1), at 1e-6 it stays at ~12."""
    out = tmp_path / "hover"
    argv = ["--env", "QuadHover-v0", "--algo", "ppo", "--num-envs", "64", "--steps", "65536"]
    argv += ["--space", "learning_rate=grid(0.001,0.000001)", "--seeds", "0,1"]
    assert tune.main([*argv, "--scheduler", "fifo", "--out", str(out)]) == 0
    returns = {}
    for r in rows(out):
        returns.setdefault(r["learning_rate"], []).append(float(r["mean_return"]))
        assert r["done"] == "65536"
    assert min(returns["0.001"]) > max(returns["1e-06"]) + 10, returns
    table = [line for line in (out / "best.md").read_text().splitlines() if line.startswith("| ")]
    assert table[1].startswith("| 0.001 |")


@pytest.mark.parametrize(
    ("algo", "env", "logs"),
    [
        # the preference plugins log their problem's metrics: probed on the env
        ("dpo", "CoPGBandit-v0", "kl_to_optimal"),
        # the distillation plugins declare theirs
        ("hard", "HardShift-v0", "policy_entropy"),
    ],
)
def test_a_metric_the_plugin_does_not_log_on_the_env_is_refused_before_ray(
    algo, env, logs, tmp_path, capsys
):
    """Before: a --metric these plugins never log failed inside Ray ("did not include the
    specified metric"), after it had started and made the sweep directory."""
    import ray

    argv = ["--env", env, "--algo", algo, "--steps", "4", "--metric", "bogus"]
    with pytest.raises(SystemExit) as exit_info:
        tune.main([*argv, "--out", str(tmp_path / "sweep")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert f"--metric 'bogus': {algo} on {env} logs" in err and logs in err
    assert not ray.is_initialized() and not (tmp_path / "sweep").exists()
