"""The offline preference family: CoPG, IPO, DPO (and its fixes), SLiC, off-policy PG and
RLOO over envs that enumerate their outcomes.

* :mod:`.plugins`: the training loop and the plugins (the ``quadgym.algos`` entry points);
* :mod:`.config`: their typed configs;
* :mod:`.problems`: one class per env capability (dataset, reference, policy, metrics);
* :mod:`.nets`: the policy networks (log π of every outcome at once);
* :mod:`.losses`: the per-pair losses and IPO's closed-form fixed point.
"""
