"""The speech family's page of ``vqspeech report RUN_DIR``, built from what ``scripts/demo.sh`` leaves in a run dir
(see :func:`build`), and the figures the markdown report (``scripts/report.py``) shares with it.

A speech run dir may hold: ``metrics.jsonl``, ``split.json``, ``config.yaml``, ``eval/step-N.json`` (+
``last.md``), ``convert/<id>-to-<speaker>.wav``, ``codec/<id>.vqs`` / ``<id>.unigram.vqs`` / ``<id>.wav``,
``samples/*.wav``, ``tokens/``, ``phoneme_eval.json`` + ``codes_phones.png``, ``timings.tsv``; the prior's run dir
``<RUN>_prior/`` its ``metrics.jsonl``.  Every part is optional: the page shows what is there.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.io.html import Page, Raw, esc, find_recorded, line_plot, para, read_tsv_pairs, table
from vqspeech.speech.eval.targets import HEADER as TARGETS_HEADER
from vqspeech.speech.eval.targets import Row, demo_targets


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``path`` (``[]`` when missing)."""
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.is_file() else []


def num(v: float | None) -> float:
    """A report value as a float (``null`` in the JSON, i.e. not measured, becomes NaN)."""
    return float("nan") if v is None else float(v)


def ratio(a: float | None, b: float | None) -> float:
    """``a / b`` of two report values; NaN when either is not measured or ``b`` is 0 (a ratio to a perfect score
    says nothing)."""
    return num(a) / num(b) if b is not None and num(b) > 0 else float("nan")


# -- figures (shared with scripts/report.py) ---------------------------------------------------------------------


def training_curves(metrics: list[dict[str, Any]], out: Path) -> Path | None:
    """NLL (train and validation) and codes used per step of a speech VQ-VAE's ``metrics.jsonl`` rows."""
    rows = [r for r in metrics if "nll_bits" in r]
    val = [r for r in metrics if "valid_nll_bits" in r]
    steps = [r["step"] for r in rows]
    return line_plot([("train", steps, [r["nll_bits"] for r in rows], 0),
                      ("validation", [r["step"] for r in val], [r["valid_nll_bits"] for r in val], 0),
                      ("codes used per batch", steps, [r.get("codes_used", math.nan) for r in rows], 1),
                      ("perplexity", steps, [r.get("perplexity", math.nan) for r in rows], 1)],
                     out, ("reconstruction NLL (bits / sample)", "codes"))


def codebook_usage(codes: list[list[int]], num_codes: int, out: Path) -> dict[str, int]:
    """Sorted code frequencies over a token dataset's ``codes`` (one list per utterance) as a bar chart."""
    plt = _plt()
    counts = Counter(c for cs in codes for c in cs)
    freq = np.array(sorted(counts.values(), reverse=True), float)
    freq /= max(freq.sum(), 1.0)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(range(len(freq)), freq, width=1.0)
    ax.set_yscale("log")
    ax.set_xlabel(f"code rank ({len(freq)} of {num_codes} used)")
    ax.set_ylabel("frequency")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return {"codes_used": len(freq), "num_codes": num_codes}


def log_mel(y: np.ndarray, sr: int) -> np.ndarray:
    """Log-mel spectrogram ``[80, frames]`` in dB of float audio ``[T]`` (10 ms hop at 16 kHz)."""
    import librosa

    hop = max(1, sr // 100)
    n_fft = 1 << max(8, int(math.ceil(math.log2(4 * hop))))
    m = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=80, fmax=sr / 2)
    return librosa.power_to_db(m, ref=np.max(m) if m.size and np.max(m) > 0 else 1.0)


