"""The package as a user installs it (issue 34): the wheel's contents, the simulator without
torch, the ``quadgym`` command, the version."""

import configparser
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import quadgym
from quadgym import commands

ROOT = Path(__file__).resolve().parents[1]
#: What the simulator alone installs (setup.cfg's install_requires) and what they import.
SIMULATOR_DEPS = (
    "numpy",
    "numpy.libs",
    "gymnasium",
    "pettingzoo",
    "cloudpickle",
    "farama_notifications",
    "typing_extensions.py",
)
#: What the simulator must not import: the extras'.
HEAVY = ("torch", "stable_baselines3", "scipy", "matplotlib", "ray", "tensorboard")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from this checkout (no network: the venv's setuptools)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("quadgym-*.whl")
    return found


def test_the_wheel_holds_the_package_models_and_scripts_not_tests_or_results(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert wheel.name == f"quadgym-{quadgym.__version__}-py3-none-any.whl"
    urdfs = {n.rsplit("/", 1)[1] for n in names if n.endswith(".urdf")}
    assert urdfs == {p.name for p in (ROOT / "quadgym/envs/quad/assets").glob("*.urdf")}
    scripts = {n.rsplit("/", 1)[1] for n in names if "/share/quadgym/scripts/" in n}
    assert scripts == {p.name for p in (ROOT / "scripts").glob("*.py")}
    tops = {n.split("/")[0] for n in names}
    assert tops == {"quadgym", f"quadgym-{quadgym.__version__}.dist-info"} | {
        f"quadgym-{quadgym.__version__}.data"
    }
    data = [n for n in names if n.startswith(f"quadgym-{quadgym.__version__}.data/")]
    assert all("/data/share/quadgym/scripts/" in n for n in data)
    assert not [n for n in names if n.startswith(("quadgym/tests/", "quadgym/results/"))]
    entry_points = zipfile.ZipFile(wheel).read(
        f"quadgym-{quadgym.__version__}.dist-info/entry_points.txt"
    )
    assert b"quadgym = quadgym.commands:main" in entry_points


def test_the_simulator_imports_no_learning_library():
    """``import quadgym`` and every face of the simulator, with torch & co. left unimported
    (the simulator installs without them)."""
    code = (
        "import sys, gymnasium as gym, quadgym\n"
        "from quadgym.envs import quad_swarm_v0\n"
        "e = gym.make('QuadHover-v0'); e.reset(seed=0); e.step(e.action_space.sample())\n"
        "quad_swarm_v0.parallel_env(num_drones=2).reset(seed=0)\n"
        "gym.make_vec('QuadHover-v0', num_envs=4).reset(seed=0)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.paper
def test_the_wheel_alone_flies_in_a_fresh_venv(wheel, tmp_path):
    """A fresh venv, the wheel with no extras and the simulator's four requirements only
    (linked from this venv, offline): the `quadgym` command and the envs work, torch absent."""
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # not this checkout
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        check=True,
        timeout=300,
        env=env,
    )
    site = Path(pytest.importorskip("numpy").__file__).parents[1]
    deps = tmp_path / "deps"
    deps.mkdir()
    for name in [*SIMULATOR_DEPS, *(p.name for p in site.glob("pybullet.*.so"))]:
        (deps / name).symlink_to(site / name)
    for dist in ("numpy", "gymnasium", "pettingzoo", "pybullet", "cloudpickle"):
        for info in site.glob(f"{dist}-*.dist-info"):
            (deps / info.name).symlink_to(info)
    (next((venv / "lib").glob("python3*")) / "site-packages" / "deps.pth").write_text(str(deps))
    version = subprocess.run(
        [str(venv / "bin" / "quadgym"), "--version"], capture_output=True, text=True, env=env
    )
    assert version.stdout.strip() == f"quadgym {quadgym.__version__}", version.stderr
    code = (
        "import sys, gymnasium as gym, quadgym\n"
        "e = gym.make('QuadHover-v0'); e.reset(seed=0); e.step(e.action_space.sample())\n"
        f"print(quadgym.__file__, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    where, imported = proc.stdout.strip().split(" ", 1)
    assert where.startswith(str(venv)) and imported == "[]"
    fly = subprocess.run(
        [str(venv / "bin" / "quadgym"), "fly", "--help"], capture_output=True, text=True, env=env
    )
    assert fly.returncode == 0 and fly.stdout.startswith("usage: quadgym fly"), fly.stderr


def test_version_is_one_number_in_the_package_the_metadata_and_the_changelog():
    proc = subprocess.run(
        [sys.executable, "-m", "quadgym", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.stdout.strip() == f"quadgym {quadgym.__version__}"
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    assert setup["metadata"]["version"] == "attr: quadgym.__version__"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    first = next(line for line in changelog.splitlines() if line.startswith("## "))
    assert first.startswith(f"## {quadgym.__version__}")


def test_every_command_names_a_script_and_every_script_a_command():
    """`quadgym COMMAND` runs scripts/<script>.py; the scripts left out are the
    measurements of docs/design.md, run from a checkout."""
    scripts = {p.stem for p in (ROOT / "scripts").glob("*.py")}
    named = {*commands.COMMANDS.values(), *commands.PAPERS.values()}
    assert named <= scripts
    assert scripts - named == {"measure_departures"}


def test_a_command_takes_its_scripts_own_arguments(capsys):
    """The script's typed arguments and its checks, the usage named as the user typed it."""
    assert commands.main(["fly", "--duration", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: quadgym fly") and "duration must be > 0, got 0.0" in err
    assert commands.main(["reproduce", "hard", "--datasets", "toy,toy"]) == 2
    assert "usage: quadgym reproduce hard" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "a command is required"),
        (["trian"], "unknown command 'trian'; did you mean 'train'?"),
        (["reproduce"], "name a paper, one of copg, dpo3d, hard, ftp; got None"),
        (["reproduce", "dpo"], "got 'dpo'"),
    ],
)
def test_a_wrong_command_is_a_usage_error(argv, message, capsys):
    assert commands.main(argv) == 2
    assert message in capsys.readouterr().err


def test_help_lists_each_command_with_its_scripts_first_line(capsys):
    assert commands.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "  train " in out and "Train any quadgym algorithm plugin" in out
    assert "  reproduce ftp " in out


def test_a_command_runs_torch_on_one_thread_unless_told(monkeypatch, capsys):
    """Torch's default threads fight the simulator: SB3 PPO on 2 cores ran 4,096 steps in
    116 s with them and 1.4 s with one (issue 34, friction 2)."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    commands.main(["fly", "--duration", "0"])
    assert os.environ["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    commands.main(["fly", "--duration", "0"])
    assert os.environ["OMP_NUM_THREADS"] == "2"
