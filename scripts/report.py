"""The demo report: ``python scripts/report.py RUN_DIR [PRIOR_RUN_DIR]`` writes ``RUN_DIR/report.md``
with training curves, codebook usage, the code x phone heat map, spectrograms and links to the audio."""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def training_curves(metrics: list[dict], out: Path) -> None:
    """NLL (train and validation) and codes used per step."""
    plt = _plt()
    rows = [r for r in metrics if "nll_bits" in r]
    steps = [r["step"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    a.plot(steps, [r["nll_bits"] for r in rows], lw=0.8, label="train")
    val = [r for r in metrics if "valid_nll_bits" in r]
    if val:
        a.plot([r["step"] for r in val], [r["valid_nll_bits"] for r in val], "o-", label="validation")
    a.set_xlabel("step")
    a.set_ylabel("reconstruction NLL (bits / sample)")
    a.legend()
    a.grid(alpha=0.3)
    b.plot(steps, [r["codes_used"] for r in rows], lw=0.8, label="codes used per batch")
    b.plot(steps, [r["perplexity"] for r in rows], lw=0.8, label="perplexity")
    b.set_xlabel("step")
    b.legend()
    b.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def codebook_usage(codes: list[list[int]], num_codes: int, out: Path) -> dict:
    """Sorted code frequencies over the whole token dataset."""
    plt = _plt()
    counts = Counter(c for cs in codes for c in cs)
    freq = np.array(sorted(counts.values(), reverse=True), float)
    freq /= freq.sum()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(range(len(freq)), freq, width=1.0)
    ax.set_yscale("log")
    ax.set_xlabel(f"code rank ({len(freq)} of {num_codes} used)")
    ax.set_ylabel("frequency")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return {"codes_used": len(freq), "num_codes": num_codes}


def spectrograms(wavs: list[tuple[str, Path]], out: Path) -> None:
    """Log-mel spectrograms of the given wavs, one row each."""
    import librosa
    import soundfile as sf

    plt = _plt()
    fig, axes = plt.subplots(len(wavs), 1, figsize=(9, 2.2 * len(wavs)), squeeze=False)
    for ax, (title, path) in zip(axes[:, 0], wavs, strict=True):
        y, sr = sf.read(str(path), dtype="float32")
        m = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=160, n_mels=80))
        ax.imshow(m, origin="lower", aspect="auto", cmap="magma", vmin=m.max() - 80,
                  extent=(0, len(y) / sr, 0, 80))
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("mel bin")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _num(v: float | None) -> float:
    """A report value as a float (``null`` in the JSON, i.e. not measured, becomes NaN)."""
    return float("nan") if v is None else float(v)


