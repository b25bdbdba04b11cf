"""Build the documentation site (MkDocs with Material): ``make docs``, or

    python docs/build_site.py                 # sources into build/docs-src, site into build/site
    python docs/build_site.py --sources-only  # the generated Markdown alone (the tests use it)

Every environment gets a page generated from what the code declares, so a card is written
once: an animation of the task flown by the PID (``docs/record_animations.py``, committed
GIFs), its card (the env class's docstring; for a drone task the task module's docstring
too), its spaces (the drone envs are built with their defaults to read them; a toy's are in
its card: HardShift-v0 trains its teacher when built) and its arguments with types, defaults
and units (the faces' ``QuadConfig`` and the task's options; a toy's ``EnvConfig``). The
leaderboard, the paper toys' write-ups and the design are the files of ``docs/`` as they are.
``mkdocs build --strict`` turns every warning (a broken link, a missing page) into an error.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import inspect
import re
import shutil
import subprocess
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "build" / "docs-src"
#: The write-ups copied as they are: (file in docs/, title in the navigation).
WRITE_UPS = [
    ("copg.md", "Contrastive Policy Gradient"),
    ("dpo3d.md", "DPO's 3D-properties"),
    ("hard.md", "HARD distillation"),
    ("ftp.md", "Future Token Prediction"),
]
#: The PettingZoo envs (modules of quadgym.envs) beside the Gymnasium ids.
PETTINGZOO = ["quad_swarm_v0", "quad_swap_v0", "quad_reform_v0", "quad_leader_v0"]


def markdown(doc: str) -> str:
    """A docstring as Markdown: reST's ``code`` and :role:`target` as code spans."""
    text = inspect.cleandoc(doc)
    text = re.sub(r":\w+:`~?([^`<]*?)(?: <[^>]*>)?`", r"`\1`", text)
    return re.sub(r"(?<!`)``(?!`)", "`", text)  # not a ``` fence


def table(rows: list[tuple[str, str, str, str]]) -> str:
    """(name, type, default, doc) rows as a Markdown table."""
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| argument | type | default | meaning (units) |", "|---|---|---|---|"]
    lines += [f"| `{n}` | `{cell(t)}` | `{cell(d)}` | {cell(doc)} |" for n, t, d, doc in rows]
    return "\n".join(lines)


def space(value: object) -> str:
    """A space in a line: a Box by dtype, shape and the range of its bounds."""
    import gymnasium as gym

    if isinstance(value, gym.spaces.Dict):
        return "Dict: " + "; ".join(f"`{k}` {space(v)}" for k, v in value.spaces.items())
    if isinstance(value, gym.spaces.Box):
        low, high = value.low.min(), value.high.max()
        return f"`Box({value.dtype}, shape {value.shape})`, bounds {low:g} .. {high:g}"
    return f"`{value!r}`"


def env_config(entry: object) -> type | None:
    """The EnvConfig a toy env's constructor checks its arguments with (a dataclass of
    its module whose fields are constructor parameters), or None."""
    from quadgym.envs.arguments import EnvConfig

    params = set(inspect.signature(entry).parameters)
    module = importlib.import_module(entry.__module__)
    for obj in vars(module).values():
        if inspect.isclass(obj) and issubclass(obj, EnvConfig) and obj is not EnvConfig:
            names = {f.name for f in fields(obj)} if is_dataclass(obj) else set()
            if names and names <= params:
                return obj
    return None


def drone_page(env_id: str, task: str) -> str:
    """The page of a drone task's Gymnasium id."""
    import gymnasium as gym

    from quadgym.envs.quad.config import QuadConfig
    from quadgym.envs.quad.single import QuadHoverEnv
    from quadgym.envs.quad.tasks.suite import TASKS

    task_class, options = TASKS[task]
    env = gym.make(env_id)
    spaces = f"- observation: {space(env.observation_space)}\n- action: {space(env.action_space)}"
    kwargs = gym.spec(env_id).kwargs
    env.close()
    parts = [
        f"# {env_id}",
        f'`gym.make("{env_id}")` (registered defaults: `{kwargs or {}}`); the task '
        f"`{task}` judges success as: **{task_class.success_rule}**.",
    ]
    parts += animation(env_id)
    parts += ["## Spaces (defaults)", spaces]
    if task != "hover":
        doc = importlib.import_module(task_class.__module__).__doc__ or ""
        parts += ["## The task", markdown(doc)]
    if options is not None:
        parts += ["## The task's arguments", table(options.describe())]
    parts += ["## The env's arguments", table(QuadConfig.describe())]
    parts += ["## The card (QuadHoverEnv, every drone task)", markdown(QuadHoverEnv.__doc__)]
    return "\n\n".join(parts) + "\n"


