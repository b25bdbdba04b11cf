"""Sweeps over a plugin's typed config: the search space, and the Ray Tune trial.

A search space names fields of a plugin's ``Config``, each ``KEY=kind(values)``:
``grid`` (every value), ``choice``, ``uniform``, ``loguniform`` or ``randint`` (high
excluded). :func:`checked_space` parses the values by the field's type and builds the
config with each (both ends of a range), so a bad key or value is refused before any
trial starts. :func:`run_trial` is the Tune function trainable of ``scripts/tune.py``:
one ``scripts/train.py`` run in a subprocess, reporting after every chunk; it lives in the
package so that Ray's workers can import it.
"""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from quadgym.registry import get_algo_class

try:
    from ray.tune import Callback as _TuneCallback
except ImportError:  # Ray is optional: only scripts/tune.py needs the callback below
    _TuneCallback = object

#: The search-space kinds, and how many arguments each takes (None: one or more).
KINDS = {"grid": None, "choice": None, "uniform": 2, "loguniform": 2, "randint": 2}
#: Seconds between a trial's looks at its run directory.
POLL = 0.5


def parse_word(word: str) -> tuple[str, str, list[str]]:
    """``KEY=kind(a,b,...)`` as (key, kind, argument texts).

    Raises:
        ValueError: naming the word and the allowed kinds.
    """
    match = re.fullmatch(r"\s*(\w+)\s*=\s*(\w+)\((.*)\)\s*", word)
    if not match or match.group(2) not in KINDS:
        raise ValueError(
            f"search space word {word!r}: expected KEY=KIND(values), KIND one of {', '.join(KINDS)}"
        )
    key, kind, inner = match.groups()
    return key, kind, split_values(inner)


def split_values(text: str) -> list[str]:
    """Comma-separated values, commas inside brackets kept (tuple values)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return [v for v in out if v]


def read_space_file(path: str) -> list[tuple[str, str, list[str]]]:
    """The entries of a JSON or YAML ``{key: {kind: [values]}}`` file.

    Raises:
        ValueError: the file is missing, unreadable or not such a mapping, naming it.
    """
    try:
        text = Path(path).read_text()
        if path.endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--space-file {path} is not readable: {exc}") from None
    except ValueError as exc:  # JSONDecodeError
        raise ValueError(f"--space-file {path} is not JSON: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - yaml's own errors (YAMLError)
        raise ValueError(f"--space-file {path} is not YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of config keys to {{kind: [values]}}")
    out = []
    for key, spec in data.items():
        if not isinstance(spec, dict) or len(spec) != 1:
            raise ValueError(f"{path}: {key!r} must map to one {{kind: [values]}}")
        ((kind, values),) = spec.items()
        if kind not in KINDS:
            raise ValueError(f"{path}: {key!r}: unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
        values = values if isinstance(values, list) else [values]
        out.append((key, kind, [v if isinstance(v, str) else json.dumps(v) for v in values]))
    return out


def space_words(words: tuple[str, ...] = (), path: str | None = None) -> list[str]:
    """The space of ``words`` and the file ``path`` as words (``KEY=kind(v1,v2)``): what a
    sweep saves in sweep.json to rebuild its space without the file."""
    entries = read_space_file(path) if path else []
    return [*words, *(f"{key}={kind}({','.join(texts)})" for key, kind, texts in entries)]


def checked_space(
    algo: str, words: tuple[str, ...] = (), path: str | None = None, config: tuple[str, ...] = ()
) -> dict[str, tuple[str, list[Any]]]:
    """The space of ``words`` and the file ``path`` as {key: (kind, typed values)}, every
    key and value checked by building the plugin ``algo``'s config with it (and the fixed
    ``config`` words).

    Raises:
        ValueError, TypeError: naming the word, the key or the value refused.
    """
    cls = get_algo_class(algo)
    fixed = cls.Config.parse_strings(config)
    entries = [parse_word(w) for w in words]
    if path:
        entries += read_space_file(path)
    space: dict[str, tuple[str, list[Any]]] = {}
    for key, kind, texts in entries:
        if key == "seed":
            raise ValueError("the seed is swept by --seeds, not by the space")
        if key in space or key in fixed:
            raise ValueError(f"{key!r} is given twice (space, --config)")
        want = KINDS[kind]
        if (want is None and not texts) or (want is not None and len(texts) != want):
            count = "one or more values" if want is None else f"{want} values"
            raise ValueError(f"{key}={kind}(...) takes {count}, got {len(texts)}")
        values = [cls.Config.parse_strings([f"{key}={t}"])[key] for t in texts]
        for value in values:  # every grid/choice value, both ends of a range
            cls.make_config({**fixed, key: value})
        if kind in ("uniform", "loguniform", "randint"):
            low, high = values
            if not (isinstance(low, int | float) and isinstance(high, int | float) and low < high):
                raise ValueError(f"{key}={kind}({low}, {high}): needs numbers, low < high")
            if kind == "loguniform" and low <= 0:
                raise ValueError(f"{key}=loguniform({low}, {high}): needs low > 0")
        space[key] = (kind, values)
    return space


def tune_space(space: dict[str, tuple[str, list[Any]]], seeds: tuple[int, ...]) -> dict:
    """Ray Tune's param_space for ``space`` crossed with ``seeds``."""
    from ray import tune

    make = {
        "grid": lambda v: tune.grid_search(v),
        "choice": lambda v: tune.choice(v),
        "uniform": lambda v: tune.uniform(*v),
        "loguniform": lambda v: tune.loguniform(*v),
        "randint": lambda v: tune.randint(*v),
    }
    out = {key: make[kind](values) for key, (kind, values) in space.items()}
    out["seed"] = tune.grid_search(list(seeds))
    return out


