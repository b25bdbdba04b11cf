"""Deployable policies: a trained run's deterministic policy, its observation normalisation
folded in, as ONNX, TorchScript or a NumPy ``.npz`` (:mod:`quadgym.deploy` runs it).

Each format computes :class:`quadgym.deploy.MLPPolicy`'s three lines, so the exported file
takes the env's raw observation and returns the action the plugin's ``act`` would (its
VecNormalize statistics as constants, the action clipped to the action space), to float32
round-off: the plugin normalises in float64 and then casts, the files in float32.

Exportable: SB3's on-policy MLP policies (``ppo``, ``ppo_shared``) over a Box observation
(``obs_type="kin"``); an image extractor, a squashed (SDE) or an off-policy actor is refused
by name. An asymmetric actor-critic (``asymmetric_critic``) exports its actor alone, on the
env's observation without the privileged columns. The ONNX graph is written with
``onnx.helper`` from the weights (opset 17; plain Gemm, Tanh/Relu, Max/Min), not traced, so
it does not depend on torch's exporter.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from quadgym.deploy import MLPPolicy
from quadgym.files import atomic_write_bytes

#: format -> file suffix.
FORMATS = {"onnx": ".onnx", "torchscript": ".pt", "numpy": ".npz"}
#: The ONNX opset the graph is written for.
OPSET = 17


def mlp_policy(algo: Any) -> MLPPolicy:
    """The deterministic policy of an SB3 plugin (``algo.model``, ``algo.venv``) as plain
    float32 arrays.

    Raises:
        ValueError: a policy this module cannot export (naming what it is).
    """
    import gymnasium as gym
    import torch
    from stable_baselines3.common.policies import ActorCriticPolicy
    from stable_baselines3.common.torch_layers import FlattenExtractor
    from stable_baselines3.common.vec_env import VecNormalize

    name = getattr(algo, "name", type(algo).__name__)
    model = getattr(algo, "model", None)
    policy = getattr(model, "policy", None)
    if not isinstance(policy, ActorCriticPolicy):
        raise ValueError(
            f"{name}: export takes SB3's on-policy MLP policies (ppo, ppo_shared); "
            f"this plugin's policy is {type(policy).__name__}"
        )
    extractor = policy.pi_features_extractor
    if not isinstance(extractor, FlattenExtractor) or not isinstance(
        model.observation_space, gym.spaces.Box
    ):
        raise ValueError(
            f"{name}: export takes a Box observation through SB3's FlattenExtractor; this "
            f"policy reads {type(model.observation_space).__name__} through "
            f"{type(extractor).__name__} (an image observation)"
        )
    if policy.squash_output or not isinstance(model.action_space, gym.spaces.Box):
        raise ValueError(f"{name}: export takes unsquashed Box actions (no SDE)")
    activations = {torch.nn.Tanh: "tanh", torch.nn.ReLU: "relu"}
    linears, seen = [], set()
    for layer in [*policy.mlp_extractor.policy_net, policy.action_net]:
        if isinstance(layer, torch.nn.Linear):
            linears.append(layer)
        elif type(layer) in activations:
            seen.add(activations[type(layer)])
        else:
            raise ValueError(f"{name}: export knows Linear, Tanh and ReLU, not {layer!r}")
    if len(seen) > 1:
        raise ValueError(f"{name}: one activation throughout, got {sorted(seen)}")
    obs_dim = int(np.prod(model.observation_space.shape))
    mean, std, clip = np.zeros(obs_dim), np.ones(obs_dim), np.inf
    venv = getattr(algo, "venv", None)
    if isinstance(venv, VecNormalize) and venv.norm_obs:
        mean, clip = venv.obs_rms.mean, float(venv.clip_obs)
        std = np.sqrt(venv.obs_rms.var + venv.epsilon)
    # an asymmetric actor-critic's actor (quadgym.agents.sb3.asymmetric) reads the columns
    # before the privileged ones: the exported policy takes the env's own observation
    keep = getattr(extractor, "keep", obs_dim)
    mean, std = mean[:keep], std[:keep]

    def f32(x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float32)

    return MLPPolicy(
        obs_mean=f32(mean),
        obs_std=f32(std),
        obs_clip=clip,
        weights=tuple(f32(layer.weight.detach().numpy()) for layer in linears),
        biases=tuple(f32(layer.bias.detach().numpy()) for layer in linears),
        activation=seen.pop() if seen else "tanh",
        action_low=f32(model.action_space.low),
        action_high=f32(model.action_space.high),
    )


def onnx_bytes(policy: MLPPolicy) -> bytes:
    """The policy as an ONNX model: input ``obs`` (batch, obs_dim) float32, output ``action``
    (batch, act_dim) float32; checked by ``onnx.checker``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    consts = {
        "obs_mean": policy.obs_mean,
        "obs_std": policy.obs_std,
        "clip_low": np.float32(-policy.obs_clip),
        "clip_high": np.float32(policy.obs_clip),
        "action_low": policy.action_low,
        "action_high": policy.action_high,
    }
    nodes = [
        helper.make_node("Sub", ["obs", "obs_mean"], ["centred"]),
        helper.make_node("Div", ["centred", "obs_std"], ["scaled"]),
        helper.make_node("Max", ["scaled", "clip_low"], ["floored"]),
        helper.make_node("Min", ["floored", "clip_high"], ["x0"]),
    ]
    act = {"tanh": "Tanh", "relu": "Relu"}[policy.activation]
    last = len(policy.weights) - 1
    for k, (w, b) in enumerate(zip(policy.weights, policy.biases, strict=True)):
        consts[f"weight_{k}"], consts[f"bias_{k}"] = w, b
        out = f"h{k}" if k < last else "raw_action"
        nodes.append(
            helper.make_node("Gemm", [f"x{k}", f"weight_{k}", f"bias_{k}"], [out], transB=1)
        )
        if k < last:
            nodes.append(helper.make_node(act, [out], [f"x{k + 1}"]))
    nodes += [
        helper.make_node("Max", ["raw_action", "action_low"], ["floored_action"]),
        helper.make_node("Min", ["floored_action", "action_high"], ["action"]),
    ]
    act_dim = policy.weights[-1].shape[0]
    graph = helper.make_graph(
        nodes,
        "quadgym_policy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", policy.obs_dim])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", act_dim])],
        initializer=[
            numpy_helper.from_array(np.asarray(v, dtype=np.float32), name)
            for name, v in consts.items()
        ],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="quadgym"
    )
    model.ir_version = 8  # readable by onnxruntime releases from 1.14 on
    onnx.checker.check_model(model)
    return model.SerializeToString()


