"""Import paths that moved, kept working: ``import quadgym.agents.sb3`` still gives the module
that now lives at its new path, with a ``DeprecationWarning`` naming that path.

``MOVED`` maps every old dotted module name to its new one; it is the one table of such
moves. :func:`install` (called by ``quadgym/__init__``) puts a finder on ``sys.meta_path``
that answers the old names with the new modules (the same module objects, so ``isinstance``
and monkeypatching see one class). A name that moved and was then removed maps to ``None``:
importing it raises ``ImportError`` that names what replaced it, through ``REMOVED``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: old module name -> new module name (grouped by the change that moved them).
MOVED: dict[str, str] = {
    # the layout issue: simulator, control, sensors, tasks, runs, agents by family
    "quadgym.envs.quad.models": "quadgym.envs.quad.sim.models",
    "quadgym.envs.quad.dynamics": "quadgym.envs.quad.sim.dynamics",
    "quadgym.envs.quad.aero": "quadgym.envs.quad.sim.aero",
    "quadgym.envs.quad.physics": "quadgym.envs.quad.sim.physics",
    "quadgym.envs.quad.perturb": "quadgym.envs.quad.sim.perturb",
    "quadgym.envs.quad.world": "quadgym.envs.quad.sim.world",
    "quadgym.envs.quad.scene": "quadgym.envs.quad.sim.scene",
    "quadgym.control.pid": "quadgym.envs.quad.control.pid",
    "quadgym.control.lqr": "quadgym.envs.quad.control.lqr",
    "quadgym.envs.quad.camera": "quadgym.envs.quad.sensors.camera",
    "quadgym.envs.quad.view": "quadgym.envs.quad.sensors.view",
    "quadgym.envs.quad.pictures": "quadgym.envs.quad.sensors.pictures",
    "quadgym.envs.quad.actions": "quadgym.envs.quad.tasks.actions",
    "quadgym.envs.quad.neighbours": "quadgym.envs.quad.tasks.neighbours",
    "quadgym.envs.quad.track": "quadgym.envs.quad.tasks.track",
    "quadgym.envs.quad.land": "quadgym.envs.quad.tasks.land",
    "quadgym.envs.quad.gates": "quadgym.envs.quad.tasks.gates",
    "quadgym.envs.quad.visual": "quadgym.envs.quad.tasks.visual_reach",
    "quadgym.envs.quad.teams": "quadgym.envs.quad.tasks.teams",
    "quadgym.envs.quad.suite": "quadgym.envs.quad.tasks.suite",
    "quadgym.runlog": "quadgym.runs.log",
    "quadgym.agents.sb3_config": "quadgym.agents.sb3.config",
    "quadgym.agents.sb3_state": "quadgym.agents.sb3.state",
    "quadgym.agents.extractors": "quadgym.agents.sb3.extractors",
    "quadgym.agents.marl": "quadgym.agents.sb3.shared",
    "quadgym.agents.pid": "quadgym.agents.model_based.pid",
    "quadgym.agents.lqr": "quadgym.agents.model_based.lqr",
    "quadgym.control": "quadgym.envs.quad.control",
    # issue 30, agents by family: the offline preference plugins (CoPG, DPO, ...)
    "quadgym.agents.contrastive": "quadgym.agents.preference.plugins",
    "quadgym.agents.contrastive_config": "quadgym.agents.preference.config",
    "quadgym.agents.preference_losses": "quadgym.agents.preference.losses",
    "quadgym.agents.preference_problems": "quadgym.agents.preference.problems",
    "quadgym.agents.prefnets": "quadgym.agents.preference.nets",
    # issue 30, agents by family: distillation (HARD) and sequence models (GPT, FTP). The
    # old module quadgym.agents.sequence is now the package of that name, which keeps its
    # public names (quadgym/agents/sequence/__init__.py).
    "quadgym.agents.distill": "quadgym.agents.distillation.plugins",
    "quadgym.agents.augmentors": "quadgym.agents.distillation.warp",
    "quadgym.agents.seqnets": "quadgym.agents.sequence.nets",
}

#: old module name -> what to use instead, for modules that no longer exist in any form.
REMOVED: dict[str, str] = {
    # issue 35 (toys): one mechanism for the write-ups' generated tables
    "quadgym.repro.docblocks": (
        "the write-ups' tables are checked and filled by quadgym.repro.doc_tables "
        "(markers '<!-- table RENDERER:NAME PATH -->')"
    ),
}


class _AliasLoader(importlib.abc.Loader):
    """Loads an old name as the module at its new name."""

    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.new}; import it from there",
            DeprecationWarning,
            stacklevel=4,
        )
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the new module is already executed."""


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds the old names of :data:`MOVED` (and refuses those of :data:`REMOVED`)."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):
        if fullname in REMOVED:
            raise ImportError(f"{fullname} was removed; {REMOVED[fullname]}", name=fullname)
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


_FINDER = _AliasFinder()


def install() -> None:
    """Put the alias finder first on ``sys.meta_path`` (once): an old name must not be found
    as a stale file by the ordinary path finder."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
