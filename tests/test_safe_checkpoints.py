"""Loading a run directory never runs code from it (issue: a crafted checkpoint.bin ran
``os.system`` under evaluate, train --resume and benchmark).

A checkpoint is tensors plus plain data read with ``torch.load(weights_only=True)``; the old
pickled formats are refused with a message that says why, and converted only on request
(``scripts/convert_checkpoint.py --trust``)."""

import io
import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from scriptload import load_script

import quadgym
from quadgym.agents.checkpoint import (
    FORMAT,
    UnsafeCheckpointError,
    load_plain,
    write_checkpoint,
)

ROOT = Path(__file__).resolve().parents[1]
BASELINES = sorted((ROOT / "baselines").glob("*/checkpoint.bin"))
HOVER_RUN = ROOT / "baselines" / "QuadHover-v0-ppo-s0"


class _Marker:
    """Unpickling this writes a marker file: what a crafted checkpoint does."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def crafted_run(tmp_path: Path, marker: Path) -> Path:
    """A run directory whose state.json is a real run's and whose checkpoint.bin, when
    unpickled, writes ``marker``."""
    run = tmp_path / "crafted"
    run.mkdir()
    shutil.copy(HOVER_RUN / "state.json", run / "state.json")
    buf = io.BytesIO()
    torch.save({"algo": "ppo", "env": "QuadHover-v0", "payload": _Marker(marker)}, buf)
    (run / "checkpoint.bin").write_bytes(buf.getvalue())
    return run


def test_the_crafted_file_would_run_code_if_unpickled(tmp_path):
    """The control: the file is a real exploit (an unsafe load writes the marker)."""
    marker = tmp_path / "pwned"
    run = crafted_run(tmp_path, marker)
    torch.load(run / "checkpoint.bin", weights_only=False)  # what quadgym 0.1 did
    assert marker.exists()


@pytest.mark.parametrize(
    "command",
    [
        ("evaluate", "--run", "{run}", "--episodes", "1"),
        ("train", "--resume", "{run}", "--steps", "2000000"),
        (
            "benchmark",
            "--tasks",
            "QuadHover-v0",
            "--controllers",
            "{run}",
            "--episodes",
            "1",
            "--out",
            "{tmp}/bench",
        ),
    ],
    ids=["evaluate", "train-resume", "benchmark"],
)
def test_no_script_runs_code_from_a_crafted_checkpoint(tmp_path, capsys, command):
    """Each script's ``main`` in this process (tests/scriptload.py: no interpreter start):
    the code would run here as in a process of its own, and the marker would show it."""
    marker = tmp_path / "pwned"
    run = crafted_run(tmp_path, marker)
    name, *args = command
    with pytest.raises(SystemExit) as exit_info:
        load_script(name).main([a.format(run=run, tmp=tmp_path) for a in args])
    assert not marker.exists(), "the checkpoint's code ran"
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert "holds Python objects that loading would run" in err, err[-2000:]


def test_a_crafted_file_is_refused_by_load_plain_and_names_the_global(tmp_path):
    marker = tmp_path / "pwned"
    run = crafted_run(tmp_path, marker)
    with pytest.raises(UnsafeCheckpointError, match="system"):
        load_plain(run / "checkpoint.bin")
    assert not marker.exists()


def test_an_old_sb3_checkpoint_is_refused_with_the_way_to_convert_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.bin"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("quadgym.txt", "ppo\nQuadHover-v0\n")
        z.writestr("model.zip", b"")
        z.writestr("obs_rms.pkl", pickle.dumps(_Marker(marker)))
    with pytest.raises(UnsafeCheckpointError, match="convert_checkpoint.py --trust --runs"):
        load_plain(path)
    assert not marker.exists()


def test_garbage_is_unreadable_not_unsafe(tmp_path):
    path = tmp_path / "checkpoint.bin"
    path.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="not a readable checkpoint") as info:
        load_plain(path)
    assert not isinstance(info.value, UnsafeCheckpointError)


@pytest.mark.parametrize("path", BASELINES, ids=[p.parent.name for p in BASELINES])
def test_every_shipped_baseline_is_in_the_safe_format(path):
    ckpt = load_plain(path)
    assert ckpt["format"] == FORMAT
    assert ckpt["env"] == json.loads((path.parent / "state.json").read_text())["env"]


def test_write_checkpoint_refuses_an_object_in_the_state(tmp_path):
    algo = quadgym.make_algo("copg", "CoPGBandit-v0")

    class Thing:
        pass

    with pytest.raises(TypeError, match=r"state\['thing'\] is a .*Thing"):
        write_checkpoint(algo, tmp_path / "c.bin", {"thing": Thing()})
    assert not (tmp_path / "c.bin").exists()


def test_numpy_arrays_round_trip_bit_for_bit(tmp_path):
    algo = quadgym.make_algo("copg", "CoPGBandit-v0")
    arrays = {
        "f64": np.random.default_rng(0).normal(size=(3, 4)),
        "i64": np.arange(5, dtype=np.int64),
        "bool": np.array([True, False]),
        "scalar": np.float32(1.5),
    }
    write_checkpoint(algo, tmp_path / "c.bin", {"arrays": arrays})
    back = load_plain(tmp_path / "c.bin")["arrays"]
    for key in ("f64", "i64", "bool"):
        assert back[key].dtype == arrays[key].dtype
        np.testing.assert_array_equal(back[key], arrays[key])
    assert back["scalar"] == 1.5 and isinstance(back["scalar"], float)


SB3_SMALL = {
    "ppo": {"n_envs": 1, "n_steps": 64, "batch_size": 32, "seed": 3},
    "sac": {"n_envs": 1, "learning_starts": 16, "buffer_size": 500, "seed": 3},
}


@pytest.mark.parametrize("name", sorted(SB3_SMALL))
def test_an_sb3_checkpoint_restores_weights_optimiser_counters_and_statistics(tmp_path, name):
    torch.set_num_threads(1)
    a = quadgym.make_algo(name, "QuadHover-v0", **SB3_SMALL[name])
    b = quadgym.make_algo(name, "QuadHover-v0", **SB3_SMALL[name])
    try:
        a.learn(128)
        a.save(tmp_path / "checkpoint.bin")
        b.load(tmp_path / "checkpoint.bin")
        assert b.progress == a.progress == a.model.num_timesteps > 0
        assert b.model._n_updates == a.model._n_updates > 0
        for key, sd in a.model.get_parameters().items():
            other = b.model.get_parameters()[key]
            if key == "policy":
                for k, v in sd.items():
                    assert torch.equal(v, other[k]), k
            else:  # optimisers: the moment estimates and the step
                assert str(sd["state"]) == str(other["state"])
        np.testing.assert_array_equal(a.venv.obs_rms.mean, b.venv.obs_rms.mean)
        np.testing.assert_array_equal(a.venv.obs_rms.var, b.venv.obs_rms.var)
        assert a.venv.obs_rms.count == b.venv.obs_rms.count
        assert a.venv.ret_rms.count == b.venv.ret_rms.count
        if name == "sac":
            assert torch.equal(a.model.log_ent_coef, b.model.log_ent_coef)
        obs = np.random.default_rng(1).normal(size=(4, *a.venv.observation_space.shape))
        np.testing.assert_array_equal(a.act(obs.astype(np.float32)), b.act(obs.astype(np.float32)))
    finally:
        a.close()
        b.close()


def test_convert_checkpoint_needs_trust_and_converts_an_old_sb3_run(tmp_path, capsys):
    torch.set_num_threads(1)
    run = tmp_path / "run"
    run.mkdir()
    config = SB3_SMALL["ppo"]
    (run / "state.json").write_text(
        json.dumps({"env": "QuadHover-v0", "algo": "ppo", "config": config, "done": 64})
    )
    algo = quadgym.make_algo("ppo", "QuadHover-v0", **config)
    try:
        algo.learn(64)
        # the quadgym 0.1 layout: SB3's zip and the pickled statistics in one zip
        model = io.BytesIO()
        algo.model.save(model)
        with zipfile.ZipFile(run / "checkpoint.bin", "w") as z:
            z.writestr("quadgym.txt", "ppo\nQuadHover-v0\n")
            z.writestr("model.zip", model.getvalue())
            z.writestr("obs_rms.pkl", pickle.dumps((algo.venv.obs_rms, algo.venv.ret_rms)))
        # the script's main in this process (tests/scriptload.py): three interpreter starts fewer
        convert = load_script("convert_checkpoint").main
        with pytest.raises(SystemExit) as refused:
            convert(["--runs", str(run)])
        assert refused.value.code == 2 and "--trust" in capsys.readouterr().err
        assert zipfile.is_zipfile(run / "checkpoint.bin")
        assert convert(["--trust", "--runs", str(run)]) == 0
        assert "converted" in capsys.readouterr().out
        assert convert(["--trust", "--runs", str(run)]) == 0
        assert "already in the safe format" in capsys.readouterr().out
        back = quadgym.make_algo("ppo", "QuadHover-v0", **config)
        back.load(run / "checkpoint.bin")
        obs = np.random.default_rng(2).normal(size=(8, *algo.venv.observation_space.shape))
        obs = obs.astype(np.float32)
        np.testing.assert_array_equal(back.act(obs), algo.act(obs))
        assert back.progress == algo.progress
        back.close()
    finally:
        algo.close()