def spectrograms(wavs: list[tuple[str, Path]], out: Path) -> None:
    """Log-mel spectrograms of the given ``(title, wav)`` pairs, one row each, as one figure."""
    import soundfile as sf

    plt = _plt()
    fig, axes = plt.subplots(len(wavs), 1, figsize=(9, 2.2 * len(wavs)), squeeze=False)
    for ax, (title, path) in zip(axes[:, 0], wavs, strict=True):
        y, sr = sf.read(str(path), dtype="float32", always_2d=True)
        m = log_mel(y.mean(1), sr)
        ax.imshow(m, origin="lower", aspect="auto", cmap="magma", vmin=m.max() - 80, extent=(0, len(y) / sr, 0, 80))
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("mel bin")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def spectrogram_png(wav: Path, out: Path, height: int = 80) -> Path:
    """A small log-mel image of ``wav`` (low frequencies at the bottom, magma colours, 80 dB range), no axes."""
    import matplotlib
    import soundfile as sf
    from PIL import Image

    y, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    m = log_mel(y.mean(1), sr) if len(y) else np.full((80, 1), -80.0)
    rgb = matplotlib.colormaps["magma"](np.clip((m[::-1] + 80) / 80, 0, 1))[..., :3]
    img = Image.fromarray((rgb * 255).astype(np.uint8))
    img.resize((max(1, min(img.width, 600)), height), Image.Resampling.BILINEAR).save(out)
    return out


def evals_of(run: Path) -> list[tuple[int, dict[str, Any]]]:
    """``(step, evaluate JSON)`` of ``run/eval/step-N.json``, by step."""
    d = run / "eval"
    found = [(int(p.stem.split("-")[1]), json.loads(p.read_text())) for p in d.glob("step-*.json")
             if p.stem.split("-")[1].isdigit()] if d.is_dir() else []
    return sorted(found, key=lambda x: x[0])


def minutes_per_step(run: Path, metrics: list[dict[str, Any]]) -> float:
    """Training minutes per step: the demo's recorded training time over the last step (of ``metrics``, else of
    the evaluated checkpoints), else the logged throughput; 0 when neither is known."""
    timing = dict(read_tsv_pairs(run / "timings.tsv"))
    last_step = max([r["step"] for r in metrics if "step" in r] or [s for s, _ in evals_of(run)], default=0)
    if "train" in timing and last_step > 0:
        return float(timing["train"]) / 60 / last_step
    rate = [r["samples_per_s"] for r in metrics if "samples_per_s" in r]
    return 1 / (60 * sum(rate) / len(rate)) if rate and sum(rate) > 0 else 0.0


JUDGES = [("conversion identified as target", lambda e: num(e["conversion_speaker"]["identified_as_target"])),
          ("conversion closer to target", lambda e: num(e["conversion_speaker"]["closer_to_target"])),
          ("reconstruction identified as its speaker", lambda e: num(e.get("reconstruction_identification"))),
          ("reconstruction word error / originals'",
           lambda e: ratio(e.get("wer_reconstruction"), e.get("wer_original"))),
          ("code agreement of conversions", lambda e: num(e["code_agreement_conversion"])),
          ("reconstruction STOI", lambda e: num(e.get("stoi"))),
          ("unseen speakers: conversion identified as target",
           lambda e: num(e.get("unseen", {}).get("identified_as_target"))),
          ("unseen speakers: conversion word error / originals'",
           lambda e: ratio(e.get("unseen", {}).get("wer_conversion"), e.get("unseen", {}).get("wer_original")))]


def eval_minutes(step: int, e: dict[str, Any], minutes: float) -> float:
    """Training minutes of an evaluated checkpoint: recorded in it (``train_minutes``, all invocations of a resumed
    run), else ``step`` x ``minutes`` per step; NaN when neither is known."""
    if "train_minutes" in e:
        return float(e["train_minutes"])
    return step * minutes if minutes > 0 else float("nan")