@functools.cache
def recorder() -> Any:
    """docs/record_animations.py as a module (it names who flies each GIF)."""
    spec = importlib.util.spec_from_file_location(
        "record_animations", ROOT / "docs" / "record_animations.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def animation(env_id: str) -> list[str]:
    """The GIF docs/record_animations.py films of ``env_id``, as a page part (none if it
    was not recorded), saying who flies it."""
    if not (ROOT / "docs" / "img" / "tasks" / f"{env_id}.gif").is_file():
        return []
    pilot = recorder().PILOTS.get(env_id, "the PID")
    return [f"![{env_id} flown by {pilot}, seeds 1000 on](../img/tasks/{env_id}.gif)"]


def toy_page(env_id: str, entry_point: str) -> str:
    """The page of a paper toy's id."""
    module, name = entry_point.split(":")
    entry = getattr(importlib.import_module(module), name)
    parts = [f"# {env_id}", f'`gym.make("{env_id}")`; its spaces are in the card below.']
    config = env_config(entry)
    if config is not None:
        parts += ["## Arguments", table(config.describe())]
    parts += ["## The card", markdown(entry.__doc__ or "")]
    return "\n\n".join(parts) + "\n"


def pettingzoo_page(name: str) -> str:
    """The page of a PettingZoo module (its docstring is its card)."""
    from quadgym.envs.quad.config import QuadConfig

    module = importlib.import_module(f"quadgym.envs.{name}")
    parts = [f"# {name}", *animation(name), markdown(module.__doc__ or "")]
    parts += ["## The drones' arguments", table(QuadConfig.describe())]
    return "\n\n".join(parts) + "\n"


def linked(text: str, here: Path, pages: set[str]) -> str:
    """Relative links to files outside the site as code, not links (MkDocs' strict mode
    refuses a link it cannot follow); ``docs/x.md`` links of the README into the site."""

    def fix(match: re.Match) -> str:
        label, target = match.group(1), match.group(2)
        if re.match(r"^[a-z]+://|^#|^mailto:", target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = (here / path).as_posix()
        resolved = re.sub(r"(^|/)docs/", r"\1", resolved)
        if resolved in pages:
            return f"[{label}]({resolved}{'#' + anchor if anchor else ''})"
        return f"{label} (`{target}`)"

    return re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", fix, text)


def build_sources(out: Path = SOURCES) -> list[tuple[str, str]]:
    """Write the site's Markdown into ``out``; (nav title, page) of the environments."""
    import quadgym  # noqa: F401  (registers the ids)
    from quadgym.envs.quad.tasks.suite import TASKS
    from quadgym.registry import ENV_SPECS

    if out.exists():
        shutil.rmtree(out)
    (out / "envs").mkdir(parents=True)
    for folder in ("img", "leaderboard", "results"):
        if (ROOT / "docs" / folder).is_dir():
            shutil.copytree(ROOT / "docs" / folder, out / folder)
    task_of = {spec[1]: name for name, spec in _task_ids(TASKS).items()}
    envs = []
    for env_id, spec in ENV_SPECS.items():
        if env_id in task_of:
            page = drone_page(env_id, task_of[env_id])
        else:
            page = toy_page(env_id, spec["entry_point"])
        (out / "envs" / f"{env_id}.md").write_text(page)
        envs.append((env_id, f"envs/{env_id}.md"))
    for name in PETTINGZOO:
        (out / "envs" / f"{name}.md").write_text(pettingzoo_page(name))
        envs.append((name, f"envs/{name}.md"))
    pages = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    pages |= {name for name, _ in WRITE_UPS} | {"design.md", "index.md"}
    for name, _ in [*WRITE_UPS, ("design.md", "")]:
        (out / name).write_text(linked((ROOT / "docs" / name).read_text(), Path(""), pages))
    board = out / "leaderboard" / "leaderboard.md"
    if board.exists():
        board.write_text(linked(board.read_text(), Path("leaderboard"), pages))
    readme = (ROOT / "README.md").read_text().replace("](docs/", "](")
    (out / "index.md").write_text(linked(readme, Path(""), pages))
    return envs


def _task_ids(tasks: dict) -> dict[str, tuple[str, str]]:
    """task name -> (task, its Gymnasium id) for the single-drone tasks."""
    from quadgym.envs.quad.tasks.suite import SINGLE_ENVS

    return {name: (name, env_id) for name, env_id in SINGLE_ENVS.items() if name in tasks}


def mkdocs_config(envs: list[tuple[str, str]]) -> str:
    """mkdocs.yml for the generated sources (written beside them, so it is never stale)."""
    nav = ["  - Home: index.md", "  - Environments:"]
    nav += [f"      - {title}: {page}" for title, page in envs]
    nav += ["  - Leaderboard: leaderboard/leaderboard.md", "  - Paper toys:"]
    nav += [f'      - "{title}": {name}' for name, title in WRITE_UPS]
    nav += ["  - Design: design.md"]
    return "\n".join(
        [
            "site_name: quadgym",
            f"docs_dir: {SOURCES}",
            f"site_dir: {ROOT / 'build' / 'site'}",
            "strict: true",
            "theme:",
            "  name: material",
            "  features: [navigation.sections]",
            "markdown_extensions: [tables, admonition, toc]",
            "validation:",
            "  omitted_files: info",
            "  not_found: warn",
            "  absolute_links: info",
            "  unrecognized_links: warn",
            "nav:",
            *nav,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources-only", action="store_true", help="write the Markdown only")
    args = parser.parse_args(argv)
    envs = build_sources()
    config = ROOT / "build" / "mkdocs.yml"
    config.write_text(mkdocs_config(envs))
    print(f"wrote {len(envs)} environment pages into {SOURCES}")
    if args.sources_only:
        return 0
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config)]
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
