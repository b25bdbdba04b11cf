"""``gpt`` and ``ftp``: sequence models trained on ToyCoding-v0's generated corpus.

Both plugins train by teacher forcing on (prompt, correct program) pairs that
the task generates from its training split of prompts, and are judged by
writing programs for held-out prompts, token by token, and running them
(:meth:`SequenceModelAlgorithm.evaluate`, the batched equivalent of rolling
out in the env, which :meth:`act` does one token at a time). The loss covers
program tokens (and ``<eos>``) only; the prompt is given.

``learn(budget)`` takes ``budget`` gradient steps on fresh batches, or, with
``corpus_size`` n, on batches drawn from one fixed set of n training sequences
(the data-limited regime, where a model sees each program many times).

Config (both): ``d_model`` 64, ``layers`` 2, ``heads`` 4, ``lr`` 2e-3 (AdamW,
weight decay 0.01, gradient norm clipped at 1), ``batch_size`` 128, ``seed``,
``schedule`` (``"cosine"``: the step size decays to 0 over ``horizon``
steps, by default those of each ``learn`` call; ``scripts/train.py`` passes
the run's total so a resumed run follows the same schedule; or ``"constant"``),
``corpus_size`` (None: fresh data every step).
``ftp`` adds ``n_future`` N (3), ``pseudo_len`` M (4), ``gamma`` γ (0.5),
``d_decoder`` (64), ``decoder_layers`` (1).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from quadgym.agents.base import Algorithm
from quadgym.agents.checkpoint import read_checkpoint, write_checkpoint
from quadgym.agents.seqnets import FTP, GPT, count_parameters
from quadgym.envs.coding import EOS, PAD

#: held-out prompts every model is evaluated on are drawn from this seed
EVAL_SEED = 2024


class SequenceModelAlgorithm(Algorithm):
    """Shared training, generation, evaluation and checkpoints of ``gpt`` and ``ftp``."""

    supported_envs: ClassVar[tuple[str, ...]] = ("ToyCoding-v0",)
    uses_horizon = True
    net_keys: ClassVar[tuple[str, ...]] = ("d_model", "layers", "heads")

    def __init__(
        self,
        env: str | gym.Env = "ToyCoding-v0",
        seed: int = 0,
        d_model: int = 64,
        layers: int = 2,
        heads: int = 4,
        lr: float = 2e-3,
        batch_size: int = 128,
        schedule: str = "cosine",
        horizon: int | None = None,
        corpus_size: int | None = None,
        **config: Any,
    ) -> None:
        net_config = {"d_model": d_model, "layers": layers, "heads": heads}
        net_config.update({k: config.pop(k) for k in self.net_keys if k in config})
        super().__init__(
            env,
            seed=seed,
            lr=lr,
            batch_size=batch_size,
            schedule=schedule,
            horizon=horizon,
            corpus_size=corpus_size,
            **net_config,
            **config,
        )
        if schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
        if config:
            raise ValueError(f"unknown config for {self.name!r}: {', '.join(config)}")
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if corpus_size is not None and corpus_size < 1:
            raise ValueError(f"corpus_size must be >= 1 or None (fresh data), got {corpus_size}")
        self.task = self.env.unwrapped.task
        self.seed, self.batch_size = int(seed), int(batch_size)
        self.lr, self.schedule = float(lr), schedule
        self.horizon = None if horizon is None else int(horizon)
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            self.net = self.build(self.task.vocab_size, self.task.max_length, **net_config)
        self.optimizer = torch.optim.AdamW(self.net.parameters(), lr=lr, weight_decay=0.01)
        self.rng = np.random.default_rng(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.steps_done = 0
        self.fixed_corpus = None
        if corpus_size is not None:
            # its own stream, so the corpus depends on the seed and its size only
            self.fixed_corpus = self.task.corpus(
                np.random.default_rng([self.seed, 1]), int(corpus_size), "train"
            )

    def build(self, vocab: int, max_len: int, **net_config: Any) -> torch.nn.Module:
        raise NotImplementedError

    @property
    def params(self) -> int:
        """Trainable parameters."""
        return count_parameters(self.net)

    # -------------------------------------------------------------- training
    def batch(self, n: int, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` sequences (n, T) and the mask of their program tokens: fresh ones,
        or draws with replacement from the fixed corpus."""
        if self.fixed_corpus is not None and split == "train":
            tokens = torch.as_tensor(
                self.fixed_corpus[self.rng.integers(len(self.fixed_corpus), size=n)]
            )
        else:
            tokens = torch.as_tensor(self.task.corpus(self.rng, n, split))
        mask = torch.zeros_like(tokens, dtype=torch.bool)
        mask[:, self.task.prompt_length :] = tokens[:, self.task.prompt_length :] != PAD
        return tokens, mask

    def learn(self, budget: int, callback: Callable[[dict], Any] | None = None) -> list[dict]:
        history = []
        self.net.train()
        horizon = self.horizon or self.steps_done + int(budget)
        for _ in range(int(budget)):
            if self.schedule == "cosine":
                frac = min(self.steps_done / max(horizon, 1), 1.0)
                for group in self.optimizer.param_groups:
                    group["lr"] = self.lr * 0.5 * (1 + np.cos(np.pi * frac))
            tokens, mask = self.batch(self.batch_size)
            loss = self.net.loss(tokens, mask)
            self.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
            self.optimizer.step()
            self.steps_done += 1
            record = {"step": self.steps_done, "loss": float(loss.detach())}
            history.append(record)
            if callback is not None:
                callback(record)
        self.net.eval()
        return history

    # ------------------------------------------------------------ generation
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
        with torch.no_grad():
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
        with torch.no_grad():
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

    def adjacent_cosine(self, n: int = 500) -> float:
        """Mean cosine similarity of the top-layer vectors of neighbouring positions,
        from ``<sep>`` to ``<eos>``, on ``n`` held-out (prompt, correct program) pairs."""
        prompts, programs = self.task.sample(np.random.default_rng(EVAL_SEED + 1), n, "test")
        tokens = torch.as_tensor(np.concatenate([prompts, programs], axis=1))
        with torch.no_grad():
            h = self.net.encoder(tokens)
        cos = torch.nn.functional.cosine_similarity(h[:, :-1], h[:, 1:], dim=-1)
        first = self.task.prompt_length - 1
        pos = torch.arange(tokens.shape[1] - 1)[None, :]
        eos_at = (tokens == EOS).int().argmax(dim=1)[:, None]
        keep = (pos >= first) & (pos + 1 <= eos_at)
        return float(cos[keep].mean())

    # ------------------------------------------------------------ checkpoints
    def save(self, path: str | Path) -> None:
        write_checkpoint(
            self,
            path,
            {
                "net": self.net.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "rng": self.rng.bit_generator.state,
                "generator": self.gen.get_state(),
                "steps_done": self.steps_done,
            },
        )

    def load(self, path: str | Path) -> None:
        ckpt = read_checkpoint(self, path)
        try:
            self.net.load_state_dict(ckpt["net"])
        except RuntimeError as exc:
            raise ValueError(f"{path} holds a network of another shape: {exc}") from None
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.rng.bit_generator.state = ckpt["rng"]
        self.gen.set_state(ckpt["generator"])
        self.steps_done = ckpt["steps_done"]
        self.net.eval()


class GPTAlgorithm(SequenceModelAlgorithm):
    """A causal transformer with a next-token head."""

    name = "gpt"

    def build(self, vocab: int, max_len: int, **net_config: Any) -> torch.nn.Module:
        return GPT(vocab, max_len, **net_config)


class FTPAlgorithm(SequenceModelAlgorithm):
    """The same encoder, an expansive projection to M pseudo-tokens and a decoder
    predicting the next N tokens with loss weights γ^k."""

    name = "ftp"
    net_keys = (
        "d_model",
        "layers",
        "heads",
        "n_future",
        "pseudo_len",
        "gamma",
        "d_decoder",
        "decoder_layers",
    )

    def build(self, vocab: int, max_len: int, **net_config: Any) -> torch.nn.Module:
        return FTP(vocab, max_len, **net_config)