def judges_figure(evals: list[tuple[int, dict[str, Any]]], minutes: float, out: Path) -> Path:
    """How each listening judge moved with training minutes (``minutes`` per step)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4))
    x = [eval_minutes(s, e, minutes) for s, e in evals]
    timed = all(m == m for m in x)  # a step axis unless every point has its minutes
    x = x if timed else [s for s, _ in evals]
    for name, f in JUDGES:
        ax.plot(x, [f(e) for _, e in evals], "o-", label=name)
    ax.axhline(0.8, color="gray", lw=0.5, ls=":")
    ax.set_xlabel("training minutes" if timed else "step")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def judges_rows(evals: list[tuple[int, dict[str, Any]]], minutes: float) -> list[list[str]]:
    """One row per evaluated checkpoint: step, minutes and the judges (percentages)."""
    rows = []
    for s, e in evals:
        cs = e["conversion_speaker"]
        m = eval_minutes(s, e, minutes)
        rows.append([str(s), f"{m:.1f}" if m == m else "–", f"{num(cs['identified_as_target']):.0%}",
                     f"{num(cs['closer_to_target']):.0%}", f"{num(e.get('reconstruction_identification')):.0%}",
                     f"{num(e.get('wer_reconstruction')):.0%} / {num(e.get('wer_original')):.0%}",
                     f"{num(e['code_agreement_conversion']):.0%}", f"{num(e.get('stoi')):.2f}"])
    return rows


JUDGES_HEADER = ["step", "minutes", "conversion identified as target", "closer to target",
                 "reconstruction identified", "WER recon / orig", "code agreement", "STOI"]


# -- the page ----------------------------------------------------------------------------------------------------


class _Sounds:
    """Players with spectrograms, each spectrogram drawn once per file."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.done: dict[Path, Path] = {}

    def __call__(self, wav: Path | None, caption: str) -> Raw:
        if wav is None or not wav.is_file():
            return esc("(not written)")
        key = wav.resolve()
        if key not in self.done:
            tag = hashlib.sha1(str(key).encode()).hexdigest()[:8]  # two files of the same name never collide
            name = "spec/" + "_".join(key.parts[-2:]).replace(".", "_") + f"-{tag}.png"
            self.done[key] = spectrogram_png(wav, self.page.asset(name))
        return self.page.audio(wav, caption, self.done[key])


def _corpus_paths(run: Path) -> dict[str, Path]:
    """Utterance id -> audio path of the run's corpus (``config.yaml``'s ``data.root``; a relative root is tried
    from here and from the run dir's grandparent, where the demo ran)."""
    import yaml

    from vqspeech.errors import InputError
    from vqspeech.speech.data.corpora import discover

    cfg = run / "config.yaml"
    if not cfg.is_file():
        return {}
    data = (yaml.safe_load(cfg.read_text()) or {}).get("data") or {}
    root = data.get("root")
    if not root:
        return {}
    r = find_recorded(root, run)
    if r is None:
        return {}
    try:
        return {u.id: Path(u.path) for u in discover(r, data.get("layout", "auto"))}
    except InputError:
        return {}


def _split(run: Path) -> dict[str, set[str]]:
    p = run / "split.json"
    if not p.is_file():
        return {}
    return {k: set(v) for k, v in json.loads(p.read_text()).items() if isinstance(v, list)}


def _speaker_of(uid: str, speakers: list[str]) -> str | None:
    return next((s for s in sorted(speakers, key=len, reverse=True) if uid.startswith(s + "_") or uid == s), None)


def targets_of(run: Path) -> tuple[int | None, list[Row]]:
    """The step of the last evaluated checkpoint (``None`` when none was) and the demo's target rows
    (:func:`vqspeech.speech.eval.targets.demo_targets`) from it and ``phoneme_eval.json``; no rows when the run holds
    neither."""
    evals = evals_of(run)
    pe = run / "phoneme_eval.json"
    phonemes = json.loads(pe.read_text()) if pe.is_file() else None
    if not evals and phonemes is None:
        return None, []
    step, last = evals[-1] if evals else (None, None)
    return step, demo_targets(last, phonemes)


