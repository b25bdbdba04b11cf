"""The layout's rules, checked on the code itself: a part imports only from below it,
the batched NumPy backend imports no PyBullet, and every import path that moved still
works (with a DeprecationWarning naming the new one)."""

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from quadgym.moved import MOVED

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "quadgym"

#: Layers bottom to top: (name, module prefixes). A module may import from its own layer
#: and those below; the first matching prefix (longest first) names a module's layer.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("bottom", ("quadgym.config", "quadgym.files", "quadgym.stats", "quadgym.moved")),
    ("bottom", ("quadgym.outdir", "quadgym.deploy")),
    ("env plumbing", ("quadgym.envs.arguments", "quadgym.envs.lifecycle")),
    ("simulator", ("quadgym.envs.quad.sim",)),
    ("control", ("quadgym.envs.quad.control",)),
    ("sensors", ("quadgym.envs.quad.sensors",)),
    ("tasks", ("quadgym.envs.quad.tasks",)),
    ("faces", ("quadgym.envs",)),
    ("registry", ("quadgym.registry", "quadgym.cli")),
    ("agents", ("quadgym.agents",)),
    ("runs", ("quadgym.runs",)),
    (
        "experiments",
        (
            "quadgym.evaluation",
            "quadgym.sweep",
            "quadgym.rllib",
            "quadgym.repro",
            "quadgym.replay",
            "quadgym.export",
        ),
    ),
    ("package", ("quadgym",)),
]


def layer_of(module: str) -> int:
    best, index = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, index = len(prefix), i
    assert index is not None, module
    return index


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def quadgym_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every quadgym import in ``path``, top level or inside functions
    (``from quadgym import x`` counts as the package: the top)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "quadgym":
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "quadgym"]
    return out


def test_no_module_imports_from_a_layer_above_its_own():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = module_name(path)
        if me == "quadgym.moved":
            continue
        mine = layer_of(me)
        for line, other in quadgym_imports(path):
            if other == "quadgym":  # ``quadgym.make_algo``: the package is the registry's face
                other = "quadgym.registry"
            if layer_of(other) > mine:
                upward.append(
                    f"{path.relative_to(ROOT)}:{line} ({LAYERS[mine][0]}) imports {other} "
                    f"({LAYERS[layer_of(other)][0]})"
                )
    assert not upward, "\n".join(upward)


def test_scripts_never_import_each_other():
    scripts = {p.stem for p in (ROOT / "scripts").glob("*.py")}
    found = []
    for path in sorted((ROOT / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.name} imports {n}" for n in names if n in scripts]
    assert not found, "\n".join(found)


def test_the_numpy_backend_imports_without_pybullet():
    code = (
        "import sys; sys.modules['pybullet'] = None\n"  # any import of pybullet now fails
        "import gymnasium as gym, numpy as np\n"
        "from quadgym.envs.quad.vector import QuadHoverVectorEnv\n"
        "env = QuadHoverVectorEnv(num_envs=3)\n"
        "obs, _ = env.reset(seed=0)\n"
        "env.step(np.zeros((3, 4)))\n"
        "print('ok', obs.shape)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok (3, 22)"


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_moved_module_is_the_new_one_with_a_warning(old):
    new = importlib.import_module(MOVED[old])
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert module is new
    assert any(
        issubclass(w.category, DeprecationWarning) and MOVED[old] in str(w.message) for w in caught
    )


@pytest.mark.parametrize(
    "path",
    [
        "quadgym.agents.sb3:PPOAlgorithm",
        "quadgym.agents.model_based:ModelBasedAgent",
        "quadgym.runs:Run",
        "quadgym.envs.quad.tasks:HoverTask",
        "quadgym.agents.base:atomic_write_bytes",
    ],
)
def test_names_imported_from_a_module_that_became_a_package_still_resolve(path):
    module, _, name = path.partition(":")
    assert getattr(importlib.import_module(module), name) is not None


def _code_names(path: Path) -> set[str]:
    """The string constants (docstrings left out) and identifiers in ``path``'s code."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                out.add(node.value)
        elif isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.alias):
            out.add(node.name.rsplit(".", 1)[-1])
    return out


def test_a_task_is_one_module_landing_is_named_nowhere_else_in_the_code():
    """QuadLand-v0 moved to the declared form: its module's ``SPEC`` is the only place the
    code names it; the registry, the faces' choices, the controllers' and the benchmark's
    tasks and the SB3 defaults are derived from it (docs and docstrings may mention it)."""
    from quadgym.envs.quad.tasks.land import SPEC

    own = PACKAGE / "envs" / "quad" / "tasks" / "land.py"
    names = {SPEC.name, SPEC.env_id, SPEC.task.__name__, SPEC.options.__name__, "land"}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path != own:
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names & _code_names(path)]
    assert not found, "\n".join(found)


def test_every_table_is_derived_from_the_declarations():
    import gymnasium as gym

    from quadgym.agents.sb3.config import ENV_DEFAULTS
    from quadgym.envs.quad.config import QuadConfig
    from quadgym.envs.quad.tasks.suite import SPECS, TASK_ENVS
    from quadgym.registry import PARALLEL_ENVS

    land = next(s for s in SPECS if s.name == "land")
    assert gym.spec(land.env_id).kwargs == {"task": "land"}
    assert gym.spec(f"quadgym/{land.env_id}").vector_entry_point is not None
    assert land.env_id in TASK_ENVS
    assert ENV_DEFAULTS[land.env_id].train_env == land.sb3["train_env"]
    assert ENV_DEFAULTS[land.env_id].ppo["gamma"] == 0.98
    assert "land" in QuadConfig.__dataclass_fields__["task"].metadata.get("choices", ("land",))
    teams = [s.env_id for s in SPECS if s.team]
    assert set(teams) < set(PARALLEL_ENVS) and set(teams) < set(TASK_ENVS)
