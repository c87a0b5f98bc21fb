"""Training task ``speech-vqvae``: corpus discovery, split, in-memory audio, crops, loss and validation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vqspeech.data.corpora import discover, split_utterances, write_split
from vqspeech.data.dataset import AudioCorpus
from vqspeech.errors import ConfigError
from vqspeech.models.speech_vqvae import SpeechVQVAE

LN2 = math.log(2.0)


class SpeechVQVAETask:
    """The adapter the shared training loop drives (see :mod:`vqspeech.tasks.train`)."""

    kind = "speech-vqvae"

    def __init__(self, cfg: dict[str, Any], run_dir: Path, quiet: bool = False) -> None:
        data = cfg["data"]
        if not data["root"]:
            raise ConfigError("data.root: set the corpus folder or manifest (e.g. --set data.root=demo_corpus)")
        utts = discover(data["root"], data["layout"], data["mic"])
        if data["max_utterances"] > 0:
            utts = utts[: data["max_utterances"]]
        split = split_utterances(utts, data["valid_fraction"], cfg["train"]["seed"], data["unseen_speakers"])
        write_split(run_dir / "split.json", split)
        self.speakers = sorted({u.speaker for u in utts if u.id not in set(split["test_unseen"])})
        by_id = {u.id: u for u in utts}
        kw = dict(trim=data["trim_silence"], top_db=data["top_db"], quiet=quiet)
        self.train = AudioCorpus([by_id[i] for i in split["train"]], data["sample_rate"], self.speakers, **kw)
        self.valid = (AudioCorpus([by_id[i] for i in split["valid"]], data["sample_rate"], self.speakers, **kw)
                      if split["valid"] else None)
        self.cfg = cfg
        self.hop = 2 ** cfg["model"]["downsample_layers"]
        crop = data["crop_samples"]
        if crop % self.hop:
            raise ConfigError(f"data.crop_samples ({crop}) must be a multiple of the hop length {self.hop}")
        self.crop = crop

    def describe(self) -> str:
        return (f"{len(self.train)} training utterances ({self.train.seconds / 60:.1f} min), "
                f"{len(self.speakers)} speakers")

    def meta(self) -> dict[str, Any]:
        q = self.cfg["quantizer"]
        return {"speakers": self.speakers, "sample_rate": self.cfg["data"]["sample_rate"],
                "hop_length": self.hop, "num_codes": q["num_codes"]}

    def build_model(self) -> nn.Module:
        return SpeechVQVAE(self.cfg["model"], self.cfg["quantizer"], len(self.speakers))

    def batch(self, seed: int) -> tuple[torch.Tensor, ...]:
        return self.train.crops(self.cfg["train"]["batch_size"], self.crop, seed)

    def samples_per_batch(self) -> int:
        return self.cfg["train"]["batch_size"] * self.crop

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        out = model(*batch)
        return out.loss, {"nll_bits": out.nll.item() / LN2, "vq_loss": out.vq_loss.item(),
                          "perplexity": out.perplexity.item(), "codes_used": int(out.codes_used)}

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        if self.valid is None:
            return {}
        n = self.cfg["train"]["valid_batches"]
        nll = 0.0
        for k in range(n):
            audio, spk = self.valid.crops(self.cfg["train"]["batch_size"], self.crop, 10_000_019 + k)
            nll += model(audio.to(device), spk.to(device)).nll.item()
        return {"valid_nll_bits": nll / n / LN2}
