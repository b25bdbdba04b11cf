"""``ToyCoding-v0``: write a straight-line program that turns an input into a target.

A toy, exactly checkable coding problem for the Future Token Prediction
comparison (Walker 2024, arXiv 2410.18160), which reports FTP beating GPT on
"a toy, but complex, coding problem" without publishing it; this is ours.

The prompt gives an input value x, a target value t and a length K; the
program is exactly K operations, each applied to a register that starts at
x, then ``<eos>``. It passes when the register ends at t without leaving
the value range on the way. Early operations must anticipate late
constraints: doubling early amplifies every later addition, the register
must stay in range, and the K-th operation has to land exactly, so the
first token already commits to a plan for the whole program.

Tokens: ``<pad> <bos> <sep> <eos>``, then the numbers ``0 .. R-1`` (used for
x, t and K), then the operations. A sequence is
``<bos> x t K <sep> op_1 … op_K <eos>``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from quadgym.config import TypedConfig, param
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.lifecycle import EpisodeGuard

PAD, BOS, SEP, EOS = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<sep>", "<eos>")

#: operation name -> function of the register
OPERATIONS: dict[str, Callable[[int], int]] = {
    "+1": lambda v: v + 1,
    "+3": lambda v: v + 3,
    "*2": lambda v: v * 2,
    "-2": lambda v: v - 2,
}

#: Most number tokens (R): with the specials, 4096 tokens.
MAX_NUMBERS = 4096 - len(SPECIALS)

#: Fraction of the training split's prompts in its ``tune`` part (a second fixed hash): the
#: held-out data a baseline's hyperparameters are chosen on when it trains on ``fit`` (the
#: rest), so that the choice never sees the evaluation split.
TUNE_FRACTION = 0.2

#: ``train`` and ``test`` by ``holdout``; ``fit`` and ``tune`` divide ``train``; ``all``.
SPLITS = ("train", "test", "all", "fit", "tune")


def _operations(name: str, value: tuple[str, ...]) -> tuple[str, ...]:
    """Operation names, each one of :data:`OPERATIONS`, at least one."""
    unknown = [op for op in value if op not in OPERATIONS]
    if unknown or not value:
        raise ValueError(f"unknown operations {unknown} in {name}; choose from {list(OPERATIONS)}")
    return value


@dataclass(frozen=True)
class CodingTask(TypedConfig):
    """The grammar, the interpreter and the generator of the toy coding problem.

    Its fields are checked as every typed config of quadgym (type, range, the
    rules between them), so an impossible task is refused by name when it is made.
    ``holdout`` is the fraction of the (x, t, K) prompts reserved for evaluation;
    the split is a fixed hash of the prompt, so every generator agrees on it.
    """

    value_range: int = param(
        32, "R: registers, inputs and targets live in 0..R-1", ge=2, le=MAX_NUMBERS
    )
    min_ops: int = param(3, "shortest program length K", ge=1)
    max_ops: int = param(6, "longest program length K; below value_range (K is a number)", ge=1)
    operations: tuple[str, ...] = param(
        ("+1", "+3", "*2", "-2"), f"operation names, from {list(OPERATIONS)}", check=_operations
    )
    holdout: float = param(0.2, "fraction of prompts held out for evaluation", ge=0.0, lt=1.0)

    def check(self) -> None:
        if self.min_ops > self.max_ops:
            raise ValueError(
                f"need min_ops <= max_ops, got min_ops={self.min_ops}, max_ops={self.max_ops}"
            )
        if self.max_ops >= self.value_range:
            raise ValueError(
                f"max_ops must be below value_range (K is written as a number token), got "
                f"max_ops={self.max_ops}, value_range={self.value_range}"
            )

    @cached_property
    def _ops(self) -> tuple[Callable[[int], int], ...]:
        """The operations as functions of the register, in token order."""
        return tuple(OPERATIONS[op] for op in self.operations)

    # ------------------------------------------------------------ vocabulary
    @property
    def vocab_size(self) -> int:
        """V: specials, numbers, operations."""
        return len(SPECIALS) + self.value_range + len(self.operations)

    @property
    def prompt_length(self) -> int:
        """Tokens of ``<bos> x t K <sep>``."""
        return 5

    @property
    def max_program_length(self) -> int:
        """The longest program: ``max_ops`` operations and ``<eos>``."""
        return self.max_ops + 1

    @property
    def max_length(self) -> int:
        """Prompt plus the longest program."""
        return self.prompt_length + self.max_program_length

    def number(self, value: int) -> int:
        """The token of the number ``value``."""
        return len(SPECIALS) + int(value)

    def op_token(self, index: int) -> int:
        """The token of operation ``index``."""
        return len(SPECIALS) + self.value_range + int(index)

    @property
    def op_tokens(self) -> np.ndarray:
        return np.arange(len(self.operations)) + len(SPECIALS) + self.value_range

    def token_name(self, token: int) -> str:
        """A readable name for ``token``."""
        token = int(token)
        if token < len(SPECIALS):
            return SPECIALS[token]
        if token < len(SPECIALS) + self.value_range:
            return str(token - len(SPECIALS))
        return self.operations[token - len(SPECIALS) - self.value_range]

    def decode(self, tokens: Sequence[int]) -> str:
        """Tokens as text, without padding."""
        return " ".join(self.token_name(t) for t in tokens if int(t) != PAD)

    # --------------------------------------------------------------- prompts
    def make_prompt(self, x: int, target: int, num_ops: int) -> np.ndarray:
        """``<bos> x t K <sep>`` as tokens.

        Raises:
            ValueError: a value outside the range or K outside ``min_ops .. max_ops``.
        """
        for name, v in (("x", x), ("target", target)):
            if not 0 <= v < self.value_range:
                raise ValueError(f"{name}={v} is outside 0..{self.value_range - 1}")
        if not self.min_ops <= num_ops <= self.max_ops:
            raise ValueError(f"K={num_ops} is outside {self.min_ops}..{self.max_ops}")
        return np.array(
            [BOS, self.number(x), self.number(target), self.number(num_ops), SEP], dtype=np.int64
        )

    def parse_prompt(self, prompt: Sequence[int]) -> tuple[int, int, int]:
        """(x, t, K) from prompt tokens.

        Raises:
            ValueError: an empty prompt, a token outside the vocabulary, or a
                prompt that is not ``<bos> x t K <sep>``.
        """
        p = self.check_tokens(prompt, "prompt")
        if len(p) == 0:
            raise ValueError("the prompt is empty; expected <bos> x t K <sep>")
        numbers = p[1:4] - len(SPECIALS)
        if (
            len(p) != self.prompt_length
            or p[0] != BOS
            or p[4] != SEP
            or np.any((numbers < 0) | (numbers >= self.value_range))
            or not self.min_ops <= numbers[2] <= self.max_ops
        ):
            raise ValueError(f"prompt {self.decode(p)!r} is not <bos> x t K <sep> with K in range")
        return int(numbers[0]), int(numbers[1]), int(numbers[2])

    def check_tokens(self, tokens: Sequence[int], what: str) -> np.ndarray:
        """``tokens`` as an int array, or a ValueError naming a token outside the vocabulary."""
        t = np.asarray(tokens)
        if t.ndim != 1:
            raise ValueError(f"{what} must be a 1-D token sequence, got shape {t.shape}")
        if t.size and (t.dtype.kind not in "iu" or t.min() < 0 or t.max() >= self.vocab_size):
            bad = t[(t < 0) | (t >= self.vocab_size) | (t != np.round(t))][0]
            raise ValueError(
                f"{what} token {bad} is outside the vocabulary 0..{self.vocab_size - 1}"
            )
        return t.astype(np.int64)

    def is_holdout(self, x: np.ndarray, target: np.ndarray, num_ops: np.ndarray) -> np.ndarray:
        """Whether each prompt belongs to the evaluation split (a fixed hash)."""
        key = np.asarray(x) * 7919 + np.asarray(target) * 104729 + np.asarray(num_ops) * 1299709
        return (key * 2654435761 % 2**32) / 2**32 < self.holdout

    def is_tune(self, x: np.ndarray, target: np.ndarray, num_ops: np.ndarray) -> np.ndarray:
        """Whether each prompt, if in the training split, belongs to its ``tune`` part
        (:data:`TUNE_FRACTION` of it; a second fixed hash, independent of the first)."""
        key = np.asarray(x) * 6007 + np.asarray(target) * 86243 + np.asarray(num_ops) * 611953
        return (key * 2246822519 % 2**32) / 2**32 < TUNE_FRACTION

    def in_split(
        self, split: str, x: np.ndarray, target: np.ndarray, num_ops: np.ndarray
    ) -> np.ndarray:
        """Whether each prompt belongs to ``split`` (one of :data:`SPLITS`)."""
        if split == "all":
            return np.ones(np.shape(x), dtype=bool)
        held = self.is_holdout(x, target, num_ops)
        if split == "test":
            return held
        if split == "train":
            return ~held
        return ~held & (self.is_tune(x, target, num_ops) == (split == "tune"))

    # ------------------------------------------------------------- execution
    def execute(
        self, prompt: Sequence[int], program: Sequence[int]
    ) -> tuple[bool, int | None, str]:
        """Run ``program`` on ``prompt``: (passes, final register, error or "").

        A program fails (explicitly, with the reason) when it holds a token that is
        not an operation before ``<eos>``, lacks ``<eos>``, has a number of
        operations other than K, leaves the value range, or ends away from t.
        Trailing ``<pad>`` after ``<eos>`` is ignored.

        Raises:
            ValueError: an empty or malformed prompt, a token outside the
                vocabulary, or a program longer than :attr:`max_program_length`.
        """
        x, target, num_ops = self.parse_prompt(prompt)
        prog = self.check_tokens(program, "program")
        if len(prog) > self.max_program_length:
            raise ValueError(
                f"program has {len(prog)} tokens; the limit is {self.max_program_length} "
                f"({self.max_ops} operations and <eos>)"
            )
        ops = self.op_tokens
        value = x
        for i, tok in enumerate(prog):
            if tok == EOS:
                if i != num_ops:
                    return (
                        False,
                        value,
                        f"wrong length: {i} operations, the prompt asks for {num_ops}",
                    )
                if value != target:
                    return False, value, f"ends at {value}, target {target}"
                return True, value, ""
            if tok not in ops:
                return (
                    False,
                    None,
                    f"malformed: {self.token_name(tok)!r} at position {i} is not an operation",
                )
            value = self._ops[tok - ops[0]](value)
            if not 0 <= value < self.value_range:
                return False, None, f"out of range: {value} after operation {i}"
        return False, value, "malformed: no <eos>"

    # ------------------------------------------------------------- generator
    def sample(
        self, rng: np.random.Generator, n: int, split: str = "train"
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` (prompt, correct program) pairs from ``split`` (one of :data:`SPLITS`).

        Programs are drawn uniformly among operation sequences that stay in range
        (rejection sampling); the prompt's target is where they end. Returns
        prompts (n, 5) and programs (n, max_program_length), ``<pad>``-filled.
        """
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        prompts, programs = [], []
        n_ops = len(self.operations)
        while len(prompts) < n:
            m = 4 * (n - len(prompts)) + 16
            x = rng.integers(self.value_range, size=m)
            k = rng.integers(self.min_ops, self.max_ops + 1, size=m)
            ops = rng.integers(n_ops, size=(m, self.max_ops))
            value = x.copy()
            ok = np.ones(m, dtype=bool)
            for j in range(self.max_ops):
                active = j < k
                nxt = value.copy()
                for o, fn in enumerate(self._ops):
                    sel = active & (ops[:, j] == o)
                    nxt[sel] = fn(value[sel])
                value = nxt
                ok &= (value >= 0) & (value < self.value_range)
                value = np.clip(value, 0, self.value_range - 1)
            ok &= self.in_split(split, x, value, k)
            for i in np.flatnonzero(ok)[: n - len(prompts)]:
                prompts.append(self.make_prompt(x[i], value[i], k[i]))
                prog = np.full(self.max_program_length, PAD, dtype=np.int64)
                prog[: k[i]] = self.op_tokens[ops[i, : k[i]]]
                prog[k[i]] = EOS
                programs.append(prog)
        return np.stack(prompts), np.stack(programs)

    def corpus(self, rng: np.random.Generator, n: int, split: str = "train") -> np.ndarray:
        """``n`` full sequences (n, max_length): prompt, program, ``<pad>``."""
        prompts, programs = self.sample(rng, n, split)
        return np.concatenate([prompts, programs], axis=1)


