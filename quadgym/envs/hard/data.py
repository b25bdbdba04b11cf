"""The data of the HARD shift toy: 1-D signals whose class pattern sits at a position.

Every data set here is a :class:`ShiftData`: training signals whose pattern
starts inside a window of positions ``[0, window)``, and an evaluation set
with the pattern at *every* position of the circular signal, so that
accuracy splits into in-distribution (start in the window) and shifted
(start outside it). Two data sets:

* ``toy``: C random templates of width ``template_width`` placed on a zero
  signal of length ``length`` with circular wrap, plus Gaussian noise.
* ``mnist1d``: MNIST-1D digits (Greydanus 2020, the ``mnist1d`` package's
  templates and its padding, scaling, correlated noise and shear, generated
  offline) *without* the package's random translation, so that each digit
  starts at position 0; we then roll the signal circularly by a known
  position, from the window for training and from all positions for evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from quadgym.config import TypedConfig, param

DATASETS = ("toy", "mnist1d")


@dataclass(frozen=True)
class ShiftData:
    """Signals, labels and pattern positions for training and evaluation.

    Attributes:
        x_train: (N, L) float32 training signals, pattern start in ``[0, window)``.
        y_train: (N,) int64 labels.
        pos_train: (N,) int64 pattern start positions.
        x_eval, y_eval, pos_eval: the same for evaluation, every start in ``[0, L)``.
        num_classes: C.
        window: training positions are ``0 .. window - 1``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    pos_train: np.ndarray
    x_eval: np.ndarray
    y_eval: np.ndarray
    pos_eval: np.ndarray
    num_classes: int
    window: int

    @property
    def length(self) -> int:
        """L, the number of samples in a signal."""
        return self.x_train.shape[1]

    def in_window(self, positions: np.ndarray) -> np.ndarray:
        """Whether pattern start ``positions`` (taken modulo L) lie in the training window."""
        return np.mod(positions, self.length) < self.window


