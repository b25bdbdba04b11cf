"""Small feature extractors for SB3 policies on quadgym's onboard camera images.

SB3's own (``NatureCNN``: 32-64-64 filters, 512 features, ~340k parameters at 64x48)
is sized for 84x84 Atari frames and learns positions as patterns over a flattened
feature map. On QuadVisualReach-v0 what the policy needs from the picture is where the
red sphere is (and how big): :class:`KeypointCNN` computes positions directly (a
spatial soft-argmax) from two small convolutions (~1,100 parameters at 16 maps), whose
cost per sample is small beside an env step's. :class:`SmallCombined` is SB3's
``CombinedExtractor`` with a :class:`KeypointCNN` per image key of a ``Dict``
(``MultiInputPolicy``), the other keys flattened; it takes an image or a vector ``Box``
as well. Pass it as ``policy_kwargs={"features_extractor_class": SmallCombined}``.
Images arrive channels first (SB3's ``VecTransposeImage``), uint8 pixels scaled to
[0, 1] by the policy.
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_flattened_obs_dim, is_image_space
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class KeypointCNN(BaseFeaturesExtractor):
    """Where things are in the image: two convolutions (``channels`` maps, a 4x4
    stride-4 one and a ReLU, then a 1x1 one: a small network per 4x4 patch), a softmax
    over each map's cells (a learnt temperature per map) and its expected position,
    (x, y) in [-1, 1] (x right, y down), plus each map's peak: ``3 * channels`` features.

    The spatial soft-argmax of Levine et al. (2016, "End-to-end training of deep
    visuomotor policies"): a position is a number the policy reads directly, not a
    pattern over a coarse grid of flattened features, so a reach can be learnt as a
    near-linear map from where the target is seen to where to fly. At 64x48 the maps
    are 16x12; the expectation over cells resolves a position finer than a cell.

    Raises:
        ValueError: not a 3-D ``Box``, sides under 4 pixels, or ``channels`` not a
            positive integer.
    """

    def __init__(self, observation_space: spaces.Box, channels: int = 16) -> None:
        _check_positive("channels", channels)
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 3:
            raise ValueError(
                f"KeypointCNN takes a (channels, height, width) Box, got {observation_space}"
            )
        inputs, height, width = observation_space.shape
        if min(height, width) < 4:
            raise ValueError(
                f"KeypointCNN needs images of at least 4x4 pixels, got {width}x{height}"
            )
        super().__init__(observation_space, 3 * channels)
        self.cnn = nn.Sequential(
            nn.Conv2d(inputs, channels, 4, 4),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 1),
        )
        rows, cols = height // 4, width // 4
        ys, xs = torch.meshgrid(
            torch.linspace(-1.0, 1.0, rows), torch.linspace(-1.0, 1.0, cols), indexing="ij"
        )
        self.register_buffer("grid", torch.stack([xs.flatten(), ys.flatten()], dim=1))
        self.log_temperature = nn.Parameter(torch.zeros(channels))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        maps = self.cnn(observations).flatten(2)  # (batch, channels, cells)
        weights = torch.softmax(maps * torch.exp(-self.log_temperature)[:, None], dim=2)
        points = weights @ self.grid  # (batch, channels, 2)
        return torch.cat([points.flatten(1), maps.amax(dim=2)], dim=1)


class SmallCombined(BaseFeaturesExtractor):
    """The features of any observation: a :class:`KeypointCNN` of ``keypoints`` maps per
    image (a ``Dict``'s keys SB3 sees as images, or the whole space), everything else
    flattened, all concatenated in the space's key order. On a vector ``Box`` it is
    SB3's ``FlattenExtractor``, so one ``policy_kwargs`` serves the pixel policy and its
    image-free reference points alike.

    Raises:
        ValueError: ``keypoints`` not a positive integer (or an image too small for
            :class:`KeypointCNN`).
    """

    def __init__(self, observation_space: spaces.Space, keypoints: int = 16) -> None:
        _check_positive("keypoints", keypoints)
        super().__init__(observation_space, features_dim=1)
        self._dict = isinstance(observation_space, spaces.Dict)
        parts = observation_space.spaces if self._dict else {"obs": observation_space}
        extractors: dict[str, nn.Module] = {}
        total = 0
        for key, subspace in parts.items():
            if is_image_space(subspace):
                extractors[key] = KeypointCNN(subspace, keypoints)
                total += extractors[key].features_dim
            else:
                extractors[key] = nn.Flatten()
                total += get_flattened_obs_dim(subspace)
        self.extractors = nn.ModuleDict(extractors)
        self._features_dim = total

    def forward(self, observations: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        if not self._dict:
            return self.extractors["obs"](observations)
        return torch.cat([f(observations[k]) for k, f in self.extractors.items()], dim=1)
