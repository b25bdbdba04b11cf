"""``gpt`` and ``ftp``: sequence models trained on ToyCoding-v0's generated corpus.

Both plugins train by teacher forcing on (prompt, correct program) pairs that
the task generates from its training split of prompts, and are judged by
writing programs for held-out prompts, token by token, and running them
(:meth:`SequenceModelAlgorithm.evaluate`, the batched equivalent of rolling
out in the env, which :meth:`act` does one token at a time). The loss covers
program tokens (and ``<eos>``) only; the prompt is given.

``learn(budget)`` takes ``budget`` gradient steps (the budget unit is
:attr:`BudgetUnit.UPDATES`) on fresh batches, or, with ``corpus_size`` n, on
batches drawn from one fixed set of n training sequences (the data-limited
regime, where a model sees each program many times), and returns one record
per step, positioned at the steps taken so far.

Regularisation (all off or at the former fixed values by default): ``dropout`` in
the encoder blocks (attention weights, after attention, in the MLP; the masks come
from the run's own torch generator state, seeded by ``seed`` and checkpointed, so
they do not depend on what else the process has run),
AdamW ``weight_decay``, and early stopping (``early_stop_every`` > 0): the
next-token loss on ``val_programs`` training-split programs the model never trains
on (its own stream, as a practitioner's held-out slice of the data) is measured every
``early_stop_every`` updates; after ``patience`` checks without improvement the
remaining budget is spent without updates (records say ``stopped``) and the best
weights are restored, as they also are when the schedule's horizon is reached. The
best weights are not checkpointed.

Config: :class:`SequenceConfig` (``gpt``) and :class:`FTPConfig` (``ftp``). The
optimizer is AdamW (weight decay ``weight_decay``, gradient norm clipped at 1) with the
learning-rate schedule of :mod:`quadgym.agents.schedule`: ``"cosine"`` decays
the step size to 0 over ``horizon`` updates (by default those of each
``learn`` call; ``scripts/train.py`` passes the run's total so that a resumed
run follows the same schedule) or ``"constant"``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np
import torch

from quadgym.agents.base import AlgoConfig, Algorithm, BudgetUnit
from quadgym.agents.capabilities import ProgramCorpus
from quadgym.agents.checkpoint import read_checkpoint, write_checkpoint
from quadgym.agents.schedule import Schedule, lr_schedule, refresh
from quadgym.agents.sequence.nets import FTP, GPT, count_parameters
from quadgym.config import param
from quadgym.envs.coding import EOS, PAD

#: held-out prompts every model is evaluated on are drawn from this seed
EVAL_SEED = 2024


@dataclasses.dataclass(frozen=True)
class SequenceConfig(AlgoConfig):
    """Configuration of ``gpt`` (and the part ``ftp`` shares)."""

    d_model: int = param(64, "width of the encoder (features per token)", ge=1)
    layers: int = param(2, "causal transformer blocks of the encoder", ge=1)
    heads: int = param(4, "attention heads per block (must divide d_model)", ge=1)
    lr: float = param(2e-3, "AdamW peak step size", gt=0)
    batch_size: int = param(128, "sequences per gradient step", ge=1)
    schedule: Schedule = param(
        "cosine", "learning-rate schedule: 'cosine' decays lr to 0 over horizon, or 'constant'"
    )
    horizon: int | None = param(
        None, "updates the cosine schedule spans (None: the end of each learn call)", ge=1
    )
    corpus_size: int | None = param(
        None, "training sequences in one fixed corpus (None: fresh ones every update)", ge=1
    )
    dropout: float = param(0.0, "dropout probability in the encoder blocks", ge=0, lt=1)
    weight_decay: float = param(0.01, "AdamW decoupled weight decay (per unit lr)", ge=0)
    early_stop_every: int = param(
        0, "updates between validation-loss checks for early stopping (0: off)", ge=0
    )
    patience: int = param(3, "checks without a lower validation loss before stopping", ge=1)
    val_programs: int = param(
        500, "held-out training-split programs of the early-stopping loss", ge=1
    )
    train_split: Literal["train", "fit"] = param(
        "train",
        "prompts training and the early-stopping loss draw from: 'train', or 'fit' (the "
        "training split without its 'tune' part, which hyperparameter searches score on)",
    )

    def check(self) -> None:
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of heads ({self.heads})")


@dataclasses.dataclass(frozen=True)
class FTPConfig(SequenceConfig):
    """Configuration of ``ftp``: ``gpt``'s and the future-token decoder's."""

    n_future: int = param(3, "N: future tokens predicted from each position", ge=1)
    pseudo_len: int = param(4, "M: pseudo-tokens the decoder attends to", ge=1)
    gamma: float = param(0.5, "loss weight γ^k of the (k+1)-th future token", gt=0, le=1)
    d_decoder: int = param(64, "width of the decoder (must be a multiple of heads)", ge=1)
    decoder_layers: int = param(1, "transformer blocks of the decoder", ge=1)

    def check(self) -> None:
        super().check()
        if self.d_decoder % self.heads:
            raise ValueError(
                f"d_decoder ({self.d_decoder}) must be a multiple of heads ({self.heads})"
            )


class SequenceModelAlgorithm(Algorithm):
    """Shared training, generation, evaluation and checkpoints of ``gpt`` and ``ftp``.

    Subclasses name their ``network``; the config fields that are keywords of the
    network's ``__init__`` are passed to it.
    """

    Config: ClassVar[type[SequenceConfig]] = SequenceConfig
    budget_unit = BudgetUnit.UPDATES
    supported_envs: ClassVar[tuple[str, ...]] = ("ToyCoding-v0",)
    headline = ("loss", "min")
    logged = ("loss", "lr", "stopped")
    requires = (ProgramCorpus,)
    network: ClassVar[type[torch.nn.Module]]
    config: SequenceConfig

    def __init__(self, env: str | gym.Env = "ToyCoding-v0", **config: Any) -> None:
        super().__init__(env, **config)
        c = self.config
        self.task = self.env.unwrapped.task
        self.seed = c.seed
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            self.net = self.network(
                self.task.vocab_size, self.task.max_length, **self.network_kwargs()
            )
        self.dropout_rng: torch.Tensor | None = None
        if c.dropout:
            with torch.random.fork_rng():
                torch.manual_seed(self.seed + 1)
                self.dropout_rng = torch.get_rng_state()
            for block in self.net.encoder.blocks.layers:
                block.self_attn.dropout = c.dropout
                for m in (block.dropout, block.dropout1, block.dropout2):
                    m.p = c.dropout
        self.optimizer = torch.optim.AdamW(
            self.net.parameters(), lr=c.lr, weight_decay=c.weight_decay
        )
        self._call_end = 0  # the end of the current learn call: the default horizon
        self.scheduler = lr_schedule(self.optimizer, c.schedule, self._horizon)
        self.rng = np.random.default_rng(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.steps_done = 0
        self.fixed_corpus = None
        self.stopped = False
        self.best: tuple[float, dict[str, torch.Tensor]] | None = None
        self.val_history: list[tuple[int, float]] = []  # (updates, validation loss)
        self.val_tokens = None
        if c.early_stop_every:
            val = self.task.corpus(
                np.random.default_rng([self.seed, 2]), c.val_programs, c.train_split
            )
            self.val_tokens = torch.as_tensor(val)
        if c.corpus_size is not None:
            # its own stream, so the corpus depends on the seed and its size only
            self.fixed_corpus = self.task.corpus(
                np.random.default_rng([self.seed, 1]), c.corpus_size, c.train_split
            )

    def network_kwargs(self) -> dict[str, Any]:
        """The config fields that :attr:`network` takes (width, depth, heads, ...)."""
        accepted = inspect.signature(self.network).parameters
        return {k: v for k, v in dataclasses.asdict(self.config).items() if k in accepted}

    def _horizon(self) -> int:
        """Updates the schedule spans: the configured total, or the current call's end."""
        return self.config.horizon or self._call_end

    @property
    def progress(self) -> int:
        """Gradient steps taken so far."""
        return self.steps_done

    @property
    def params(self) -> int:
        """Trainable parameters."""
        return count_parameters(self.net)

    # -------------------------------------------------------------- training
    def batch(self, n: int, split: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` sequences (n, T) and the mask of their program tokens: fresh ones from
        ``split`` (None: the training split, ``train_split``), or draws with replacement
        from the fixed corpus."""
        if split is None:
            split = self.config.train_split
        if self.fixed_corpus is not None and split == self.config.train_split:
            tokens = torch.as_tensor(
                self.fixed_corpus[self.rng.integers(len(self.fixed_corpus), size=n)]
            )
        else:
            tokens = torch.as_tensor(self.task.corpus(self.rng, n, split))
        mask = torch.zeros_like(tokens, dtype=torch.bool)
        mask[:, self.task.prompt_length :] = tokens[:, self.task.prompt_length :] != PAD
        return tokens, mask

    def _learn(self, budget: int, emit: Callable[[dict], None]) -> None:
        self._call_end = self.steps_done + budget
        refresh(self.scheduler)
        with torch.random.fork_rng():
            if self.dropout_rng is not None:
                torch.set_rng_state(self.dropout_rng)
            self._steps(budget, emit)
            if self.dropout_rng is not None:
                self.dropout_rng = torch.get_rng_state()
        self.net.eval()
        if self.best is not None and (self.stopped or self.steps_done >= self._horizon()):
            self.net.load_state_dict(self.best[1])

    def _steps(self, budget: int, emit: Callable[[dict], None]) -> None:
        """``budget`` updates (or, after an early stop, no-op steps)."""
        self.net.train()
        for _ in range(budget):
            if self.stopped:
                self.steps_done += 1
                emit({"loss": float("nan"), "lr": 0.0, "stopped": 1.0})
                continue
            lr = self.optimizer.param_groups[0]["lr"]
            tokens, mask = self.batch(self.config.batch_size)
            loss = self.net.loss(tokens, mask)
            self.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
            self.optimizer.step()
            self.scheduler.step()
            self.steps_done += 1
            if self.config.early_stop_every and self.steps_done % self.config.early_stop_every == 0:
                self._check_validation()
            emit({"loss": float(loss.detach()), "lr": lr})

    def validation_loss(self) -> float:
        """Next-token cross-entropy (nats per program token) on the early-stopping
        programs (or, without early stopping, on 500 fresh training-split ones)."""
        tokens = self.val_tokens
        if tokens is None:
            rng = np.random.default_rng([self.seed, 2])
            tokens = torch.as_tensor(self.task.corpus(rng, 500, self.config.train_split))
        mask = torch.zeros_like(tokens, dtype=torch.bool)
        mask[:, self.task.prompt_length :] = tokens[:, self.task.prompt_length :] != PAD
        with self.inference():
            logits = self.net.next_logits(tokens[:, :-1])
            ce = torch.nn.functional.cross_entropy(
                logits.transpose(1, 2), tokens[:, 1:], reduction="none"
            )
        m = mask[:, 1:].float()
        return float((ce * m).sum() / m.sum())

    def _check_validation(self) -> None:
        """Early stopping: keep the best weights; stop after ``patience`` worse checks."""
        loss = self.validation_loss()
        self.val_history.append((self.steps_done, loss))
        if self.best is None or loss < self.best[0]:
            self.best = (loss, {k: v.detach().clone() for k, v in self.net.state_dict().items()})
            self._bad_checks = 0
            return
        self._bad_checks += 1
        if self._bad_checks >= self.config.patience:
            self.stopped = True

    # ------------------------------------------------------------ generation
    @contextlib.contextmanager
    def inference(self) -> Iterator[None]:
        """No gradients and the network in eval mode (no dropout), restored afterwards:
        scores and written programs never depend on where training left the mode."""
        training = self.net.training
        self.net.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.net.train(training)

    def generate(
        self, prompts: np.ndarray, greedy: bool = True, generator: torch.Generator | None = None
    ) -> np.ndarray:
        """Programs (B, max_program_length) written autoregressively for ``prompts`` (B, 5);
        ``<pad>`` after ``<eos>``.

        Raises:
            ValueError: an empty prompt or a token outside the vocabulary.
        """
        prompts = np.asarray(prompts)
        if prompts.ndim != 2 or prompts.shape[1] == 0:
            raise ValueError(f"prompts must be (B, {self.task.prompt_length}), got {prompts.shape}")
        for p in prompts:
            self.task.parse_prompt(p)
        tokens = torch.as_tensor(prompts, dtype=torch.long)
        done = torch.zeros(len(tokens), dtype=torch.bool)
        with self.inference():
            for _ in range(self.task.max_program_length):
                logits = self.net.next_logits(tokens)[:, -1]
                if greedy:
                    nxt = logits.argmax(-1)
                else:
                    nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[:, 0]
                nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
                tokens = torch.cat([tokens, nxt[:, None]], dim=1)
                done |= nxt == EOS
                if bool(done.all()):
                    break
        out = np.full((len(prompts), self.task.max_program_length), PAD, dtype=np.int64)
        program = tokens[:, prompts.shape[1] :].numpy()
        out[:, : program.shape[1]] = program
        return out

    def act(self, observation: np.ndarray, deterministic: bool = True) -> int:
        obs = self.task.check_tokens(observation, "observation")
        length = int(np.count_nonzero(obs != PAD))
        tokens = torch.as_tensor(obs[:length][None])
        with self.inference():
            logits = self.net.next_logits(tokens)[0, -1]
        if deterministic:
            return int(logits.argmax())
        return int(torch.multinomial(torch.softmax(logits, -1), 1, generator=self.gen))

    def evaluate(self, n: int = 500, greedy: bool = True, split: str = "test") -> float:
        """Success rate of programs written for ``n`` prompts of ``split`` (the same
        prompts for every model: they come from :data:`EVAL_SEED`)."""
        prompts, _ = self.task.sample(np.random.default_rng(EVAL_SEED), n, split)
        gen = torch.Generator().manual_seed(EVAL_SEED)
        programs = self.generate(prompts, greedy=greedy, generator=gen)
        return float(
            np.mean([self.task.execute(p, g)[0] for p, g in zip(prompts, programs, strict=True)])
        )

    def neighbour_cosines(self, n: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        """Cosine similarity (n, T−1) of the top-layer vectors at positions t and t+1 on
        ``n`` held-out (prompt, correct program) pairs, and the mask (n, T−1) of the pairs
        from ``<sep>`` to ``<eos>`` (the ones that :meth:`adjacent_cosine` averages)."""
        prompts, programs = self.task.sample(np.random.default_rng(EVAL_SEED + 1), n, "test")
        tokens = torch.as_tensor(np.concatenate([prompts, programs], axis=1))
        with self.inference():
            h = self.net.encoder(tokens)
        cos = torch.nn.functional.cosine_similarity(h[:, :-1], h[:, 1:], dim=-1)
        first = self.task.prompt_length - 1
        pos = torch.arange(tokens.shape[1] - 1)[None, :]
        eos_at = (tokens == EOS).int().argmax(dim=1)[:, None]
        return cos, (pos >= first) & (pos + 1 <= eos_at)

    def adjacent_cosine(self, n: int = 500) -> float:
        """Mean cosine similarity of the top-layer vectors of neighbouring positions,
        from ``<sep>`` to ``<eos>``, on ``n`` held-out (prompt, correct program) pairs."""
        cos, keep = self.neighbour_cosines(n)
        return float(cos[keep].mean())

    def adjacent_cosine_profile(self, n: int = 500) -> list[float]:
        """Per position pair (t, t+1), t = ``<sep>``'s position, ...: the mean cosine of
        :meth:`adjacent_cosine` over the programs that reach t+1 (NaN where none does)."""
        cos, keep = self.neighbour_cosines(n)
        first = self.task.prompt_length - 1
        counts = keep.sum(0)[first:].float()
        sums = (cos * keep).sum(0)[first:]
        return [float(s / c) if c else float("nan") for s, c in zip(sums, counts, strict=True)]

    # ------------------------------------------------------------ checkpoints
    def save(self, path: str | Path) -> None:
        write_checkpoint(
            self,
            path,
            {
                "net": self.net.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "rng": self.rng.bit_generator.state,
                "generator": self.gen.get_state(),
                "steps_done": self.steps_done,
                "dropout_rng": self.dropout_rng,
            },
        )

    def load(self, path: str | Path) -> None:
        ckpt = read_checkpoint(self, path)
        try:
            self.net.load_state_dict(ckpt["net"])
        except RuntimeError as exc:
            raise ValueError(f"{path} holds a network of another shape: {exc}") from None
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.rng.bit_generator.state = ckpt["rng"]
        self.gen.set_state(ckpt["generator"])
        self.steps_done = ckpt["steps_done"]
        self.dropout_rng = ckpt.get("dropout_rng", self.dropout_rng)
        self.net.eval()


class GPTAlgorithm(SequenceModelAlgorithm):
    """A causal transformer with a next-token head."""

    name = "gpt"
    network = GPT


class FTPAlgorithm(SequenceModelAlgorithm):
    """The same encoder, an expansive projection to M pseudo-tokens and a decoder
    predicting the next N tokens with loss weights γ^k."""

    name = "ftp"
    Config = FTPConfig
    network = FTP