def roll_rows(x: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Circularly shift each row of ``x`` (N, L) right by the integer ``shifts`` (N,)."""
    n, length = x.shape
    idx = (np.arange(length)[None, :] - np.asarray(shifts)[:, None]) % length
    return x[np.arange(n)[:, None], idx]


@dataclass(frozen=True)
class ToyData(TypedConfig):
    """The toy data set's arguments (HardShift-v0's ``window`` and ``data_kwargs``)."""

    num_classes: int = param(8, "C, classes (one random template each)", ge=2)
    length: int = param(32, "L, samples per circular signal", ge=2)
    window: int = param(8, "training patterns start at 0 .. window-1; 1 <= window < L", ge=1)
    template_width: int = param(6, "samples of a template; <= L", ge=1)
    noise: float = param(
        0.3, "standard deviation of the Gaussian noise (templates have unit RMS)", ge=0, le=10
    )
    num_train: int = param(512, "training signals", ge=1)
    eval_per_position: int = param(4, "evaluation copies of each class at each position", ge=1)

    def check(self) -> None:
        _check_split(self.length, self.window, self.template_width)

    def make(self, seed: int) -> ShiftData:
        """The data set drawn from ``seed`` (see :func:`make_toy`)."""
        num_classes, length, window = self.num_classes, self.length, self.window
        template_width, noise = self.template_width, self.noise
        num_train, eval_per_position = self.num_train, self.eval_per_position
        rng = np.random.default_rng(seed)
        templates = rng.normal(size=(num_classes, template_width))
        templates /= np.sqrt((templates**2).mean(axis=1, keepdims=True))
        base = np.zeros((num_classes, length))
        base[:, :template_width] = templates

        def draw(labels: np.ndarray, positions: np.ndarray) -> np.ndarray:
            x = roll_rows(base[labels], positions)
            return (x + noise * rng.normal(size=x.shape)).astype(np.float32)

        y_train = rng.integers(num_classes, size=num_train)
        pos_train = rng.integers(window, size=num_train)
        grid_y, grid_p = np.meshgrid(np.arange(num_classes), np.arange(length), indexing="ij")
        y_eval = np.repeat(grid_y.ravel(), eval_per_position)
        pos_eval = np.repeat(grid_p.ravel(), eval_per_position)
        return ShiftData(
            x_train=draw(y_train, pos_train),
            y_train=y_train.astype(np.int64),
            pos_train=pos_train.astype(np.int64),
            x_eval=draw(y_eval, pos_eval),
            y_eval=y_eval.astype(np.int64),
            pos_eval=pos_eval.astype(np.int64),
            num_classes=num_classes,
            window=window,
        )


@dataclass(frozen=True)
class Mnist1dData(TypedConfig):
    """The MNIST-1D data set's arguments (HardShift-v0's ``window`` and ``data_kwargs``)."""

    window: int = param(8, "training digits start at 0 .. window-1; 1 <= window < 40", ge=1)
    num_samples: int = param(5000, "digits generated (an equal number per class), 80% train", ge=10)

    def check(self) -> None:
        _check_split(_mnist1d_length(), self.window, 1)

    def make(self, seed: int) -> ShiftData:
        """The data set drawn from ``seed`` (see :func:`make_mnist1d`)."""
        from mnist1d.data import get_dataset_args, get_templates
        from mnist1d.transform import corr_noise_like, iid_noise_like, interpolate, pad, shear

        window, num_samples = self.window, self.num_samples
        args = get_dataset_args()
        templates = get_templates()
        saved = np.random.get_state()  # noqa: NPY002 - mnist1d draws from the global generator
        try:
            np.random.seed(seed)  # noqa: NPY002
            xs, ys = [], []
            per_class = num_samples // len(templates["y"])
            for label in templates["y"]:
                for _ in range(per_class):
                    x = pad(templates["x"][label] + 1e-8, args.padding)
                    x = interpolate(x, args.template_len + args.padding[-1])
                    x = x * (1 + args.scale_coeff * (np.random.rand() - 0.5))  # noqa: NPY002
                    mask = x != 0
                    x = mask * x + (1 - mask) * corr_noise_like(x, args.corr_noise_scale)
                    x = x + iid_noise_like(x, args.iid_noise_scale)
                    x = shear(x, args.shear_scale)
                    xs.append(interpolate(x, args.final_seq_length))
                    ys.append(label)
        finally:
            np.random.set_state(saved)  # noqa: NPY002
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(ys))
        x = np.stack(xs)[order]
        y = np.asarray(ys, dtype=np.int64)[order]
        x = (x - x.mean()) / x.std()
        split = int(0.8 * len(y))
        length = x.shape[1]
        pos_train = rng.integers(window, size=split)
        pos_eval = rng.integers(length, size=len(y) - split)
        return ShiftData(
            x_train=roll_rows(x[:split], pos_train).astype(np.float32),
            y_train=y[:split],
            pos_train=pos_train.astype(np.int64),
            x_eval=roll_rows(x[split:], pos_eval).astype(np.float32),
            y_eval=y[split:],
            pos_eval=pos_eval.astype(np.int64),
            num_classes=len(templates["y"]),
            window=window,
        )


#: Each data set's arguments, by name.
DATA_CONFIGS: dict[str, type[ToyData | Mnist1dData]] = {"toy": ToyData, "mnist1d": Mnist1dData}


def data_config(name: str, **kwargs: Any) -> ToyData | Mnist1dData:
    """The checked arguments of data set ``name``.

    Raises:
        ValueError: an unknown name, an unknown argument (with the closest one) or a
            value out of range, named.
        TypeError: a value of the wrong type, named.
    """
    if name not in DATA_CONFIGS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATA_CONFIGS[name].from_mapping(kwargs)


def make_toy(seed: int, **kwargs: Any) -> ShiftData:
    """Random templates at a position on a circular signal, plus noise; ``kwargs`` are
    :class:`ToyData` 's fields.

    Each template has standard-normal entries scaled to unit RMS, so that
    classes differ in shape and not in energy. The evaluation set holds
    ``eval_per_position`` noisy copies of every class at every position.
    """
    return ToyData.from_mapping(kwargs).make(seed)


def make_mnist1d(seed: int, **kwargs: Any) -> ShiftData:
    """MNIST-1D (40 samples, 10 classes) with a circular shift split; ``kwargs`` are
    :class:`Mnist1dData` 's fields.

    The signals come from ``mnist1d.transform``'s steps with the package's
    default arguments except the translation, which we leave out: each digit
    begins at position 0. The first 80% (as in MNIST-1D) are training signals
    rolled by a position drawn from the window; the rest are evaluation
    signals rolled by a position drawn from all 40. The package draws from
    NumPy's global generator; we seed it and restore its state afterwards.
    """
    return Mnist1dData.from_mapping(kwargs).make(seed)


@cache
def _mnist1d_length() -> int:
    """L of MNIST-1D signals (40), from the package's own arguments."""
    from mnist1d.data import get_dataset_args

    return int(get_dataset_args().final_seq_length)


def make_dataset(name: str, seed: int, **kwargs: Any) -> ShiftData:
    """The data set ``name`` (``toy`` or ``mnist1d``) drawn from ``seed``; ``kwargs`` are
    its config's fields (:class:`ToyData`, :class:`Mnist1dData`).

    Raises:
        ValueError: an unknown name or argument, a value out of range, an impossible split.
        TypeError: a value of the wrong type.
    """
    return data_config(name, **kwargs).make(seed)


def _check_split(length: int, window: int, width: int) -> None:
    """Refuse a window that leaves no position unseen, or a template longer than a signal."""
    if not 1 <= window < length:
        raise ValueError(
            f"window must be in 1..{length - 1} so that some positions are unseen, got {window}"
        )
    if not 1 <= width <= length:
        raise ValueError(f"template_width must be in 1..{length}, got {width}")
