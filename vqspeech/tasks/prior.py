"""Training task ``speech-prior`` (a WaveNet over codes) and ``vqspeech sample``."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vqspeech.errors import CheckpointError, ConfigError, InputError
from vqspeech.formats.checkpoint import find_checkpoint, load_model, read_meta, sha256_file
from vqspeech.formats.tokens import read_token_meta, read_tokens
from vqspeech.models.prior import CodePrior

LN2 = math.log(2.0)


class SpeechPriorTask:
    """Trains :class:`CodePrior` on code sequences from a token dataset (``data.tokens``), or from audio
    (``data.root``) encoded on the fly with the VQ-VAE checkpoint ``data.vqvae``."""

    kind = "speech-prior"

    def __init__(self, cfg: dict[str, Any], run_dir: Path, quiet: bool = False) -> None:
        data = cfg["data"]
        if data["tokens"]:
            tmeta = read_token_meta(data["tokens"])
            rows = read_tokens(data["tokens"])
            vq_path, vq_sha = tmeta["model_path"], tmeta["model_sha256"]
            if data["vqvae"]:
                vq_path, vq_sha = data["vqvae"], sha256_file(data["vqvae"])
                if vq_sha != tmeta["model_sha256"]:
                    raise ConfigError(f"data.vqvae {data['vqvae']} is not the model that made {data['tokens']}")
            vmeta = {k: tmeta[k] for k in ("num_codes", "sample_rate", "hop_length")}
            vmeta["speakers"] = tmeta.get("speakers") or sorted({r["speaker"] for r in rows})
        elif data["root"] and data["vqvae"]:
            rows, vmeta = _encode_corpus(data)
            vq_path, vq_sha = data["vqvae"], sha256_file(data["vqvae"])
        else:
            raise ConfigError("set data.tokens (a token dataset) or data.root together with data.vqvae")
        if not rows:
            raise InputError("the prior's training data holds no utterances")
        self.cfg, self.crop = cfg, data["crop_codes"]
        self.num_codes = int(vmeta["num_codes"])
        self.speakers = list(vmeta["speakers"])
        self.frame_rate = vmeta["sample_rate"] / vmeta["hop_length"]
        self._meta = {"speakers": self.speakers, "sample_rate": vmeta["sample_rate"],
                      "hop_length": vmeta["hop_length"], "num_codes": self.num_codes,
                      "frame_rate": self.frame_rate, "vqvae_path": str(Path(vq_path).resolve()),
                      "vqvae_sha256": vq_sha}
        index = {s: i for i, s in enumerate(self.speakers)}
        seqs = [(np.asarray(r["codes"], np.int64), index.get(r.get("speaker"), 0)) for r in rows]
        order = list(range(len(seqs)))
        random.Random(cfg["train"]["seed"]).shuffle(order)
        n_valid = 0
        if len(seqs) > 1 and data["valid_fraction"] > 0:
            n_valid = max(1, round(len(seqs) * data["valid_fraction"]))
        self.valid = [seqs[i] for i in order[:n_valid]]
        self.train = [seqs[i] for i in order[n_valid:]]

    def describe(self) -> str:
        n = sum(len(c) for c, _ in self.train)
        return f"{len(self.train)} training sequences ({n} codes, {n / self.frame_rate / 60:.1f} min)"

    def meta(self) -> dict[str, Any]:
        return dict(self._meta)

    def build_model(self) -> nn.Module:
        return CodePrior(self.cfg["model"], self.num_codes, len(self.speakers))

    def samples_per_batch(self) -> int:
        return self.cfg["train"]["batch_size"] * self.crop

    def _crops(self, seqs: list, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        pick = torch.randint(0, len(seqs), (batch,), generator=g).tolist()
        codes = torch.zeros(batch, self.crop, dtype=torch.long)
        mask = torch.zeros(batch, self.crop, dtype=torch.bool)
        spk = torch.empty(batch, dtype=torch.long)
        for b, i in enumerate(pick):
            c, s = seqs[i]
            start = int(torch.randint(0, max(len(c) - self.crop, 0) + 1, (1,), generator=g))
            piece = torch.from_numpy(c[start : start + self.crop])
            codes[b, : len(piece)] = piece
            mask[b, : len(piece)] = True
            spk[b] = s
        return codes, spk, mask

    def batch(self, seed: int) -> tuple[torch.Tensor, ...]:
        return self._crops(self.train, self.cfg["train"]["batch_size"], seed)

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        codes, spk, mask = batch
        nll = model(codes, spk, mask)
        return nll, {"bits_per_code": nll.item() / LN2}

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Held-out NLL over every validation sequence, in bits per code and bits per second."""
        if not self.valid:
            return {}
        tot, n = 0.0, 0
        for c, s in self.valid:
            x = torch.from_numpy(c)[None].to(device)
            tot += model(x, torch.tensor([s], device=device)).item() * len(c)
            n += len(c)
        bits = tot / n / LN2
        return {"valid_bits_per_code": bits, "valid_bits_per_s": bits * self.frame_rate}

    def final_report(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        model.eval()
        out = self.validate(model, device)
        model.train()
        out["uniform_bits_per_s"] = math.log2(self.num_codes) * self.frame_rate
        return out


def _encode_corpus(data: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from vqspeech.data.audio import load_audio
    from vqspeech.data.corpora import discover
    from vqspeech.errors import AudioError
    from vqspeech.tasks.encode import encode_audio

    model, meta = load_model(data["vqvae"], expect="speech-vqvae")
    utts = discover(data["root"], data["layout"], data["mic"])
    if data["max_utterances"] > 0:
        utts = utts[: data["max_utterances"]]
    rows = []
    for u in utts:
        try:
            audio = load_audio(u.path, meta["sample_rate"])
        except AudioError:
            continue
        if len(audio) >= model.hop:
            rows.append({"id": u.id, "speaker": u.speaker, "codes": encode_audio(model, [audio])[0]})
    return rows, meta


def sample(
    out: str | Path, *, checkpoint: str | Path | None = None, vqvae: str | Path | None = None,
    speaker: str | None = None, seconds: float = 2.0, n: int = 1, temperature: float = 1.0, seed: int = 0,
    progress=None, quiet: bool = False,
) -> list[Path]:
    """Draw ``n`` code sequences of ``seconds`` from the prior and decode them with its VQ-VAE."""
    from vqspeech.data.audio import save_wav
    from vqspeech.tasks.generate import check_output, speaker_index, synthesize

    out = Path(out)
    single = out.suffix.lower() == ".wav"
    if single and n != 1:
        raise InputError(f"{out}: -n {n} makes several files; give a directory as -o")
    if n < 1 or seconds <= 0:
        raise InputError("-n must be >= 1 and --seconds > 0")
    check_output(out, single)
    prior_path = find_checkpoint(checkpoint, ("speech-prior",))
    prior, pmeta = load_model(prior_path, expect="speech-prior")
    vq_path = Path(vqvae) if vqvae else Path(pmeta["vqvae_path"])
    if not vq_path.exists():
        raise CheckpointError(f"{prior_path}: its VQ-VAE {vq_path} is missing; pass it with --vqvae")
    if sha256_file(vq_path) != pmeta["vqvae_sha256"]:
        raise CheckpointError(
            f"{vq_path} is not the VQ-VAE this prior was trained on (sha256 differs from the one recorded in "
            f"{prior_path}); pass the right one with --vqvae"
        )
    vq, vmeta = load_model(vq_path, expect="speech-vqvae")
    read_meta(vq_path)
    spk = speaker_index(vmeta, speaker)
    steps = max(1, round(seconds * pmeta["sample_rate"] / pmeta["hop_length"]))
    gen = torch.Generator().manual_seed(seed)
    codes = prior.generate(n, steps, torch.full((n,), spk, dtype=torch.long), temperature=temperature,
                           generator=gen)
    audio = synthesize(vq, [c.numpy() for c in codes], [spk] * n, temperature=temperature, seed=seed,
                       progress=progress)
    if not single:
        out.mkdir(exist_ok=True)
    paths = [out] if single else [out / f"sample-{i:03d}.wav" for i in range(n)]
    for p, a in zip(paths, audio, strict=True):
        save_wav(p, a, vmeta["sample_rate"])
    if not quiet:
        print(f"wrote {len(paths)} sample(s) of {seconds:g} s -> {out}")
    return paths
