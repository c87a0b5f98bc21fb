"""``vqspeech enroll``: a new target voice for a trained speech VQ-VAE from recordings of one person.

Everything the model learned stays frozen; only a new row of the decoder's speaker table is fitted, by the same
likelihood the model was trained with (the WaveNet's NLL of the recordings given their own codes), starting from
the mean of the known voices.  The new checkpoint is the old one plus that row (and the name in ``speakers``), so
it converts to the new voice exactly as to a trained one."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from vqspeech.errors import InputError
from vqspeech.speech.config import SpeechMeta
from vqspeech.speech.models import SpeechVQVAE

MIN_SECONDS = 5.0  # below this, refuse: too little of the voice to fit anything
GOOD_SECONDS = 60.0  # below this, say that a minute or more is what it is made for


def _grow(table: nn.Embedding) -> nn.Embedding:
    """``table`` with one more row, set to the mean of the others."""
    new = nn.Embedding(table.num_embeddings + 1, table.embedding_dim).to(table.weight.device)
    with torch.no_grad():
        new.weight[:-1] = table.weight
        new.weight[-1] = table.weight.mean(0)
    return new


def _crops(audios: list[np.ndarray], batch: int, length: int, g: torch.Generator) -> torch.Tensor:
    """``[batch, length]`` random crops (zero-padded short recordings), each recording as likely as its length."""
    lengths = np.array([len(a) for a in audios], np.float64)
    pick = torch.multinomial(torch.from_numpy(lengths / lengths.sum()), batch, replacement=True, generator=g)
    out = torch.zeros(batch, length)
    for b, i in enumerate(pick.tolist()):
        a = audios[i]
        start = int(torch.randint(0, max(len(a) - length, 0) + 1, (1,), generator=g))
        piece = torch.from_numpy(a[start : start + length])
        out[b, : len(piece)] = piece
    return out


def enroll_voice(
    model: SpeechVQVAE, meta: SpeechMeta, config: dict[str, Any], name: str, audios: list[np.ndarray], *,
    steps: int = 300, batch_size: int = 8, lr: float = 0.01, seed: int = 0,
    on_step: Callable[[int, int, float], None] | None = None, device: torch.device | str = "cpu",
) -> tuple[SpeechVQVAE, SpeechMeta, dict[str, float]]:
    """Fit a speaker row for ``name`` on ``audios`` (float32 ``[T]`` at the model's rate).  Returns the model with
    the new row, its metadata with ``name`` appended, and ``{seconds, nll_bits_start, nll_bits_end}`` (the NLL of
    the same seeded crops of the recordings under the starting row and the fitted one).
    ``on_step(step, steps, nll_bits)`` reports progress."""
    if name in meta.speakers:
        raise InputError(f"{name!r} is already a voice of this model ({', '.join(meta.speakers)}); pick another name")
    seconds = sum(len(a) for a in audios) / meta.sample_rate
    if seconds < MIN_SECONDS:
        raise InputError(f"{seconds:.1f} s of audio is too little to enroll a voice (at least {MIN_SECONDS:g} s; about "
                         "a minute or more works best)")
    hop = model.hop
    crop = int(config.get("data", {}).get("crop_samples", 16 * hop)) // hop * hop
    model = model.to(device).eval()
    dec = model.decoder
    dec.speakers = _grow(dec.speakers)
    if model.adversary is not None:  # the adversary's classifier learns the new voice only if training resumes
        old = model.adversary.out
        model.adversary.out = nn.Linear(old.in_features, old.out_features + 1).to(old.weight.device)
        with torch.no_grad():
            model.adversary.out.weight[:-1], model.adversary.out.bias[:-1] = old.weight, old.bias
            model.adversary.out.weight[-1], model.adversary.out.bias[-1] = 0.0, -1e4
    for p in model.parameters():
        p.requires_grad_(False)
    row = dec.speakers.weight
    row.requires_grad_(True)
    mask = torch.zeros_like(row)
    mask[-1] = 1.0
    row.register_hook(lambda g: g * mask)
    opt = torch.optim.Adam([row], lr=lr)
    g = torch.Generator().manual_seed(seed)
    spk = torch.full((batch_size,), row.shape[0] - 1, dtype=torch.long, device=device)
    fixed = [_crops(audios, batch_size, crop, torch.Generator().manual_seed(seed + 7919 + i)).to(device)
             for i in range(4)]

    @torch.no_grad()
    def fit() -> float:  # NLL in bits/sample on the same seeded crops before and after
        total = 0.0
        for audio in fixed:
            total += dec.nll(audio, model.quantizer(model.encoder(audio)).quantized, spk).item()
        return total / len(fixed) / math.log(2)

    first = fit()
    for step in range(1, steps + 1):
        audio = _crops(audios, batch_size, crop, g).to(device)
        with torch.no_grad():
            zq = model.quantizer(model.encoder(audio)).quantized
        nll = dec.nll(audio, zq, spk)
        opt.zero_grad(set_to_none=True)
        nll.backward()
        opt.step()
        if on_step:
            on_step(step, steps, nll.item() / math.log(2))
    row.requires_grad_(False)
    last = fit()
    new_meta = SpeechMeta([*meta.speakers, name], meta.sample_rate, meta.hop_length, meta.num_codes)
    return model.cpu(), new_meta, {"seconds": seconds, "nll_bits_start": first, "nll_bits_end": last}
