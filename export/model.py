"""The performance renderer: a transformer-VAE over notes (PyTorch; training only).

Encoder (bidirectional) reads score features and a performance and gives one embedding per
note; averaged over beats and bars, linear layers give Gaussian posteriors of bar-, beat- and
note-level style latents. The decoder (causal: it never sees later notes) reads, for every note,
its score features, the previous note's performance and the three latents, and predicts a
Gaussian over the note's five expression targets (normalised).

The decoder's attention keeps keys and values per layer so that generation can go note by note
with a cache (see ``export/onnx_export.py``); positions are implicit in the causal order (no
positional encoding), so a cache can be trimmed to a bounded context.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

N_TARGETS = 5


@dataclass
class ModelConfig:
    n_score: int
    d_model: int = 128
    n_heads: int = 4
    enc_layers: int = 2
    dec_layers: int = 3
    ff_mult: int = 4
    dropout: float = 0.1
    z_bar: int = 16
    z_beat: int = 8
    z_note: int = 4
    latent_drop: float = 0.5  # chance that a level's latents are hidden from the decoder

    @property
    def z_total(self) -> int:
        return self.z_bar + self.z_beat + self.z_note

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.h = cfg.n_heads
        self.dh = cfg.d_model // cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(
        self,
        x: torch.Tensor,
        causal: bool,
        key_padding: torch.Tensor | None = None,
        past_k: torch.Tensor | None = None,
        past_v: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
        if past_k is not None and past_v is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
            y = F.scaled_dot_product_attention(q, k, v)
        elif key_padding is not None:
            mask = key_padding[:, None, None, :]  # True where the key is real
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        y = y.transpose(1, 2).reshape(b, t, d)
        return self.out(y), k, v


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ff = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.ff_mult * cfg.d_model),
            nn.GELU(),
            nn.Linear(cfg.ff_mult * cfg.d_model, cfg.d_model),
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self,
        x: torch.Tensor,
        causal: bool,
        key_padding: torch.Tensor | None = None,
        past_k: torch.Tensor | None = None,
        past_v: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a, k, v = self.attn(self.ln1(x), causal, key_padding, past_k, past_v)
        x = x + self.drop(a)
        x = x + self.drop(self.ff(self.ln2(x)))
        return x, k, v


def segment_onehot(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, T) membership of each note in segment 0…T-1 (ids are counted from the window's
    first note, so a window never has more segments than notes; later ones are clipped)."""
    t = ids.shape[1]
    slots = torch.arange(t, device=ids.device)
    onehot = ids.clamp(0, t - 1)[..., None] == slots[None, None, :]
    return (onehot & mask[..., None]).float()


