"""The sequence family: ``gpt`` and ``ftp`` on ToyCoding-v0 (Walker 2024).

* :mod:`.plugins`: training, generation, evaluation and checkpoints (the ``quadgym.algos``
  entry points);
* :mod:`.nets`: the causal encoder, GPT's next-token head and FTP's pseudo-sequence
  decoder.

``quadgym.agents.sequence`` was a module before it was this package: its public names are
kept here, so that ``from quadgym.agents.sequence import GPTAlgorithm`` still works.
"""

from quadgym.agents.sequence.plugins import (
    EVAL_SEED,
    FTPAlgorithm,
    FTPConfig,
    GPTAlgorithm,
    SequenceConfig,
    SequenceModelAlgorithm,
)

__all__ = [
    "EVAL_SEED",
    "FTPAlgorithm",
    "FTPConfig",
    "GPTAlgorithm",
    "SequenceConfig",
    "SequenceModelAlgorithm",
]
