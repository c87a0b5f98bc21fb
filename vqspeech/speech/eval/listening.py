"""``vqspeech evaluate`` for speech: judges no one here trained listen to what the model makes.

On held-out utterances of the model's speakers (the run's ``split.json`` validation ids when the checkpoint sits
in a run dir, else every utterance), seeded:

* reconstructions (encode, decode as the same speaker): ASR word error next to the originals', log-mel
  distance, STOI and wide-band PESQ against the original;
* conversions (decode as another of the model's speakers, chosen by the seed): speaker similarity to the target
  vs the source and identification among the model's speakers (a pretrained speaker encoder enrolled on real
  training utterances), ASR word error, and code agreement of the conversion re-encoded vs its source codes;
* the codes' real bitrate (entropy x frame rate) next to log2 K x frame rate.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech import progress
from vqspeech.errors import InputError
from vqspeech.io.paths import shown_path
from vqspeech.speech.config import SpeechMeta
from vqspeech.speech.data.audio import load_audio
from vqspeech.speech.data.corpora import Utterance, discover
from vqspeech.speech.eval import judges
from vqspeech.speech.inference import encode_audio, synthesize
from vqspeech.speech.models import SpeechVQVAE


def held_out(utts: list[Utterance], checkpoint: Path) -> tuple[list[Utterance], list[Utterance], str]:
    """``(held-out utterances, training utterances, where the split came from)``."""
    beside = [checkpoint.resolve().parents[1] / "split.json", checkpoint.resolve().parent / "split.json"]
    split_path = next((p for p in beside if p.exists()), beside[0])
    if split_path.exists():
        split = json.loads(split_path.read_text())
        test = set(split.get("valid", [])) | set(split.get("test_unseen", []))
        train = set(split.get("train", []))
        picked = [u for u in utts if u.id in test]
        if picked:
            return picked, [u for u in utts if u.id in train], shown_path(split_path)
    return utts, utts, "all utterances (no split.json beside the checkpoint's run)"


def _bits(codes: list[np.ndarray], num_codes: int) -> float:
    counts = np.bincount(np.concatenate(codes), minlength=num_codes).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def evaluate_speech(
    model: SpeechVQVAE, meta: SpeechMeta, corpus: str | Path, checkpoint: Path, *, max_utterances: int = 8,
    enrol_per_speaker: int = 3, seed: int = 0, temperature: float = 1.0, device: Any = "cpu",
    asr: bool = True, quality: bool = True, unseen: str | Path | None = None, target: str | None = None,
) -> dict[str, Any]:
    """The listening report (a JSON-able dict) for ``model`` on ``corpus``; ``unseen``: a corpus of speakers the
    model never heard, each utterance converted to every model voice (section ``unseen``); ``target``: the voice
    every conversion goes to (held-out utterances of that voice are not sources), else a random other voice."""
    utts = discover(corpus)
    test, train, source = held_out(utts, checkpoint)
    rng = random.Random(seed)
    sr = meta.sample_rate
    # enrol first: conversion targets are speakers the judge knows (real training utterances of the model's voices)
    by_spk: dict[str, list[np.ndarray]] = {}
    for u in train:
        if u.speaker in meta.speakers and len(by_spk.get(u.speaker, [])) < enrol_per_speaker:
            by_spk.setdefault(u.speaker, []).append(load_audio(u.path, sr))
    enrolled = [s for s in meta.speakers if s in by_spk]
    if len(enrolled) < 2:
        raise InputError(f"{corpus}: needs real utterances of at least two of the model's speakers "
                         f"({', '.join(meta.speakers)}) to enrol the speaker judge")
    if target is not None and target not in by_spk:
        raise InputError(f"{corpus}: no training utterance of {target!r} to enrol the speaker judge")
    known = [u for u in test if u.speaker in by_spk and u.speaker != target]
    if not known:
        also = f" other than the target {target!r}" if target else ""
        raise InputError(f"{corpus}: no held-out utterance of a speaker this model knows{also} "
                         f"({', '.join(meta.speakers)})")
    rng.shuffle(known)
    test = sorted(known[:max_utterances], key=lambda u: u.id)
    originals = [load_audio(u.path, sr) for u in test]
    src_idx = [meta.speakers.index(u.speaker) for u in test]
    tgt_idx = [meta.speakers.index(target or rng.choice([s for s in enrolled if s != meta.speakers[i]]))
               for i in src_idx]
    progress.say(f"evaluate: {len(test)} held-out utterances ({source}); decoding reconstructions and conversions")
    codes = encode_audio(model, originals, device=device)
    recon = synthesize(model, codes, src_idx, temperature=temperature, seed=seed, device=device)
    conv = synthesize(model, codes, tgt_idx, temperature=temperature, seed=seed + 1, device=device)
    recon = [r[: len(o)] for r, o in zip(recon, originals, strict=True)]
    conv = [c[: len(o)] for c, o in zip(conv, originals, strict=True)]
    reencoded = encode_audio(model, conv, device=device)
    report: dict[str, Any] = {
        "utterances": [u.id for u in test], "split": source, "seed": seed, "temperature": temperature,
        "target": target, "targets": [meta.speakers[i] for i in tgt_idx],
        "code_agreement_conversion": float(np.mean([judges.code_agreement(a, b)
                                                    for a, b in zip(reencoded, codes, strict=True)])),
        "code_agreement_reconstruction": float(np.mean([judges.code_agreement(a, b) for a, b in zip(
            encode_audio(model, recon, device=device), codes, strict=True)])),
        "log_mel_distance_db": float(np.mean([judges.log_mel_distance(o, r, sr)
                                              for o, r in zip(originals, recon, strict=True)])),
        "bits_per_s": _bits(codes, meta.num_codes) * meta.frame_rate,
        "uniform_bits_per_s": math.log2(meta.num_codes) * meta.frame_rate,
    }
    if quality:
        report["stoi"] = float(np.mean([judges.stoi(o, r, sr) for o, r in zip(originals, recon, strict=True)]))
        report["pesq_wb"] = float(np.mean([judges.pesq_wb(o, r, sr) for o, r in zip(originals, recon, strict=True)]))
    judge = judges.SpeakerJudge()
    emb = np.stack([judge.embed(c, sr) for c in conv])
    cents = judges.speaker_centroids({s: np.stack([judge.embed(a, sr) for a in v]) for s, v in by_spk.items()})
    report["conversion_speaker"] = judges.conversion_speaker_scores(
        emb, [meta.speakers[i] for i in src_idx], [meta.speakers[i] for i in tgt_idx], cents)
    orig_emb = np.stack([judge.embed(o, sr) for o in originals])
    report["original_identification"] = judges.identification_accuracy(orig_emb, [u.speaker for u in test], cents)
    report["reconstruction_identification"] = judges.identification_accuracy(
        np.stack([judge.embed(r, sr) for r in recon]), [u.speaker for u in test], cents)
    if asr:
        report.update(word_errors([u.text for u in test], sr, original=originals, reconstruction=recon,
                                  conversion=conv))
    if unseen is not None:
        report["unseen"] = unseen_conversions(model, meta, unseen, judge, cents, max_utterances=max_utterances,
                                              seed=seed, temperature=temperature, device=device, asr=asr)
    return report


def unseen_conversions(
    model: SpeechVQVAE, meta: SpeechMeta, corpus: str | Path, judge: judges.SpeakerJudge,
    centroids: dict[str, np.ndarray], *, max_utterances: int = 8, seed: int = 0, temperature: float = 1.0,
    device: Any = "cpu", asr: bool = True,
) -> dict[str, Any]:
    """Utterances of speakers the model never heard, each converted to every voice of the model: identified as the
    target among the model's voices, closer to the target's centroid than to the source speaker's (enrolled from
    these same originals), and word error of originals vs conversions over the utterances that have a transcript."""
    sr = meta.sample_rate
    utts = [u for u in discover(corpus) if u.speaker not in meta.speakers]
    if not utts:
        raise InputError(f"--unseen {corpus}: no utterance of a speaker the model does not know")
    rng = random.Random(seed)
    rng.shuffle(utts)
    utts = sorted(utts[:max_utterances], key=lambda u: u.id)
    originals = [load_audio(u.path, sr) for u in utts]
    voices = [s for s in meta.speakers if s in centroids]
    codes = encode_audio(model, originals, device=device)
    pairs = [(i, v) for i in range(len(utts)) for v in voices]
    conv = synthesize(model, [codes[i] for i, _ in pairs], [meta.speakers.index(v) for _, v in pairs],
                      temperature=temperature, seed=seed + 2, device=device)
    conv = [c[: len(originals[i])] for c, (i, _) in zip(conv, pairs, strict=True)]
    src_emb = {u.speaker: [] for u in utts}
    for u, o in zip(utts, originals, strict=True):
        src_emb[u.speaker].append(judge.embed(o, sr))
    cents = {**judges.speaker_centroids(src_emb), **{v: centroids[v] for v in voices}}
    emb = np.stack([judge.embed(c, sr) for c in conv])
    scores = judges.conversion_speaker_scores(emb, [utts[i].speaker for i, _ in pairs], [v for _, v in pairs], cents)
    ident = judges.identification_accuracy(emb, [v for _, v in pairs], {v: centroids[v] for v in voices})
    out: dict[str, Any] = {"corpus": Path(corpus).name, "utterances": [u.id for u in utts], "voices": voices,
                           "conversions": len(pairs), "identified_as_target": ident,
                           "closer_to_target": scores["closer_to_target"],
                           "similarity_target": scores["similarity_target"],
                           "similarity_source": scores["similarity_source"]}
    if asr:
        texts = [u.text for u in utts]
        out.update(word_errors([texts[i] for i, _ in pairs], sr, conversion=conv))
        out.update(word_errors(texts, sr, original=originals))  # its wer_utterances: utterances, not pairs
    return out


def word_errors(texts: list[str | None], sr: int, **audios: list[np.ndarray]) -> dict[str, Any]:
    """``wer_<name>`` of each list of ``audios`` (aligned with ``texts``) against the transcripts, over the
    utterances that have one, and ``wer_utterances``: how many had one; ``{}`` when none has."""
    heard = [i for i, t in enumerate(texts) if t and t.split()]
    if not heard:
        return {}
    asr_judge = judges.AsrJudge()
    out: dict[str, Any] = {"wer_utterances": len(heard)}
    for name, clips in audios.items():
        out[f"wer_{name}"] = judges.corpus_word_error_rate([texts[i] for i in heard],
                                                           [asr_judge.transcribe(clips[i], sr) for i in heard])
    return out


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None or value != value else format(value, spec)


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown table (a value that is not a number, ``null`` in the JSON, shows as "–")."""
    cs = report["conversion_speaker"]
    rows = [
        ("held-out utterances", f"{len(report['utterances'])} ({report['split']})"
                                + (f"; every conversion to {report['target']}" if report.get("target") else "")),
        ("conversion: identified as target / as source", f"{_fmt(cs['identified_as_target'], '.0%')} / "
                                                          f"{_fmt(cs['identified_as_source'], '.0%')}"),
        ("conversion: closer to target than source", f"{_fmt(cs['closer_to_target'], '.0%')}"),
        ("conversion: similarity to target / source",
         f"{_fmt(cs['similarity_target'], '.3f')} / {_fmt(cs['similarity_source'], '.3f')}"),
        ("speaker identification: originals / reconstructions",
         f"{_fmt(report['original_identification'], '.0%')} / "
         f"{_fmt(report['reconstruction_identification'], '.0%')}"),
    ]
    if "wer_original" in report:
        heard = report.get("wer_utterances", len(report["utterances"]))
        rows.append((f"word error ({heard} with transcripts): originals / reconstructions / "
                     "conversions",
                     f"{_fmt(report['wer_original'], '.0%')} / {_fmt(report['wer_reconstruction'], '.0%')} / "
                     f"{_fmt(report['wer_conversion'], '.0%')}"))
    rows.append(("log-mel distance of reconstructions", f"{_fmt(report['log_mel_distance_db'], '.2f')} dB"))
    if "stoi" in report:
        rows.append(("STOI / wide-band PESQ of reconstructions",
                     f"{_fmt(report['stoi'], '.3f')} / {_fmt(report['pesq_wb'], '.2f')}"))
    if "unseen" in report:
        u = report["unseen"]
        rows.append((f"unseen speakers ({len(u['utterances'])} utterances x {len(u['voices'])} voices): "
                     "identified as target / closer to target",
                     f"{_fmt(u['identified_as_target'], '.0%')} / {_fmt(u['closer_to_target'], '.0%')}"))
        if "wer_original" in u:
            rows.append((f"unseen speakers: word error ({u['wer_utterances']} with transcripts) of originals / "
                         "conversions",
                         f"{_fmt(u['wer_original'], '.0%')} / {_fmt(u['wer_conversion'], '.0%')}"))
    rows += [
        ("code agreement: conversion re-encoded vs source", f"{_fmt(report['code_agreement_conversion'], '.1%')}"),
        ("code agreement: reconstruction re-encoded vs source",
         f"{_fmt(report['code_agreement_reconstruction'], '.1%')}"),
        ("bitrate of the codes",
         f"{_fmt(report['bits_per_s'], '.0f')} bits/s "
         f"(uniform bound {_fmt(report['uniform_bits_per_s'], '.0f')})"),
    ]
    return "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows) + "\n"
