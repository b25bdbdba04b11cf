"""The DPO "3D-properties" toy: prompts × responses, a latent score and a Bradley–Terry oracle.

Yan et al. 2024, "3D-Properties: Identifying Challenges in DPO and Charting a
Path Forward" (arXiv 2406.07327). DPO's gradient ratio ∂ℓ/∂π⁻ : ∂ℓ/∂π⁺ =
−π⁺/π⁻ drives a Drastic drop of the rejected likelihood, a Degradation into
unlearning (the chosen likelihood falls too) and a Dispersion of mass onto
responses the data never shows; milder when the data is on-policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from quadgym.config import param
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.lifecycle import EpisodeGuard
from quadgym.envs.outcomes import softmax

SOURCES = ("on", "off")


@dataclass(frozen=True)
class PreferenceConfig(EnvConfig):
    """The arguments of PreferenceToy-v0, checked before anything is built."""

    num_prompts: int = param(4, "P, prompts", ge=1)
    num_responses: int = param(10, "R, responses per prompt; two pools of 4 and 2 unseen", ge=10)
    ref_temperature: float = param(
        1.0,
        "temperature of π_ref's logits (3·N(0, 1)); >= 0.05, so that π_ref gives every "
        "response a positive probability (smaller ones underflow to 0)",
        ge=0.05,
    )
    task_seed: int = param(0, "draws the scores and π_ref", ge=0)


class PreferenceToyEnv(gym.Env):
    """
    ## Description

    ``num_prompts`` prompts (default 4) and ``num_responses`` responses (10).
    Each prompt has a latent score r(x, y) per response and a reference
    distribution π_ref(·|x) that strongly prefers a few responses. A
    Bradley–Terry oracle compares two responses with P(y ≻ y') = σ(r(x,y) − r(x,y')).
    :meth:`preference_dataset` builds chosen/rejected pairs whose chosen and
    rejected responses are **on-policy** (among the responses π_ref favours)
    or **off-policy** (among those it rarely produces), independently: the
    paper's four scenarios ``on_on``, ``on_off``, ``off_on``, ``off_off``.

    Per prompt the responses split by π_ref rank into an on-policy pool (the 4
    likeliest) and an off-policy pool (the 4 rarest); chosen responses come from
    one half of a pool and rejected ones from the other half of a pool, so the
    chosen, rejected and unseen sets of a prompt never overlap. Every pair is
    confirmed by the oracle (a draw it disagrees with is redrawn).

    ## Action Space

    ``Discrete(num_responses)``: the response.

    ## Observation Space

    ``Discrete(num_prompts)``: the prompt, drawn uniformly at reset.

    ## Rewards

    The latent score r(prompt, response) (standard normal draws).

    ## Episode End

    One step.

    ## Arguments

    | Parameter          | Default | Description                                      |
    |--------------------|---------|--------------------------------------------------|
    | ``num_prompts``    | 4       | P >= 1                                           |
    | ``num_responses``  | 10      | R >= 10 (two pools of 4, 2 unseen)               |
    | ``ref_temperature``| 1.0     | temperature of π_ref's logits (3·N(0, 1)); >=    |
    |                    |         | 0.05, so that every response keeps a probability |
    |                    |         | > 0 (log π_ref stays finite)                     |
    | ``task_seed``      | 0       | draws scores and π_ref, >= 0                     |

    Checked before anything is built, as :class:`PreferenceConfig` (``env.config``):
    ``TypeError`` for a wrong type, ``ValueError`` for a value that is out of
    range or not finite, naming the argument and what is allowed. ``step()``
    before ``reset()`` or after the episode's one step raises ``ResetNeeded``;
    after ``close()``, ``EnvClosed``.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        num_prompts: int = 4,
        num_responses: int = 10,
        ref_temperature: float = 1.0,
        task_seed: int = 0,
    ):
        self.config = config = PreferenceConfig.from_arguments(locals())
        num_prompts, num_responses = config.num_prompts, config.num_responses
        rng = np.random.default_rng(config.task_seed)
        self.num_prompts, self.num_responses = num_prompts, num_responses
        self.scores = rng.normal(size=(num_prompts, num_responses))
        self.ref_policy = softmax(
            3.0 * rng.normal(size=(num_prompts, num_responses)) / config.ref_temperature
        )
        order = np.argsort(-self.ref_policy, axis=1)  # likeliest first
        #: per prompt: on-policy pool halves (A, B) and off-policy pool halves (A, B)
        self.pools = {
            "on": (order[:, [0, 2]], order[:, [1, 3]]),
            "off": (order[:, [-1, -3]], order[:, [-2, -4]]),
        }
        self.action_space = spaces.Discrete(num_responses)
        self.observation_space = spaces.Discrete(num_prompts)
        self._prompt: int | None = None
        self._guard = EpisodeGuard("PreferenceToy-v0")

    # ----------------------------------------------------------------- oracle
    def preference_probability(self, prompt: int, y: int, y2: int) -> float:
        """Bradley–Terry P(y ≻ y' | prompt) = σ(r(x, y) − r(x, y'))."""
        self._check(prompt, y, y2)
        return float(1.0 / (1.0 + np.exp(-(self.scores[prompt, y] - self.scores[prompt, y2]))))

    def compare(self, prompt: int, y: int, y2: int, rng: np.random.Generator) -> bool:
        """One oracle judgement: True when y is preferred to y'."""
        return bool(rng.random() < self.preference_probability(prompt, y, y2))

    def _check(self, prompt: int, *responses: int) -> None:
        if not 0 <= int(prompt) < self.num_prompts:
            raise ValueError(f"prompt {prompt} is outside 0..{self.num_prompts - 1}")
        for y in responses:
            if not 0 <= int(y) < self.num_responses:
                raise ValueError(
                    f"response {y} is outside the vocabulary 0..{self.num_responses - 1}"
                )

    # ---------------------------------------------------------------- dataset
    def preference_dataset(
        self,
        chosen: str = "on",
        rejected: str = "on",
        pairs_per_prompt: int = 64,
        seed: int | None = None,
        prompts: Any = None,
    ) -> dict[str, np.ndarray]:
        """Chosen/rejected pairs for each prompt in ``prompts`` (default: all).

        Returns arrays ``prompt``, ``y`` (chosen), ``y2`` (rejected),
        ``first_preferred`` (all True) and ``r``, ``r2`` (latent scores).

        Raises:
            ValueError: unknown source, pairs_per_prompt < 1, unknown prompt.
        """
        for name, src in (("chosen", chosen), ("rejected", rejected)):
            if src not in SOURCES:
                raise ValueError(f"{name} must be 'on' or 'off', got {src!r}")
        if pairs_per_prompt < 1:
            raise ValueError(f"pairs_per_prompt must be >= 1, got {pairs_per_prompt}")
        prompts = range(self.num_prompts) if prompts is None else prompts
        rng = np.random.default_rng(seed)
        rows = []
        for x in prompts:
            self._check(x)
            c_pool, r_pool = self.pools[chosen][0][x], self.pools[rejected][1][x]
            for _ in range(pairs_per_prompt):
                for _attempt in range(1000):
                    c, r = rng.choice(c_pool), rng.choice(r_pool)
                    if self.compare(x, c, r, rng):
                        break
                else:
                    raise RuntimeError(f"the oracle never preferred the chosen pool on prompt {x}")
                rows.append((x, c, r))
        return self.chosen_rejected_pairs(rows)

    def chosen_rejected_pairs(self, rows: Any) -> dict[str, np.ndarray]:
        """The plugins' pair arrays from (prompt, chosen, rejected) ``rows``: ``prompt``,
        ``y`` (chosen), ``y2`` (rejected), ``first_preferred`` (all True) and ``r``, ``r2``
        (their latent scores)."""
        a = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return {
            "prompt": a[:, 0],
            "y": a[:, 1],
            "y2": a[:, 2],
            "first_preferred": np.ones(len(a), dtype=bool),
            "r": self.scores[a[:, 0], a[:, 1]],
            "r2": self.scores[a[:, 0], a[:, 2]],
        }

    def response_sets(self, data: dict) -> np.ndarray:
        """(P, R) int array: 1 chosen, 2 rejected, 0 unseen in ``data``, per prompt.

        Raises:
            ValueError: a prompt with no preference pairs in ``data``.
        """
        sets = np.zeros((self.num_prompts, self.num_responses), dtype=np.int64)
        sets[data["prompt"], data["y"]] = 1
        sets[data["prompt"], data["y2"]] = 2
        empty = [x for x in range(self.num_prompts) if not np.any(data["prompt"] == x)]
        if empty:
            raise ValueError(f"prompts {empty} have no preference pairs in the dataset")
        return sets

    # ---------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._guard.reset()
        super().reset(seed=seed)
        self._prompt = int(self.np_random.integers(self.num_prompts))
        return self._prompt, {}

    def step(self, action):
        self._guard.check_step()
        if not self.action_space.contains(action):
            raise ValueError(
                f"response {action!r} is outside the vocabulary 0..{self.num_responses - 1}"
            )
        self._guard.end()
        return self._prompt, float(self.scores[self._prompt, int(action)]), True, False, {}

    def close(self) -> None:
        """Nothing to release; ``step()``/``reset()`` then raise ``EnvClosed``."""
        self._guard.close()