# ----------------------------------------------------------------- a trial


def last_value(run: Path, metric: str) -> float | None:
    """The last value of ``metric`` in the run's metrics.csv (None: none yet)."""
    path = run / "metrics.csv"
    if not path.is_file():
        return None
    value = None
    with path.open() as f:
        for row in csv.DictReader(f):
            if row.get(metric) not in (None, ""):
                value = float(row[metric])
    return value


def logged_columns(run: Path) -> list[str]:
    """The header of the run's metrics.csv (empty: none yet)."""
    try:
        with (run / "metrics.csv").open() as f:
            return next(csv.reader(f), [])
    except OSError:
        return []


def _die_with_parent() -> None:
    """In the training process: end it when the Ray worker that started it ends."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: an orphan finishes its run on its own


def run_trial(config: dict[str, Any]) -> None:
    """One trial: scripts/train.py into OUT/trials/<trial id> (continued with --resume if
    the directory holds an unfinished run; a finished one is reported, not run again),
    reporting ``budget_done`` and the metric after every chunk."""
    from ray import tune

    settings, params = config["__sweep"], {k: v for k, v in config.items() if k != "__sweep"}
    out = Path(settings["root"]) / tune.get_context().get_trial_id()
    if (out / "state.json").is_file():
        state = json.loads((out / "state.json").read_text())
        if state["done"] >= state["total"]:  # finished before a crash Tune did not record
            value = last_value(out, settings["metric"])
            tune.report({"budget_done": state["done"], settings["metric"]: value})
            return
        argv = ["--resume", str(out)]
    else:
        words = [f"{k}={v}" for k, v in params.items() if k != "seed"] + settings["config"]
        argv = [*settings["argv"], "--seed", str(params["seed"]), "--out", str(out)]
        argv += ["--config", *words] if words else []
    out.parent.mkdir(parents=True, exist_ok=True)
    log = (out.parent / f"{out.name}.log").open("a")
    proc = subprocess.Popen(
        [sys.executable, settings["train"], *argv],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )
    reported = -1
    try:
        while True:
            finished = proc.poll() is not None
            state = out / "state.json"
            done = json.loads(state.read_text())["done"] if state.is_file() else 0
            value = last_value(out, settings["metric"])
            columns = logged_columns(out)
            if columns and settings["metric"] not in columns:
                raise ValueError(
                    f"--metric {settings['metric']!r} is not a column of {out}/metrics.csv; "
                    f"{settings['algo']} on {settings['env']} logs {', '.join(columns[1:])}"
                )
            if done > reported and value is not None:
                # not "done": Tune reads a true "done" as the trial's end
                tune.report({"budget_done": done, settings["metric"]: value})
                reported = done
            if finished:
                break
            time.sleep(POLL)
        if proc.returncode:
            tail = (out.parent / f"{out.name}.log").read_text()[-2000:]
            raise RuntimeError(f"scripts/train.py {' '.join(argv)} failed:\n{tail}")
    finally:
        if proc.poll() is None:  # stopped by the scheduler: Ctrl-C saves a checkpoint
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


class TrialStatusFile(_TuneCallback):
    """Writes each trial's status at the end of a Tune session to ``path`` (JSON, through a
    rename): TERMINATED (its function returned, or the scheduler stopped it), ERROR, or
    PENDING/RUNNING/PAUSED for a trial an interrupted session left unfinished.

    A file, not an attribute: Tune pickles the callbacks with its experiment and a
    restored session calls the restored copy."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        from quadgym.files import atomic_write_bytes

        status = {trial.trial_id: str(trial.status) for trial in trials}
        atomic_write_bytes(self.path, json.dumps(status).encode())