def judges_section(run: Path, metrics: list[dict]) -> list[str]:
    """The listening judges' table (last checkpoint) and how each judge moved with training minutes."""
    evals = sorted(((int(p.stem.split("-")[1]), json.loads(p.read_text())) for p in (run / "eval").glob("step-*.json")),
                   key=lambda x: x[0]) if (run / "eval").is_dir() else []
    if not evals:
        return []
    lines = ["## What the judges hear (`vqspeech evaluate`, held-out utterances)", ""]
    md = run / "eval" / "last.md"
    if md.exists():
        lines += [md.read_text(), ""]
    rate = [r["samples_per_s"] for r in metrics if "samples_per_s" in r]
    timing = {k: v for k, v in (x.split("\t") for x in (run / "timings.tsv").read_text().splitlines() if x)} if (
        run / "timings.tsv").exists() else {}
    last_step = max((r["step"] for r in metrics), default=1)
    minutes_per_step = float(timing["train"]) / 60 / last_step if "train" in timing else (
        1 / (60 * sum(rate) / len(rate)) if rate else 0)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4))
    x = [s * minutes_per_step for s, _ in evals]
    series = [("conversion identified as target", lambda e: _num(e["conversion_speaker"]["identified_as_target"])),
              ("conversion closer to target", lambda e: _num(e["conversion_speaker"]["closer_to_target"])),
              ("reconstruction identified as its speaker", lambda e: _num(e.get("reconstruction_identification"))),
              ("reconstruction word error / originals'", lambda e: _num(e.get("wer_reconstruction"))
               / max(_num(e.get("wer_original")), 1e-9)),
              ("code agreement of conversions", lambda e: _num(e["code_agreement_conversion"]))]
    for name, f in series:
        ax.plot(x, [f(e) for _, e in evals], "o-", label=name)
    ax.axhline(0.8, color="gray", lw=0.5, ls=":")
    ax.set_xlabel("training minutes (2 CPU cores)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(run / "judges_curve.png", dpi=110)
    plt.close(fig)
    lines += ["Targets: conversions identified as the target in >= 80 % of pairs and closer to the target in "
              ">= 90 %; reconstruction word error <= 1.5x the originals'.", "",
              "![judges over training](judges_curve.png)", "",
              "| step | minutes | conversion identified as target | closer to target | reconstruction identified | "
              "WER recon / orig | code agreement |",
              "|---|---|---|---|---|---|---|"]
    for (s, e), m in zip(evals, x, strict=True):
        cs = e["conversion_speaker"]
        lines.append(f"| {s} | {m:.1f} | {_num(cs['identified_as_target']):.0%} | "
                     f"{_num(cs['closer_to_target']):.0%} | {_num(e.get('reconstruction_identification')):.0%} | "
                     f"{_num(e.get('wer_reconstruction')):.0%} / {_num(e.get('wer_original')):.0%} | "
                     f"{_num(e['code_agreement_conversion']):.0%} |")
    return [*lines, ""]


def codec_section(run: Path, prior_final: dict | None) -> list[str]:
    """Real bits/s of the demo's .vqs files (prior-coded and unigram) against log2 K x rate and the prior."""
    from vqspeech.speech.codec import read_header

    files = sorted(p for p in (run / "codec").glob("*.vqs") if not p.name.endswith(".unigram.vqs")) if (
        run / "codec").is_dir() else []
    if not files:
        return []
    tot = {"file": 0, "payload": 0, "unigram": 0, "seconds": 0.0}
    for p in files:
        header, payload = read_header(p)
        tot["file"] += p.stat().st_size * 8
        tot["payload"] += len(payload) * 8
        tot["unigram"] += p.with_name(p.stem + ".unigram.vqs").stat().st_size * 8
        tot["seconds"] += int(header["num_samples"]) / int(header["sample_rate"])
    rate = int(header["sample_rate"]) / int(header["hop_length"])
    bound = math.log2(int(header["num_codes"])) * rate
    s = tot["seconds"]
    lines = ["## Codec (`.vqs` files of held-out utterances)", "",
             f"codec: **{tot['file'] / s:.0f} bits/s** (whole files; range-coded payload {tot['payload'] / s:.0f} "
             f"bits/s) with the prior, {tot['unigram'] / s:.0f} bits/s with a unigram table, against log2 K x code "
             f"rate = {bound:.0f} bits/s" + (f" and the prior's held-out cross-entropy "
                                               f"{prior_final['valid_bits_per_s']:.0f} bits/s" if prior_final else "")
             + f" ({len(files)} utterances, {s:.1f} s).", ""]
    wavs = sorted((run / "codec").glob("*.wav"))
    if wavs:
        lines += [f"Listen: [{wavs[0].name}](codec/{wavs[0].name}) (decoded from `codec/{wavs[0].stem}.vqs`).", ""]
    return lines


def write_report(run: Path, prior_run: Path | None = None) -> Path:
    """Assemble ``run/report.md`` from what the demo left in ``run`` (and the prior's run dir)."""
    from vqspeech.io.tokens import is_token_dataset, read_token_meta, read_tokens

    lines = ["# vqspeech demo report", ""]
    metrics = _rows(run / "metrics.jsonl")
    lines += judges_section(run, metrics)
    if metrics:
        training_curves(metrics, run / "training_curves.png")
        last = [r for r in metrics if "nll_bits" in r][-1]
        val = [r for r in metrics if "valid_nll_bits" in r]
        lines += ["## VQ-VAE training", "",
                  f"{last['step']} steps; last train NLL {last['nll_bits']:.2f} bits/sample"
                  + (f", validation NLL {val[-1]['valid_nll_bits']:.2f} bits/sample" if val else "")
                  + f"; {last['codes_used']} codes used in the last batch (perplexity {last['perplexity']:.0f}).",
                  "", "![training curves](training_curves.png)", ""]
    if is_token_dataset(run / "tokens"):
        meta = read_token_meta(run / "tokens")
        rows = read_tokens(run / "tokens")
        use = codebook_usage([r["codes"] for r in rows], meta["num_codes"], run / "codebook_usage.png")
        lines += ["## Codebook usage over the corpus", "",
                  f"{use['codes_used']} of {use['num_codes']} codes used across {len(rows)} utterances "
                  f"({meta['frame_rate']:g} codes/s).", "", "![codebook usage](codebook_usage.png)", ""]
    pe = run / "phoneme_eval.json"
    if pe.exists():
        m = json.loads(pe.read_text())
        lines += ["## How phonetic are the codes (phoneme-eval)", "",
                  "| metric | codes | MFCC k-means baseline (same K, same rate) |", "|---|---|---|"]
        b = m.get("baseline") or {}

        def row(name: str, key: str, fmt: str) -> str:
            def cell(d: dict) -> str:
                v = d.get(key)
                return "–" if v is None else (f"{100 * v:.1f} %" if fmt == "%" else format(v, fmt))

            return f"| {name} | {cell(m)} | {cell(b)} |"

        lines += [row("many-to-one accuracy, held out", "accuracy_heldout", "%"),
                  row("  on speech frames only", "accuracy_heldout_nonsil", "%"),
                  row("many-to-one accuracy, same set", "accuracy_same_set", "%"),
                  row("cluster purity", "cluster_purity", "%"),
                  row("PNMI", "pnmi", ".3f"),
                  row("codes used", "codes_used", "d"),
                  row("bitrate (bits/s)", "bitrate_bits_per_s", ".0f"),
                  row("mean code run length (frames)", "mean_run_length_frames", ".2f"),
                  f"| majority-phone baseline | {100 * m['majority_baseline']:.1f} % ({m['majority_phone']}); "
                  f"speech frames only {100 * m['majority_baseline_nonsil']:.1f} % ({m['majority_phone_nonsil']})"
                  " | |", "",
                  "The paper reports 49.3 % against a 7.2 % majority baseline (128 codes at 25 Hz, 41 phones).", "",
                  "![code x phone](codes_phones.png)", ""]
    prior_metrics = _rows(prior_run / "metrics.jsonl") if prior_run else []
    final = [r for r in prior_metrics if "uniform_bits_per_s" in r]
    if final:
        f = final[-1]
        lines += ["## Latent prior", "",
                  f"Held-out NLL {f.get('valid_bits_per_code', float('nan')):.2f} bits/code = "
                  f"{f.get('valid_bits_per_s', float('nan')):.0f} bits/s, against the uniform bound "
                  f"{f['uniform_bits_per_s']:.0f} bits/s (log2 K x frame rate).", ""]
        samples = sorted((run / "samples").glob("*.wav"))
        if samples:
            lines += ["Samples: " + ", ".join(f"[{p.name}](samples/{p.name})" for p in samples), ""]
    lines += codec_section(run, final[-1] if final else None)
    conv = sorted((run / "convert").glob("*.wav"))
    if conv:
        src = Path("demo_corpus/f1/f1_000.wav")
        recon = run / "convert" / "f1_000-to-f1.wav"
        other = next((p for p in conv if p != recon), None)
        specs = [("original (f1)", src)] + ([("reconstruction (f1 -> f1)", recon)] if recon.exists() else [])
        specs += [(f"conversion ({other.stem.split('-to-')[-1]})", other)] if other else []
        if src.exists():
            spectrograms(specs, run / "spectrograms.png")
        lines += ["## Voice conversion", "", f"Source: `{src}`. Converted: "
                  + ", ".join(f"[{p.stem.split('-to-')[-1]}](convert/{p.name})" for p in conv), "",
                  "![spectrograms](spectrograms.png)", ""]
    timings = run / "timings.tsv"
    if timings.exists():
        lines += ["## Time taken", "", "| stage | seconds |", "|---|---|"]
        lines += [f"| {a} | {b} |" for a, b in (x.split("\t") for x in timings.read_text().splitlines() if x)]
        lines.append("")
    out = run / "report.md"
    out.write_text("\n".join(lines))
    return out


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]]
    if not args:
        sys.exit("usage: python scripts/report.py RUN_DIR [PRIOR_RUN_DIR]")
    print(write_report(args[0], args[1] if len(args) > 1 else None))