def targets_note(step: int | None) -> str:
    """What the targets table is judged on (the last evaluated checkpoint's ``step``, ``None`` when none was)."""
    at = f"the checkpoint of step {step}" if step is not None else "no checkpoint (evaluate was not run)"
    return ("Judged on held-out utterances: the listening judges of vqspeech evaluate on " + at + ", and the codes "
            "of phoneme-eval --baseline against MFCC k-means at the same K and code rate. What the run does not "
            "hold is shown as not measured.")


def _targets(run: Path, page: Page) -> None:
    step, rows = targets_of(run)
    if rows:
        page.add("Targets", para(targets_note(step)), table(TARGETS_HEADER, rows))


def _judges(run: Path, page: Page, metrics: list[dict[str, Any]]) -> None:
    from vqspeech.speech.eval.listening import markdown

    evals = evals_of(run)
    if not evals:
        return
    minutes = minutes_per_step(run, metrics)
    step, last = evals[-1]
    parts = [para(f"vqspeech evaluate at step {step} ({last.get('checkpoint', '')}), held-out utterances:"),
             page.markdown(markdown(last), run)]
    if len(evals) > 1:
        fig = judges_figure(evals, minutes, page.asset("judges_curve.png"))
        parts += [page.figure(fig, "the judges over training minutes"),
                  table(JUDGES_HEADER, judges_rows(evals, minutes))]
    page.add("What the judges hear", *parts)


def _listen(run: Path, page: Page, sound: _Sounds, speakers: list[str]) -> None:
    conv = sorted((run / "convert").glob("*-to-*.wav")) if (run / "convert").is_dir() else []
    if not conv:
        return
    by_src: dict[str, dict[str, Path]] = {}
    for p in conv:
        src, spk = p.stem.rsplit("-to-", 1)
        by_src.setdefault(src, {})[spk] = p
    targets = sorted({s for d in by_src.values() for s in d}, key=lambda s: (speakers.index(s) if s in speakers
                                                                            else len(speakers), s))
    owns = {src: _speaker_of(src, targets) or _speaker_of(src, speakers) for src in by_src}
    targets = [t for t in targets if any(t in d and t != owns[src] for src, d in by_src.items())]
    corpus, split = _corpus_paths(run), _split(run)
    held = split.get("valid", set()) | split.get("test_unseen", set())
    rows = []
    for src in sorted(by_src, key=lambda u: (u not in held, u)):
        own = owns[src]
        where = "held out" if src in held else ("training" if src in split.get("train", set()) else "")
        label = Raw(f"<strong>{esc(src)}</strong><br>{esc(where)}")
        cells: list[object] = [label, sound(corpus.get(src), f"original ({own or '?'})"),
                               sound(by_src[src].get(own), f"reconstruction ({own})") if own in by_src[src]
                               else esc("–")]
        cells += [sound(by_src[src][t], f"to {t}") if t in by_src[src] and t != own else esc("–") for t in targets]
        rows.append(cells)
    header = ["utterance", "original", "reconstruction", *[f"to {t}" for t in targets]]
    page.add("Listen: originals, reconstructions and conversions",
             para("Each row: one utterance of the corpus, its reconstruction (decoded as its own speaker) and its "
                  "conversion to every speaker of the model, each with its log-mel spectrogram. Held-out utterances "
                  "(the run's split.json) come first."),
             Raw('<div class="scroll">' + table(header, rows, "listen") + "</div>"))


