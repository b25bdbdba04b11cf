"""Every script's command line, read by quadgym.cli from the script's ``Args`` dataclass.

``python scripts/X.py --help`` shows a runnable example of X for every file in
scripts/ (globbed, so a new script is covered); values that make no sense exit
with status 2 and name the option; ``none``, flags and comma lists parse to
their types; and the commands README.md and docs/*.md show still parse.

The scripts run in this process (``runpy``, as ``__main__``): each subprocess
would import torch again, about 2 s apiece.
"""

import dataclasses
import importlib
import re
import runpy
import shlex
import sys
from pathlib import Path
from types import ModuleType

import pytest

from quadgym.cli import parse_args

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
NAMES = sorted(path.stem for path in SCRIPTS.glob("*.py"))

#: An inline command in the docs: `python scripts/NAME.py ARGS`, ARGS possibly over lines.
DOC_COMMAND = re.compile(r"`(?:[^`\s]*python )?scripts/(\w+)\.py((?:\s+[^`\s]+)*)`")
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


#: The same as a console command: `quadgym COMMAND ARGS`, `quadgym reproduce PAPER ARGS`.
QUADGYM_COMMAND = re.compile(r"`quadgym ((?:reproduce )?[a-z][\w-]*)((?:\s+[^`\s]+)*)`")


def doc_commands() -> list[tuple[str, str, list[str]]]:
    """(file, script, argv) of every script command in README.md and docs/*.md, written
    as ``python scripts/NAME.py`` or as ``quadgym COMMAND``; an optional part ``[--gui]``
    counts as written."""
    from quadgym.commands import resolve

    found = []
    for path in DOC_FILES:
        text = path.read_text()
        for match in DOC_COMMAND.finditer(text):
            argv = shlex.split(match.group(2).replace("[", " ").replace("]", " "))
            found.append((path.name, match.group(1), argv))
        for match in QUADGYM_COMMAND.finditer(text):
            argv = shlex.split(match.group(2).replace("[", " ").replace("]", " "))
            script = resolve([*match.group(1).split(), *argv])
            assert not isinstance(script, str), f"{path.name}: {match.group(0)}: {script}"
            found.append((path.name, script[0], script[1]))
    return found