def torchscript_bytes(policy: MLPPolicy) -> bytes:
    """The policy as a TorchScript module (``torch.jit.load(path)(obs)``)."""
    import torch

    class Deployed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[torch.nn.Module] = []
            act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[policy.activation]
            for k, (w, b) in enumerate(zip(policy.weights, policy.biases, strict=True)):
                linear = torch.nn.Linear(w.shape[1], w.shape[0])
                linear.weight.data, linear.bias.data = torch.from_numpy(w), torch.from_numpy(b)
                layers += [linear] if k == len(policy.weights) - 1 else [linear, act()]
            self.net = torch.nn.Sequential(*layers)
            for name in ("obs_mean", "obs_std", "action_low", "action_high"):
                self.register_buffer(name, torch.from_numpy(getattr(policy, name)))
            self.clip = float(policy.obs_clip)

        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            x = torch.clamp((obs - self.obs_mean) / self.obs_std, -self.clip, self.clip)
            return torch.minimum(torch.maximum(self.net(x), self.action_low), self.action_high)

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(Deployed().eval().requires_grad_(False)), buf)
    return buf.getvalue()


def export(policy: MLPPolicy, fmt: str, path: str | Path) -> Path:
    """Write ``policy`` in format ``fmt`` (one of :data:`FORMATS`) to ``path``, atomically.

    Raises:
        ValueError: an unknown format.
        ModuleNotFoundError: onnx missing for ``onnx`` (``pip install "quadgym[export]"``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    path = Path(path)
    if fmt == "numpy":
        policy.save(path)
    elif fmt == "onnx":
        atomic_write_bytes(path, onnx_bytes(policy))
    else:
        atomic_write_bytes(path, torchscript_bytes(policy))
    return path