def _codec(run: Path, page: Page, sound: _Sounds, corpus: dict[str, Path], prior: dict[str, Any] | None) -> None:
    from vqspeech.speech.codec import read_header

    d = run / "codec"
    files = sorted(p for p in d.glob("*.vqs") if not p.name.endswith(".unigram.vqs")) if d.is_dir() else []
    if not files:
        return
    rows, tot = [], {"file": 0, "payload": 0, "unigram": 0, "seconds": 0.0, "uni_seconds": 0.0}
    header: dict[str, Any] = {}
    for p in files:
        header, payload = read_header(p)
        secs = int(header["num_samples"]) / int(header["sample_rate"])
        uni = p.with_name(p.stem + ".unigram.vqs")
        size = p.stat().st_size
        tot["file"] += size * 8
        tot["payload"] += len(payload) * 8
        tot["seconds"] += secs
        if uni.is_file():
            tot["unigram"] += uni.stat().st_size * 8
            tot["uni_seconds"] += secs
        decoded = p.with_suffix(".wav")
        rows.append([p.stem, f"{secs:.2f}", str(header["codes"]), str(size),
                     f"{size * 8 / secs:.0f}" if secs else "–",
                     f"{len(payload) * 8 / secs:.0f}" if secs else "–",
                     f"{uni.stat().st_size * 8 / secs:.0f}" if uni.is_file() and secs else "–",
                     sound(corpus.get(p.stem), "original") if p.stem in corpus else esc("–"),
                     sound(decoded, f"decoded from {p.name}") if decoded.is_file() else esc("–")])
    rate = int(header["sample_rate"]) / int(header["hop_length"])
    bound = math.log2(int(header["num_codes"])) * rate
    s = tot["seconds"]
    line = (f"{len(files)} utterances, {s:.1f} s: {tot['file'] / s:.0f} bits/s whole files "
            f"(range-coded payload {tot['payload'] / s:.0f} bits/s) with the {header.get('entropy_model')} model"
            + (f", {tot['unigram'] / tot['uni_seconds']:.0f} bits/s with a unigram table" if tot["uni_seconds"]
               else "")
            + f"; log2 K x code rate = {bound:.0f} bits/s"
            + (f"; the prior's held-out cross-entropy {prior['valid_bits_per_s']:.0f} bits/s" if prior
               and prior.get("valid_bits_per_s") is not None else "") + ".")
    page.add("Codec (.vqs files)", para(line),
             Raw('<div class="scroll">' + table(["file", "seconds", "codes", "bytes", "bits/s", "payload bits/s",
                                                 "unigram bits/s", "original", "decoded"], rows) + "</div>"))


def _prior(run: Path, page: Page, sound: _Sounds, final: dict[str, Any] | None) -> None:
    samples = sorted((run / "samples").glob("*.wav")) if (run / "samples").is_dir() else []
    if not samples and not final:
        return
    parts = []
    if final:
        parts.append(para(f"Held-out NLL {num(final.get('valid_bits_per_code')):.2f} bits/code = "
                          f"{num(final.get('valid_bits_per_s')):.0f} bits/s, against the uniform bound "
                          f"{num(final.get('uniform_bits_per_s')):.0f} bits/s (log2 K x frame rate)."))
    if samples:
        parts += [para("Codes drawn from the latent prior and decoded by the VQ-VAE:"),
                  Raw('<div class="scroll">' + table([p.stem for p in samples], [[sound(p, p.name)
                                                                                   for p in samples]]) + "</div>")]
    page.add("Prior samples", *parts)


def _training(run: Path, page: Page, metrics: list[dict[str, Any]]) -> None:
    from vqspeech.io.tokens import is_token_dataset, read_token_meta, read_tokens

    parts = []
    rows = [r for r in metrics if "nll_bits" in r]
    fig = training_curves(metrics, page.asset("training_curves.png")) if rows else None
    if fig:
        val = [r for r in metrics if "valid_nll_bits" in r]
        last = rows[-1]
        parts += [para(f"{last['step']} steps; last train NLL {last['nll_bits']:.2f} bits/sample"
                       + (f", validation NLL {val[-1]['valid_nll_bits']:.2f} bits/sample" if val else "")
                       + (f"; {last['codes_used']} codes used in the last batch" if "codes_used" in last else "")
                       + "."), page.figure(fig, "training curves")]
    if is_token_dataset(run / "tokens"):
        meta = read_token_meta(run / "tokens")
        toks = read_tokens(run / "tokens", columns=("id", "codes"))
        use = codebook_usage([r["codes"] for r in toks], int(meta["num_codes"]), page.asset("codebook_usage.png"))
        parts += [para(f"{use['codes_used']} of {use['num_codes']} codes used across {len(toks)} utterances"
                       + (f" ({meta['frame_rate']:g} codes/s)." if meta.get("frame_rate") else ".")),
                  page.figure(page.asset("codebook_usage.png"), "codebook usage")]
    if parts:
        page.add("Training curves", *parts)