@pytest.fixture
def scripts_on_path(monkeypatch: pytest.MonkeyPatch):
    """scripts/ on sys.path, as when a script runs (train_marl imports train); the
    script modules imported meanwhile are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(SCRIPTS))
    yield
    for name in NAMES:
        sys.modules.pop(name, None)


def script(name: str) -> ModuleType:
    """scripts/NAME.py as a module (needs ``scripts_on_path``)."""
    return importlib.import_module(name)


def run_script(name: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int | str | None:
    """The exit status of ``python scripts/NAME.py ARGV``, run in this process. Only for
    command lines that exit while parsing (``--help``, refused values)."""
    path = SCRIPTS / f"{name}.py"
    monkeypatch.setattr(sys, "argv", [str(path), *argv])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(path), run_name="__main__")
    return exit_info.value.code


def test_every_script_is_found():
    assert {"train", "evaluate", "fly_pid", "reproduce_hard"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_help_shows_a_runnable_example(name, scripts_on_path, monkeypatch, capsys):
    assert run_script(name, ["--help"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert f"python scripts/{name}.py --" in out
    # the first line of the docstring says what the script does
    description = out.split("\n\n")[1]
    assert description.strip() and not description.startswith(" ")


@pytest.mark.parametrize("name", NAMES)
def test_every_argument_is_documented(name, scripts_on_path):
    for field in dataclasses.fields(script(name).Args):
        assert field.metadata.get("doc"), f"{name}: --{field.name.replace('_', '-')} has no doc"


@pytest.mark.parametrize(
    "name, argv, message",
    [
        ("reproduce_copg", ["--seeds", "0"], "seeds must be >= 1, got 0"),
        ("reproduce_copg", ["--schedule", "linear"], "argument --schedule: "),
        ("fly_pid", ["--physics", "nope"], "argument --physics: physics must be one of 'pyb'"),
        ("fly_pid", ["--gui=maybe"], "argument --gui/--no-gui: ignored explicit argument"),
        ("fly_pid", ["--control-hz", "7"], "control_hz=7 does not divide physics_hz=240"),
        ("fly_pid", ["--duration", "0"], "duration must be > 0"),
        ("evaluate", ["--episodes", "3"], "the following arguments are required: --run"),
        ("evaluate", ["--run", "x", "--tolerance", "nan"], "tolerance must be a finite number"),
        ("reproduce_dpo3d", ["--beta-minus", "0.05,-1"], "beta_minus values must be > 0"),
        ("reproduce_hard", ["--datasets", "toy,nope"], "argument --datasets: datasets[1] must be"),
        ("reproduce_hard", ["--datasets", "toy,toy"], "datasets must name each data set once"),
        ("reproduce_ftp", ["--runs", "gpt,gpt"], "runs must name each once"),
        ("reproduce_ftp", ["--corpus-size", "0"], "corpus_size must be >= 1"),
        ("train_marl", ["--drones", "0"], "drones must be >= 1, got 0"),
    ],
)
def test_bad_values_exit_2_naming_the_option(
    name, argv, message, scripts_on_path, monkeypatch, capsys
):
    assert run_script(name, argv, monkeypatch) == 2
    err = capsys.readouterr().err
    assert f"usage: {name}.py" in err and message in err


@pytest.mark.parametrize("name", ["evaluate", "replay_marl"])
def test_a_directory_that_is_not_a_run_is_refused(
    name, tmp_path, scripts_on_path, monkeypatch, capsys
):
    assert run_script(name, ["--run", str(tmp_path)], monkeypatch) == 2
    assert "has no state.json" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, required",
    [("evaluate", ["--run", "r"]), ("replay_marl", ["--run", "r"]), ("fly_pid", [])],
)
def test_video_none_is_none(name, required, scripts_on_path):
    args_class = script(name).Args
    assert parse_args(args_class, None, required).video is None
    assert parse_args(args_class, None, [*required, "--video", "none"]).video is None
    assert parse_args(args_class, None, [*required, "--video", "a.mp4"]).video == "a.mp4"


def test_flags_lists_and_dicts_parse_to_their_types(scripts_on_path):
    fly = script("fly_pid").Args
    assert parse_args(fly, None, ["--gui"]).gui is True
    assert parse_args(fly, None, ["--gui", "--no-gui"]).gui is False
    assert parse_args(fly, None, []).gui is False
    dpo3d = parse_args(script("reproduce_dpo3d").Args, None, ["--beta-minus", "0.05,0.01"])
    assert dpo3d.beta_minus == (0.05, 0.01) and dpo3d.sft_lambda == (0.1, 1.0)
    hard = script("reproduce_hard").Args
    assert parse_args(hard, None, []).datasets == ("toy", "mnist1d")
    assert parse_args(hard, None, ["--datasets", "mnist1d"]).datasets == ("mnist1d",)
    ftp = parse_args(script("reproduce_ftp").Args, None, ["--runs", "gpt,ftp"])
    assert ftp.runs == ("gpt", "ftp") and ftp.corpus_size == 1000
    run = ["--run", "r", "--env-kwargs", "{'physics': 'dyn'}"]
    assert parse_args(script("evaluate").Args, None, run).env_kwargs == {"physics": "dyn"}
    assert parse_args(script("train_marl").Args, None, ["--out", "none"]).out is None


def test_the_docs_show_commands():
    scripts = {name for _, name, _ in doc_commands()}
    assert {"fly_pid", "evaluate", "train_marl", "reproduce_copg", "reproduce_ftp"} <= scripts


@pytest.mark.parametrize(
    "where, name, argv", doc_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v)
)
def test_commands_in_the_docs_parse(where, name, argv, scripts_on_path):
    assert name in NAMES, f"{where} runs scripts/{name}.py, which does not exist"
    parse_args(script(name).Args, None, argv)  # exits 2 (SystemExit) if refused
