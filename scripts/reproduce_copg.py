"""Reproduce CoPG's Figure 1 and test its claim across off-policy data: a thin CLI over
:mod:`quadgym.repro.copg_run` (its docstring, ``--help``, says what runs and is written).

    python scripts/reproduce_copg.py --out results/copg
    python scripts/reproduce_copg.py --out results/copg-full --full
"""

from quadgym.repro.copg_run import Args, main

__all__ = ["Args", "main"]

if __name__ == "__main__":
    main()