@dataclass(frozen=True)
class ToyCodingConfig(EnvConfig):
    """The env's own arguments of ToyCoding-v0 (the task's are :class:`CodingTask`)."""

    split: Literal["train", "test", "all"] = param("test", "where the prompts come from")
    render_mode: str | None = param(
        None, "None or 'ansi' (the sequence as text)", choices=("ansi",)
    )


class ToyCodingEnv(gym.Env):
    """
    ## Description

    Write, one token at a time, a program of exactly K operations that takes a
    register from x to t (:class:`CodingTask`). Prompts come from the task's
    evaluation split (``split="test"``, default) or training split.

    ## Action Space

    ``Discrete(V)``: the next token, any token of the vocabulary; a token that is
    not an operation or ``<eos>`` ends the episode as a malformed program.

    ## Observation Space

    ``MultiDiscrete([V] * (5 + max_ops + 1))``: the prompt ``<bos> x t K <sep>``
    followed by the tokens written so far, ``<pad>``-filled.

    ## Rewards

    1 when the finished program passes, else 0; given on the last step only.

    ## Episode End

    Terminated at ``<eos>``, at the first token that makes the program
    malformed, or when ``max_ops + 1`` tokens are written. ``info["error"]``
    says why a program failed ("" when it passed), ``info["value"]`` where the
    register ended.

    ## Arguments

    | Parameter      | Default | Description                                 |
    |----------------|---------|---------------------------------------------|
    | ``split``      | test    | prompts from ``train``, ``test`` or ``all`` |
    | ``value_range``| 32      | R, in 2 .. 4092                             |
    | ``min_ops``    | 3       | shortest K, >= 1                            |
    | ``max_ops``    | 6       | longest K, in min_ops .. R - 1              |
    | ``render_mode``| None    | None or ``ansi``                            |

    Checked before anything is built (``env.config``, a :class:`ToyCodingConfig`,
    and ``env.task``, a :class:`CodingTask`): ``TypeError`` for a wrong type,
    ``ValueError`` for a value out of range, naming the argument and what is
    allowed. ``step()`` before ``reset()`` or after the program ended raises
    ``ResetNeeded``; after ``close()``, ``EnvClosed``.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        split: str = "test",
        value_range: int = 32,
        min_ops: int = 3,
        max_ops: int = 6,
        render_mode: str | None = None,
    ):
        self.config = ToyCodingConfig.from_arguments(locals())
        self.task = CodingTask(value_range=value_range, min_ops=min_ops, max_ops=max_ops)
        self.split, self.render_mode = self.config.split, self.config.render_mode
        v = self.task.vocab_size
        self.action_space = spaces.Discrete(v)
        self.observation_space = spaces.MultiDiscrete(np.full(self.task.max_length, v))
        self._prompt: np.ndarray | None = None
        self._program: list[int] = []
        self._guard = EpisodeGuard("ToyCoding-v0", over="the program is finished; call reset()")

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._guard.reset()
        super().reset(seed=seed)
        prompts, programs = self.task.sample(self.np_random, 1, self.split)
        self._prompt, self._program = prompts[0], []
        return self._obs(), {"reference": programs[0]}

    def step(self, action: Any):
        self._guard.check_step()
        a = np.asarray(action)
        if a.shape != () or a.dtype.kind not in "iu":
            raise ValueError(f"action must be one integer token, got {action!r}")
        token = int(a)
        if not 0 <= token < self.task.vocab_size:
            raise ValueError(
                f"token {token} is outside the vocabulary 0..{self.task.vocab_size - 1}"
            )
        self._program.append(token)
        done = (
            token == EOS
            or token not in self.task.op_tokens
            or len(self._program) == self.task.max_program_length
        )
        self._guard.end(done)
        if not done:
            return self._obs(), 0.0, False, False, {}
        passed, value, error = self.task.execute(self._prompt, self._program)
        info = {"passed": passed, "value": value, "error": error}
        return self._obs(), float(passed), True, False, info

    def close(self) -> None:
        """Nothing to release; ``step()``/``reset()`` then raise ``EnvClosed``."""
        self._guard.close()

    def render(self) -> str | None:
        if self.render_mode == "ansi" and self._prompt is not None:
            return self.task.decode(np.concatenate([self._prompt, self._program]))
        return None

    def _obs(self) -> np.ndarray:
        obs = np.full(self.task.max_length, PAD, dtype=np.int64)
        seq = np.concatenate([self._prompt, np.asarray(self._program, dtype=np.int64)])
        obs[: len(seq)] = seq
        return obs
