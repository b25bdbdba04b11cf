"""Deployable policies (quadgym/export.py, quadgym/deploy.py, scripts/export.py): the shipped
hover baseline exported to ONNX, TorchScript and NumPy acts as the plugin does."""

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import onnxruntime
import pytest
import torch
from scriptload import load_script

import quadgym
from quadgym.deploy import MLPPolicy
from quadgym.export import mlp_policy
from quadgym.runs.load import load_run

RUN = str(Path(__file__).resolve().parents[1] / "baselines" / "QuadHover-v0-ppo-s0")
#: float32 round-off of a 22-64-64-4 MLP whose inputs the plugin normalises in float64
ROUND_OFF = 2e-6


@pytest.fixture(scope="module")
def plugin_and_observations():
    """The shipped hover run and 480 observations it meets: two episodes it flies itself
    from ground starts, and as many far out of them (beyond VecNormalize's clip)."""
    _, algo = load_run(RUN)
    env = gym.make("QuadHover-v0")
    seen = []
    for seed in (1000, 1001):
        obs, _ = env.reset(seed=seed)
        for _ in range(120):
            seen.append(obs)
            obs, *_ = env.step(algo.act(obs))
    env.close()
    seen = np.array(seen, dtype=np.float32)
    far = np.random.default_rng(0).normal(0.0, 5.0, seen.shape).astype(np.float32)
    return algo, np.concatenate([seen, far])


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "numpy"])
def test_the_exported_policy_acts_as_the_plugin(fmt, plugin_and_observations, tmp_path):
    algo, obs = plugin_and_observations
    out = tmp_path / f"policy.{fmt}"
    assert load_script("export").main(["--run", RUN, "--format", fmt, "--out", str(out)]) == 0
    expected = algo.act(obs)
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        (got,) = session.run(["action"], {"obs": obs})
    elif fmt == "torchscript":
        got = torch.jit.load(str(out))(torch.from_numpy(obs)).numpy()
    else:
        got = MLPPolicy.load(out).act(obs)
    assert got.shape == expected.shape == (480, 4) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=ROUND_OFF)
    assert np.abs(expected).max() == 1.0  # the far observations reach the action clip


def test_the_numpy_runner_acts_one_observation_and_imports_no_torch(
    plugin_and_observations, tmp_path
):
    algo, obs = plugin_and_observations
    mlp_policy(algo).save(tmp_path / "p.npz")
    code = (
        "import sys, numpy as np\n"
        "from quadgym.deploy import MLPPolicy\n"
        f"p = MLPPolicy.load({str(tmp_path / 'p.npz')!r})\n"
        f"print(list(p.act(np.load({str(tmp_path / 'o.npy')!r}))), 'torch' in sys.modules)\n"
    )
    np.save(tmp_path / "o.npy", obs[5])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("] False")
    np.testing.assert_allclose(
        MLPPolicy.load(tmp_path / "p.npz").act(obs[5]), algo.act(obs[5]), atol=ROUND_OFF
    )


def test_a_policy_without_an_mlp_is_refused_by_name():
    pid = quadgym.make_algo("pid", "QuadHover-v0")
    with pytest.raises(ValueError, match="this plugin's policy is NoneType"):
        mlp_policy(pid)


def test_export_refuses_a_directory_that_is_not_a_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script("export").main(["--run", str(tmp_path), "--format", "onnx"])
    assert exit_info.value.code == 2 and "has no state.json" in capsys.readouterr().err
