"""GPT and Future Token Prediction networks (PyTorch).

Both share :class:`CausalEncoder`, a pre-norm causal transformer whose top
layer gives one vector h_t per position (it sees tokens 0..t only).

* :class:`GPT` reads the next token off h_t with a linear head.
* :class:`FTP` (Walker 2024, arXiv 2410.18160) projects h_t linearly and
  expansively into a pseudo-sequence of M vectors; a small causal transformer
  decoder cross-attends to it and predicts the next N tokens t+1 .. t+N,
  teacher-forced on t+1 .. t+N−1 during training. Generation uses its first
  prediction, so FTP writes one token at a time like GPT; the extra targets
  only shape what h_t must encode.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def causal_mask(length: int) -> torch.Tensor:
    """Additive (length, length) mask: −inf above the diagonal."""
    return torch.triu(torch.full((length, length), float("-inf")), diagonal=1)


class CausalEncoder(nn.Module):
    """Token and position embeddings, ``layers`` causal pre-norm blocks, a final LayerNorm."""

    def __init__(
        self, vocab: int, max_len: int, d_model: int = 64, layers: int = 2, heads: int = 4
    ):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        block = nn.TransformerEncoderLayer(
            d_model, heads, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.max_len = max_len

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Top-layer vectors (B, T, d) for ``tokens`` (B, T); position t sees 0..t."""
        length = tokens.shape[1]
        if length > self.max_len:
            raise ValueError(f"sequence of {length} tokens exceeds the model's {self.max_len}")
        x = self.tok(tokens) + self.pos(torch.arange(length))
        return self.norm(self.blocks(x, mask=causal_mask(length), is_causal=True))


class GPT(nn.Module):
    """A causal encoder with a next-token head."""

    def __init__(
        self, vocab: int, max_len: int, d_model: int = 64, layers: int = 2, heads: int = 4
    ):
        super().__init__()
        self.encoder = CausalEncoder(vocab, max_len, d_model, layers, heads)
        self.head = nn.Linear(d_model, vocab)

    def next_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of the token after each position."""
        return self.head(self.encoder(tokens))

    def loss(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of token t+1 at every position t where ``mask[:, t+1]``."""
        logits = self.next_logits(tokens[:, :-1])
        ce = F.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], reduction="none")
        m = mask[:, 1:].float()
        return (ce * m).sum() / m.sum()


class FTP(nn.Module):
    """A causal encoder, an expansive projection to M pseudo-tokens, a decoder for N tokens.

    Args:
        n_future: N, future tokens predicted from each position.
        pseudo_len: M, length of the pseudo-sequence the decoder attends to.
        gamma: weight γ^k of the loss on the (k+1)-th future token.
        d_decoder, decoder_layers: width and depth of the decoder.
    """

    def __init__(
        self,
        vocab: int,
        max_len: int,
        d_model: int = 64,
        layers: int = 2,
        heads: int = 4,
        n_future: int = 3,
        pseudo_len: int = 4,
        gamma: float = 0.5,
        d_decoder: int = 64,
        decoder_layers: int = 1,
    ):
        super().__init__()
        if n_future < 1 or pseudo_len < 1 or not 0 < gamma <= 1:
            raise ValueError(
                f"need n_future >= 1, pseudo_len >= 1, 0 < gamma <= 1; "
                f"got {n_future}, {pseudo_len}, {gamma}"
            )
        self.encoder = CausalEncoder(vocab, max_len, d_model, layers, heads)
        self.n_future, self.pseudo_len, self.gamma = n_future, pseudo_len, gamma
        self.d_decoder = d_decoder
        self.expand = nn.Linear(d_model, pseudo_len * d_decoder)
        self.pseudo_pos = nn.Parameter(torch.zeros(pseudo_len, d_decoder))
        self.dec_tok = nn.Embedding(vocab + 1, d_decoder)  # + a start symbol
        self.dec_pos = nn.Embedding(n_future, d_decoder)
        # The decoder's first query is a constant start symbol; everything it knows
        # about the position arrives through cross-attention to the pseudo-sequence.
        # With unit-variance embeddings (PyTorch's default) the constant dominates
        # the residual stream and training sat at the marginal-token solution for
        # over a thousand steps on some seeds; small embeddings (GPT-2's 0.02) let
        # the memory's signal through from the start (docs/ftp.md).
        nn.init.normal_(self.dec_tok.weight, std=0.02)
        nn.init.normal_(self.dec_pos.weight, std=0.02)
        block = nn.TransformerDecoderLayer(
            d_decoder, heads, 4 * d_decoder, dropout=0.0, batch_first=True, norm_first=True
        )
        self.decoder = nn.TransformerDecoder(block, decoder_layers)
        self.norm = nn.LayerNorm(d_decoder)
        self.head = nn.Linear(d_decoder, vocab)
        self.start = vocab

    def memory(self, h: torch.Tensor) -> torch.Tensor:
        """Pseudo-sequences (..., M, d_dec) from top-layer vectors h (..., d)."""
        return self.expand(h).unflatten(-1, (self.pseudo_len, self.d_decoder)) + self.pseudo_pos

    def decode(self, memory: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """Logits (S, n, V) for decoder ``inputs`` (S, n) attending to ``memory`` (S, M, d_dec)."""
        n = inputs.shape[1]
        x = self.dec_tok(inputs) + self.dec_pos(torch.arange(n))
        y = self.decoder(x, memory, tgt_mask=causal_mask(n), tgt_is_causal=True)
        return self.head(self.norm(y))

    def next_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of the token after each position (the decoder's first output)."""
        h = self.encoder(tokens)
        b, t, _ = h.shape
        mem = self.memory(h).flatten(0, 1)
        start = torch.full((b * t, 1), self.start, dtype=torch.long)
        return self.decode(mem, start)[:, 0].unflatten(0, (b, t))

    def loss(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Σ_k γ^k · CE(token t+1+k) / Σ_k γ^k over positions t and offsets k where the
        target is in ``mask`` (targets past the end are skipped)."""
        b, length = tokens.shape
        n = self.n_future
        pad = torch.zeros(b, n, dtype=tokens.dtype)
        padded = torch.cat([tokens, pad], dim=1)
        padded_mask = torch.cat([mask, torch.zeros(b, n, dtype=mask.dtype)], dim=1)
        idx = torch.arange(length - 1)[:, None] + 1 + torch.arange(n)[None, :]  # (T-1, N)
        targets = padded[:, idx]  # (B, T-1, N)
        weights = padded_mask[:, idx].float() * self.gamma ** torch.arange(n).float()
        h = self.encoder(tokens[:, :-1])
        keep = weights[..., 0] > 0  # positions whose next token is a target
        mem = self.memory(h[keep])
        tgt = targets[keep]
        inputs = torch.cat([torch.full((len(tgt), 1), self.start), tgt[:, :-1]], dim=1)
        logits = self.decode(mem, inputs)
        ce = F.cross_entropy(logits.transpose(1, 2), tgt, reduction="none")
        w = weights[keep]
        norm = self.gamma ** torch.arange(n).float()
        return ((ce * w).sum(1) / (w > 0).float().mul(norm).sum(1)).mean()


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
