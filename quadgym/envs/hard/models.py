"""Teacher, student and the shift operations of the HARD toy (PyTorch).

The teacher is a convolutional network with circular padding and a global
max over positions: circular convolution commutes with circular shifts and
the max forgets where a feature was, so the teacher's output is *exactly*
invariant to circular shifts of its input (up to float rounding). The
student is an MLP on the raw signal, which has no such bias and learns only
the positions its training data shows.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from quadgym.envs.hard.data import ShiftData


class CircularCNN(nn.Module):
    """Two circular convolutions, ReLU, a global max over positions, a linear head."""

    def __init__(self, num_classes: int, channels: int = 32, kernel: int = 7):
        super().__init__()
        pad = kernel // 2
        self.features = nn.Sequential(
            nn.Conv1d(1, channels, kernel, padding=pad, padding_mode="circular"),
            nn.ReLU(),
            nn.Conv1d(channels, channels, kernel, padding=pad, padding_mode="circular"),
            nn.ReLU(),
        )
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) for signals ``x`` (B, L)."""
        return self.head(self.features(x[:, None, :]).amax(dim=-1))


class MLPStudent(nn.Module):
    """A two-hidden-layer MLP on the signal: no notion of position."""

    def __init__(self, length: int, num_classes: int, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(length, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) for signals ``x`` (B, L)."""
        return self.net(x)


def shift_interpolate(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Circularly shift each row of ``x`` (B, L) right by the real ``shifts`` (B,).

    Linear interpolation between the two neighbouring integer shifts, so the
    result is differentiable in ``shifts`` (and equals ``torch.roll`` at
    integers): out[i] = (1 − f)·x[i − k] + f·x[i − k − 1], k = ⌊s⌋, f = s − k.
    """
    length = x.shape[1]
    k = torch.floor(shifts)
    f = (shifts - k)[:, None]
    idx = (torch.arange(length, device=x.device)[None, :] - k.long()[:, None]) % length
    return (1 - f) * x.gather(1, idx) + f * x.gather(1, (idx - 1) % length)


def warp_interpolate(x: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
    """Warp each row of ``x`` (B, L) by a displacement field ``displacement`` (B, L), in samples.

    out[i] = x(i − d[i]) on the circle, read by linear interpolation between the two
    neighbouring samples, so the result is differentiable in ``d`` (a 1-D spatial
    transformer's sampler). A constant field d[i] = s is the circular shift
    :func:`shift_interpolate` by s; a field whose slope stays below 1 in magnitude
    is a smooth, order-keeping warp (it stretches and compresses the signal locally).
    """
    length = x.shape[1]
    pos = torch.arange(length, device=x.device, dtype=x.dtype)[None, :] - displacement
    k = torch.floor(pos)
    f = pos - k
    left = torch.remainder(k, length).long()
    return (1 - f) * x.gather(1, left) + f * x.gather(1, (left + 1) % length)


def warp_nearest(x: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
    """Warp each row of ``x`` (B, L) by ``displacement`` (B, L), reading the nearest sample.

    out[i] = x[round(i − d[i]) mod L] (``torch.round``: halves to even). Unlike
    :func:`warp_interpolate` it never averages neighbouring samples, so a fractional
    displacement does not blur the signal (every output value is one of the row's own
    samples); it is not differentiable in ``d``. A constant integer field is ``torch.roll``.
    """
    length = x.shape[1]
    pos = torch.arange(length, device=x.device, dtype=displacement.dtype)[None, :] - displacement
    return x.gather(1, torch.remainder(torch.round(pos), length).long())


def fourier_modes(length: int, modes: int, max_slope: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The local part of a smooth displacement field: (basis, bound). ``basis`` (2·modes, L)
    holds cos(2πki/L) then sin(2πki/L), k = 1 .. ``modes``; ``bound`` (2·modes,) the largest
    amplitude of each, max_slope·L/(2πk·2·modes), so that a field Σ amplitudes·basis with
    every amplitude within its bound has a slope below ``max_slope`` (samples per sample):
    the slope of a_k·cos + b_k·sin is at most (|a_k| + |b_k|)·2πk/L, summed over the modes."""
    k = torch.arange(1, modes + 1, dtype=torch.float32)
    i = torch.arange(length, dtype=torch.float32)
    phase = 2 * torch.pi * k[:, None] * i[None, :] / length  # (modes, L)
    bound = max_slope * length / (2 * torch.pi * k * 2 * max(modes, 1))
    return torch.cat([torch.cos(phase), torch.sin(phase)]), torch.cat([bound, bound])


def estimate_shift(original: np.ndarray, augmented: np.ndarray) -> np.ndarray:
    """The circular shift (B,) that best maps each row of ``original`` (B, L) onto
    ``augmented``: argmax over s of the circular cross-correlation Σ_i aug[i]·orig[i − s]
    (through the FFT), as an integer in 0 .. L − 1. Exact for a pure circular shift of a
    signal whose shifted copies are distinct; for a warp it is the shift of best overlap."""
    spectrum = np.fft.rfft(augmented, axis=1) * np.conj(np.fft.rfft(original, axis=1))
    corr = np.fft.irfft(spectrum, n=original.shape[1], axis=1)
    return np.argmax(corr, axis=1).astype(np.int64)


def kd_kl(teacher_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float):
    """Per-sample KL(teacher ‖ student) (B,) of the temperature-softened distributions,
    scaled by T² (Hinton et al. 2015) so gradients keep their size across T."""
    t = F.log_softmax(teacher_logits / temperature, dim=-1)
    s = F.log_softmax(student_logits / temperature, dim=-1)
    return (t.exp() * (t - s)).sum(dim=-1) * temperature**2


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample correctness (bool, (B,)) of ``model`` on ``x``."""
    with torch.no_grad():
        return model(x).argmax(dim=-1) == y


_TEACHERS: dict[tuple, tuple[dict, dict]] = {}


def train_teacher(
    data: ShiftData, key: tuple, seed: int, steps: int = 600, batch: int = 128, lr: float = 3e-3
) -> tuple[CircularCNN, dict]:
    """The teacher for ``data``, trained with Adam on the training window only.

    Its invariance gives it every shifted position for free. Trained once per
    process for a given ``key`` (the data set's identity) and ``seed``, then
    rebuilt from the cached weights. Returns the model (in eval mode, frozen)
    and its accuracies ``{"in_distribution", "shifted"}`` on the evaluation set.
    """
    cache_key = (key, seed, steps, batch, lr)
    with torch.random.fork_rng():  # seeded init that leaves the global generator alone
        torch.manual_seed(seed)
        teacher = CircularCNN(data.num_classes)
    if cache_key not in _TEACHERS:
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(teacher.parameters(), lr=lr)
        x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
        for _ in range(steps):
            idx = torch.randint(len(y), (batch,), generator=gen)
            loss = F.cross_entropy(teacher(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        teacher.eval()
        correct = accuracy(teacher, torch.as_tensor(data.x_eval), torch.as_tensor(data.y_eval))
        seen = torch.as_tensor(data.in_window(data.pos_eval))
        scores = {
            "in_distribution": float(correct[seen].float().mean()),
            "shifted": float(correct[~seen].float().mean()),
        }
        _TEACHERS[cache_key] = ({k: v.clone() for k, v in teacher.state_dict().items()}, scores)
    state, scores = _TEACHERS[cache_key]
    teacher.load_state_dict(state)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher, dict(scores)
