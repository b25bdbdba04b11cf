"""Reproduce DPO's 3D-properties on PreferenceToy-v0 and PreferenceTokens-v0: a thin CLI over
:mod:`quadgym.repro.dpo3d_run` (its docstring, ``--help``, says what runs and what is written).

    python scripts/reproduce_dpo3d.py --out results/dpo3d
    python scripts/reproduce_dpo3d.py --out results/dpo3d-full --full --seeds 10
"""

from quadgym.repro.dpo3d_run import Args, main

__all__ = ["Args", "main"]

if __name__ == "__main__":
    main()