def segment_mean(h: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``h`` over notes sharing a segment id (beat or bar), broadcast back to notes."""
    onehot = segment_onehot(ids, mask).to(h.dtype)
    sums = onehot.transpose(1, 2) @ h  # (B, S, d)
    counts = onehot.sum(dim=1)[..., None].clamp(min=1.0)
    return onehot @ (sums / counts)


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.inp = nn.Linear(cfg.n_score + N_TARGETS, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.enc_layers))
        self.ln = nn.LayerNorm(cfg.d_model)
        self.bar = nn.Linear(cfg.d_model, 2 * cfg.z_bar)
        self.beat = nn.Linear(cfg.d_model, 2 * cfg.z_beat)
        self.note = nn.Linear(cfg.d_model, 2 * cfg.z_note)

    def forward(
        self,
        score: torch.Tensor,
        perf: torch.Tensor,
        beat_id: torch.Tensor,
        bar_id: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-note (mean, log-variance) of the concatenated [bar, beat, note] latents."""
        h = self.inp(torch.cat([score, perf], dim=-1))
        for block in self.blocks:
            h, _, _ = block(h, causal=False, key_padding=mask)
        h = self.ln(h)
        bar = self.bar(segment_mean(h, bar_id, mask))
        beat = self.beat(segment_mean(h, beat_id, mask))
        note = self.note(h)
        parts = [p.chunk(2, dim=-1) for p in (bar, beat, note)]
        mu = torch.cat([p[0] for p in parts], dim=-1)
        logvar = torch.cat([p[1] for p in parts], dim=-1).clamp(-8.0, 4.0)
        return mu, logvar


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.score_in = nn.Linear(cfg.n_score, cfg.d_model)
        self.prev_in = nn.Linear(N_TARGETS + 1, cfg.d_model)
        self.z_in = nn.Linear(cfg.z_total + 3, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.dec_layers))
        self.ln = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, 2 * N_TARGETS)

    def embed(self, score: torch.Tensor, prev: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.score_in(score) + self.prev_in(prev) + self.z_in(z)

    def params(self, h: torch.Tensor) -> torch.Tensor:
        out = self.head(self.ln(h))
        mean, log_std = out.chunk(2, dim=-1)
        return torch.cat([mean, log_std.clamp(-5.0, 2.0)], dim=-1)

    def forward(
        self, score: torch.Tensor, prev: torch.Tensor, z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Whole-sequence causal pass: (params, keys, values); keys/values (L, B, H, T, dh)."""
        h = self.embed(score, prev, z)
        ks, vs = [], []
        for block in self.blocks:
            h, k, v = block(h, causal=True)
            ks.append(k)
            vs.append(v)
        return self.params(h), torch.stack(ks), torch.stack(vs)

    def step(
        self,
        score: torch.Tensor,
        prev: torch.Tensor,
        z: torch.Tensor,
        past_k: torch.Tensor,
        past_v: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One or more new notes after a cache: (params, keys, values) of the new notes only."""
        h = self.embed(score, prev, z)
        ks, vs = [], []
        for i, block in enumerate(self.blocks):
            h, k, v = block(h, causal=False, past_k=past_k[i], past_v=past_v[i])
            ks.append(k[:, :, -score.shape[1] :])
            vs.append(v[:, :, -score.shape[1] :])
        return self.params(h), torch.stack(ks), torch.stack(vs)


def latent_input(z: torch.Tensor, keep: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """Latents with hidden levels zeroed, plus one presence flag per level (bar, beat, note)."""
    sizes = (cfg.z_bar, cfg.z_beat, cfg.z_note)
    parts = list(z.split(sizes, dim=-1))
    gated = [p * keep[..., i : i + 1] for i, p in enumerate(parts)]
    return torch.cat([*gated, keep], dim=-1)


class Renderer(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def forward(
        self,
        score: torch.Tensor,
        perf: torch.Tensor,
        prev: torch.Tensor,
        beat_id: torch.Tensor,
        bar_id: torch.Tensor,
        mask: torch.Tensor,
        self_feed: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass: (decoder params, latent mean, latent log-variance).

        Windows flagged in ``self_feed`` (B,) see, as the past performance, the decoder's own
        predictions from a first pass instead of the human's: the decoder learns to continue
        from its own output, as it must when it generates (parallel scheduled sampling)."""
        mu, logvar = self.encoder(score, perf, beat_id, bar_id, mask)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        b = score.shape[0]
        if self.training:
            keep = (torch.rand(b, 1, 3, device=score.device) >= self.cfg.latent_drop).to(z.dtype)
        else:
            keep = torch.ones(b, 1, 3, dtype=z.dtype, device=score.device)
        keep = keep.expand(b, score.shape[1], 3)
        z_in = latent_input(z, keep, self.cfg)
        if self_feed is not None and bool(self_feed.any()):
            prev = self.own_past(score, prev, z_in, self_feed)
        params, _, _ = self.decoder(score, prev, z_in)
        return params, mu, logvar

    def own_past(
        self, score: torch.Tensor, prev: torch.Tensor, z_in: torch.Tensor, chosen: torch.Tensor
    ) -> torch.Tensor:
        """``prev`` with the chosen windows' past replaced by the decoder's predicted means."""
        with torch.no_grad():
            params, _, _ = self.decoder(score, prev, z_in.detach())
        fed = prev.clone()
        fed[:, 1:, :N_TARGETS] = params[:, :-1, :N_TARGETS]
        return torch.where(chosen[:, None, None], fed, prev)


def gaussian_nll(params: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per target value over masked notes."""
    mean, log_std = params.chunk(2, dim=-1)
    nll = 0.5 * ((target - mean) / torch.exp(log_std)) ** 2 + log_std + 0.9189385
    m = mask[..., None].to(nll.dtype)
    return (nll * m).sum() / (m.sum() * target.shape[-1]).clamp(min=1.0)


def kl_divergence(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    mask: torch.Tensor,
    beat_id: torch.Tensor,
    bar_id: torch.Tensor,
    cfg: ModelConfig,
) -> torch.Tensor:
    """KL to the standard-normal prior per note: note latents per note, beat/bar latents once
    per segment (their per-note copies are weighted by 1 / notes in the segment)."""
    kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar)
    bar_kl, beat_kl, note_kl = kl.split((cfg.z_bar, cfg.z_beat, cfg.z_note), dim=-1)
    m = mask.to(kl.dtype)

    def per_segment(values: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        onehot = segment_onehot(ids, mask).to(kl.dtype)
        counts = onehot.sum(dim=1).clamp(min=1.0)  # (B, S)
        weight = (onehot / counts[:, None, :]).sum(dim=-1)  # 1 / segment size per note
        return (values.sum(-1) * weight * m).sum()

    total = (
        per_segment(bar_kl, bar_id) + per_segment(beat_kl, beat_id) + (note_kl.sum(-1) * m).sum()
    )
    return total / m.sum().clamp(min=1.0)
