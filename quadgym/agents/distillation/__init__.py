"""The distillation family: augmentors for ``HardShift-v0`` (HARD, Nix, Burg, Sinz 2023).

* :mod:`.plugins`: the shared loop and checkpoints, plain KD, the hand-designed
  augmentations (noise, random shifts, and the standard augmentation of shifts, local
  warps and noise) and the learned shift augmentors ``hard`` and ``hard_grad``;
* :mod:`.warp`: ``hard_warp``, a 1-D spatial-transformer generator not handed the shift
  family.
"""
