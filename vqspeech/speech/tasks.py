"""Training tasks of the speech family (the :class:`vqspeech.train.task.Task` protocol):
``speech-vqvae`` (corpus, split, in-memory audio, crops, loss, validation) and ``speech-prior`` (code
sequences from a token dataset or encoded on the fly)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vqspeech.device import pick_device
from vqspeech.errors import ConfigError, InputError
from vqspeech.io.atomic import sha256_file
from vqspeech.io.shipped import model_ref, resolve_ref
from vqspeech.io.tokens import read_token_meta, read_tokens
from vqspeech.speech.config import SPEECH_PRIOR, SPEECH_VQVAE, SpeechMeta, SpeechPriorConfig, SpeechVQVAEConfig
from vqspeech.speech.data.corpora import discover, split_utterances, write_split
from vqspeech.speech.data.dataset import AudioCorpus
from vqspeech.speech.models import CodePrior, SpeechVQVAE

LN2 = math.log(2.0)


class SpeechVQVAETask:
    """Trains :class:`SpeechVQVAE` on random crops of a corpus held in memory."""

    kind = SPEECH_VQVAE

    def __init__(self, cfg: SpeechVQVAEConfig, run_dir: Path, device: str | torch.device = "auto") -> None:
        """``device``: where the task encodes its corpus with a trained model (``--device``; a prior task's
        codes), by :func:`vqspeech.device.pick_device`."""
        self.device = pick_device(device)
        data = cfg.data
        if not data.root:
            raise ConfigError("data.root: set the corpus folder or manifest (e.g. --set data.root=demo_corpus)")
        self.hop = cfg.model.hop
        if data.crop_samples % self.hop:
            raise ConfigError(f"data.crop_samples ({data.crop_samples}) must be a multiple of the hop {self.hop}")
        utts = discover(data.root, data.layout, data.mic)
        if data.max_utterances > 0:
            utts = utts[: data.max_utterances]
        split = split_utterances(utts, data.valid_fraction, cfg.train.seed, data.unseen_speakers)
        write_split(run_dir / "split.json", split)
        unseen = set(split["test_unseen"])
        self.speakers = sorted({u.speaker for u in utts if u.id not in unseen})
        by_id = {u.id: u for u in utts}
        cache = str(Path(run_dir).resolve().parent / ".audio-cache") if data.cache_dir == "auto" else data.cache_dir
        kw = dict(trim=data.trim_silence, top_db=data.top_db, cache_dir=cache or None)
        self.train = AudioCorpus([by_id[i] for i in split["train"]], data.sample_rate, self.speakers, **kw)
        self.valid = (AudioCorpus([by_id[i] for i in split["valid"]], data.sample_rate, self.speakers, **kw)
                      if split["valid"] else None)
        self.cfg = cfg

    def describe(self) -> str:
        return (f"{len(self.train)} training utterances ({self.train.seconds / 60:.1f} min), "
                f"{len(self.speakers)} speakers")

    def meta(self) -> dict[str, Any]:
        return SpeechMeta(self.speakers, self.cfg.data.sample_rate, self.hop, self.cfg.quantizer.num_codes).to_dict()

    def build_model(self) -> nn.Module:
        return SpeechVQVAE(self.cfg.model, self.cfg.quantizer, len(self.speakers), self.cfg.data.sample_rate)

    def batch(self, seed: int) -> tuple[torch.Tensor, ...]:
        return self.train.crops(self.cfg.train.batch_size, self.cfg.data.crop_samples, seed)

    def samples_per_batch(self) -> int:
        return self.cfg.train.batch_size * self.cfg.data.crop_samples

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        out = model(*batch)
        inner = getattr(model, "module", model)  # DDP wraps the model
        return out.loss, {"nll_bits": out.nll.item() / LN2, "vq_loss": out.vq_loss.item(),
                          "perplexity": out.perplexity.item(), "codes_used": int(out.codes_used),
                          **getattr(inner, "adversary_stats", {})}

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Teacher-forced NLL on seeded validation crops, in bits per sample."""
        if self.valid is None:
            return {}
        n = self.cfg.train.valid_batches
        nll = 0.0
        for k in range(n):
            audio, spk = self.valid.crops(self.cfg.train.batch_size, self.cfg.data.crop_samples, 10_000_019 + k)
            nll += model(audio.to(device), spk.to(device)).nll.item()
        return {"valid_nll_bits": nll / n / LN2}

    def final_report(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        return {}


def check_prior_crop(cfg: SpeechPriorConfig) -> None:
    """Every dilated layer must see real codes in both taps during training: a layer of dilation ``d`` trains
    its first tap only when a crop is longer than ``d`` codes (else that weight never gets a gradient and is
    then used untrained on whole utterances and long samples)."""
    m = cfg.model
    dmax = max(2 ** (i % m.cycle) for i in range(m.layers))
    if cfg.data.crop_codes <= dmax:
        raise ConfigError(f"data.crop_codes ({cfg.data.crop_codes}) must exceed the largest dilation {dmax} "
                          f"(model.cycle={m.cycle}); raise data.crop_codes or lower model.cycle")


class SpeechPriorTask:
    """Trains :class:`CodePrior` on code sequences from a token dataset (``data.tokens``), or from audio
    (``data.root``) encoded on the fly with the VQ-VAE checkpoint ``data.vqvae``."""

    kind = SPEECH_PRIOR

    def __init__(self, cfg: SpeechPriorConfig, run_dir: Path, device: str | torch.device = "auto") -> None:
        """``device``: where the task encodes its corpus with a trained model (``--device``; a prior task's
        codes), by :func:`vqspeech.device.pick_device`."""
        self.device = pick_device(device)
        check_prior_crop(cfg)
        data = cfg.data
        if data.tokens:
            tmeta = read_token_meta(data.tokens)
            if tmeta.get("kind", SPEECH_VQVAE) != SPEECH_VQVAE:
                raise ConfigError(f"data.tokens {data.tokens} holds {tmeta['kind']} codes, not speech tokens")
            rows = read_tokens(data.tokens)
            vq_path, vq_sha = resolve_ref(tmeta["model_path"]), tmeta["model_sha256"]
            if data.vqvae:
                vq_path, vq_sha = data.vqvae, sha256_file(data.vqvae)
                if vq_sha != tmeta["model_sha256"]:
                    raise ConfigError(f"data.vqvae {data.vqvae} is not the model that made {data.tokens}")
            speakers = tmeta.get("speakers") or sorted({r["speaker"] for r in rows})
            vmeta = SpeechMeta(speakers, tmeta["sample_rate"], tmeta["hop_length"], tmeta["num_codes"])
        elif data.root and data.vqvae:
            from vqspeech.speech.inference import encode_corpus

            rows, vmeta = encode_corpus(data.vqvae, data.root, data.layout, data.mic, data.max_utterances,
                                        device=self.device)
            vq_path, vq_sha = data.vqvae, sha256_file(data.vqvae)
        else:
            raise ConfigError("set data.tokens (a token dataset) or data.root together with data.vqvae")
        if not rows:
            raise InputError("the prior's training data holds no utterances")
        self.cfg, self.crop = cfg, data.crop_codes
        self.vmeta = SpeechMeta(list(vmeta.speakers), vmeta.sample_rate, vmeta.hop_length, vmeta.num_codes,
                                model_ref(vq_path), vq_sha)
        seqs = list(zip([np.asarray(r["codes"], np.int64) for r in rows], self._speaker_ids(rows), strict=True))
        order = list(range(len(seqs)))
        random.Random(cfg.train.seed).shuffle(order)
        n_valid = 0
        if len(seqs) > 1 and data.valid_fraction > 0:
            n_valid = max(1, round(len(seqs) * data.valid_fraction))
        self.valid = [seqs[i] for i in order[:n_valid]]
        self.train = [seqs[i] for i in order[n_valid:]]

    def _speaker_ids(self, rows: list[dict[str, Any]]) -> list[int]:
        """Each row's row in the prior's speaker table (the VQ-VAE's speakers); what cannot be mapped is refused
        rather than silently becoming speaker 0."""
        if self.cfg.model.speaker_dim == 0:
            return [0] * len(rows)
        index = {s: i for i, s in enumerate(self.vmeta.speakers)}
        missing = [r["id"] for r in rows if not r.get("speaker")]
        if missing:
            raise ConfigError(f"{len(missing)} token row(s) carry no speaker (e.g. {missing[0]!r}; units files have "
                              "none): use parquet/npz tokens or set model.speaker_dim=0 for an unconditional prior")
        unknown = sorted({r["speaker"] for r in rows} - set(index))
        if unknown:
            raise ConfigError(f"speaker(s) {', '.join(unknown)} are not among the VQ-VAE's speakers "
                              f"({', '.join(self.vmeta.speakers)})")
        return [index[r["speaker"]] for r in rows]

    def describe(self) -> str:
        n = sum(len(c) for c, _ in self.train)
        return f"{len(self.train)} training sequences ({n} codes, {n / self.vmeta.frame_rate / 60:.1f} min)"

    def meta(self) -> dict[str, Any]:
        return self.vmeta.to_dict()

    def build_model(self) -> nn.Module:
        return CodePrior(self.cfg.model, self.vmeta.num_codes, len(self.vmeta.speakers))

    def samples_per_batch(self) -> int:
        return self.cfg.train.batch_size * self.crop

    def _crops(self, seqs: list, batch: int, seed: int) -> tuple[torch.Tensor, ...]:
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
        return self._crops(self.train, self.cfg.train.batch_size, seed)

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        codes, spk, mask = batch
        nll = model(codes, spk, mask)
        return nll, {"bits_per_code": nll.item() / LN2}

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Held-out NLL over every whole validation sequence (as the model is used), bits per code and per s."""
        if not self.valid:
            return {}
        tot, n = 0.0, 0
        for c, s in self.valid:
            x = torch.from_numpy(c)[None].to(device)
            tot += model(x, torch.tensor([s], device=device)).item() * len(c)
            n += len(c)
        bits = tot / n / LN2
        return {"valid_bits_per_code": bits, "valid_bits_per_s": bits * self.vmeta.frame_rate}

    def final_report(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        out = self.validate(model, device)
        out["uniform_bits_per_s"] = math.log2(self.vmeta.num_codes) * self.vmeta.frame_rate
        return out
