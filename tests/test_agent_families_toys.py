"""The distillation and sequence families moved into packages (issue 30): the old import
paths answer with the new modules, and setup.cfg's entry points name classes that exist."""

import configparser
import importlib
import sys
from pathlib import Path

import pytest

import quadgym  # noqa: F401 - installs quadgym.moved's finder

ROOT = Path(__file__).resolve().parents[1]
OLD_TO_NEW = {
    "quadgym.agents.distill": "quadgym.agents.distillation.plugins",
    "quadgym.agents.augmentors": "quadgym.agents.distillation.warp",
    "quadgym.agents.seqnets": "quadgym.agents.sequence.nets",
}
PLUGINS = {
    "kd": "quadgym.agents.distillation.plugins:KD",
    "kd_noise": "quadgym.agents.distillation.plugins:KDNoise",
    "kd_random_shift": "quadgym.agents.distillation.plugins:KDRandomShift",
    "hard": "quadgym.agents.distillation.plugins:HARD",
    "hard_grad": "quadgym.agents.distillation.plugins:HARDGrad",
    "hard_warp": "quadgym.agents.distillation.warp:HARDWarp",
    "gpt": "quadgym.agents.sequence.plugins:GPTAlgorithm",
    "ftp": "quadgym.agents.sequence.plugins:FTPAlgorithm",
}


@pytest.mark.parametrize("old, new", OLD_TO_NEW.items())
def test_an_old_path_gives_the_new_module_with_a_warning(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


def test_the_old_sequence_module_is_the_package_with_its_names():
    from quadgym.agents.sequence import EVAL_SEED, FTPAlgorithm, GPTAlgorithm, plugins

    assert (EVAL_SEED, FTPAlgorithm, GPTAlgorithm) == (
        plugins.EVAL_SEED,
        plugins.FTPAlgorithm,
        plugins.GPTAlgorithm,
    )


def test_setup_cfg_names_the_new_paths_and_they_load():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options.entry_points"]["quadgym.algos"].strip().splitlines()
    declared = dict(line.replace(" ", "").split("=") for line in lines)
    for name, target in PLUGINS.items():
        assert declared[name] == target
        module, cls = target.split(":")
        assert getattr(importlib.import_module(module), cls).name == name