PHONE_ROWS = [("many-to-one accuracy, held out", "accuracy_heldout", "%"),
              ("  on speech frames only", "accuracy_heldout_nonsil", "%"),
              ("many-to-one accuracy, same set", "accuracy_same_set", "%"),
              ("cluster purity", "cluster_purity", "%"), ("PNMI", "pnmi", ".3f"), ("codes used", "codes_used", "d"),
              ("bitrate (bits/s)", "bitrate_bits_per_s", ".0f"),
              ("mean code run length (frames)", "mean_run_length_frames", ".2f")]


def phoneme_rows(m: dict[str, Any]) -> list[list[str]]:
    """The phoneme-eval JSON as ``[metric, codes, baseline]`` rows."""
    b = m.get("baseline") or {}

    def fmt(d: dict[str, Any], key: str, f: str) -> str:
        v = d.get(key)
        return "–" if v is None else (f"{100 * v:.1f} %" if f == "%" else format(v, f))

    rows = [[name, fmt(m, key, f), fmt(b, key, f)] for name, key, f in PHONE_ROWS]
    if "majority_baseline" in m:
        rows.append(["majority-phone baseline", f"{100 * m['majority_baseline']:.1f} % ({m.get('majority_phone')})"
                     + (f"; speech frames only {100 * m['majority_baseline_nonsil']:.1f} % "
                        f"({m.get('majority_phone_nonsil')})" if "majority_baseline_nonsil" in m else ""), ""])
    return rows


def _phonemes(run: Path, page: Page) -> None:
    pe = run / "phoneme_eval.json"
    if not pe.is_file():
        return
    m = json.loads(pe.read_text())
    parts = [table(["metric", "codes", "MFCC k-means baseline (same K, same rate)"], phoneme_rows(m)),
             para("The paper reports 49.3 % against a 7.2 % majority baseline (128 codes at 25 Hz, 41 phones).")]
    if (run / "codes_phones.png").is_file():
        parts.append(page.figure(run / "codes_phones.png", "code x phone map"))
    page.add("How phonetic are the codes (phoneme-eval)", *parts)


def build(run: Path, page: Page) -> None:
    """Fill ``page`` with the speech run ``run``: targets, judges, players, codec, prior samples, curves, phoneme-eval,
    time taken."""
    from vqspeech.io.checkpoint import read_meta

    metrics = read_rows(run / "metrics.jsonl")
    speakers: list[str] = []
    last = run / "checkpoints" / "last.safetensors"
    if last.is_file():
        speakers = list(read_meta(last).get("speakers", []))
    prior_rows = read_rows(run.parent / f"{run.name}_prior" / "metrics.jsonl")
    final = [r for r in prior_rows if "uniform_bits_per_s" in r]
    sound = _Sounds(page)
    _targets(run, page)
    _judges(run, page, metrics)
    _listen(run, page, sound, speakers)
    _codec(run, page, sound, _corpus_paths(run), final[-1] if final else None)
    _prior(run, page, sound, final[-1] if final else None)
    _training(run, page, metrics)
    _phonemes(run, page)
    timings = read_tsv_pairs(run / "timings.tsv")
    if timings:
        page.add("Time taken", table(["stage", "seconds"], timings))


__all__ = ["TARGETS_HEADER", "build", "codebook_usage", "judges_figure", "judges_rows", "minutes_per_step",
           "phoneme_rows", "spectrogram_png", "spectrograms", "targets_note", "targets_of", "training_curves"]
