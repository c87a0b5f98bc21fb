"""The demo report: ``python scripts/report.py RUN_DIR [PRIOR_RUN_DIR]`` writes ``RUN_DIR/report.md``: the targets
and whether each is met, then the judges, training curves, codebook usage, the code x phone heat map, spectrograms
and links to the audio (the figures are the HTML page's, :mod:`vqspeech.speech.report`; ``vqspeech report
RUN_DIR`` writes the page with players)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from vqspeech.speech.report import (
    JUDGES_HEADER,
    TARGETS_HEADER,
    codebook_usage,
    evals_of,
    judges_figure,
    judges_rows,
    minutes_per_step,
    phoneme_rows,
    spectrograms,
    targets_note,
    targets_of,
    training_curves,
)
from vqspeech.speech.report import read_rows as _rows


def targets_section(run: Path) -> list[str]:
    """The demo's targets, each with its goal, the measured value and whether it is met."""
    step, rows = targets_of(run)
    if not rows:
        return []
    lines = ["## Targets", "", targets_note(step), "",
             "| " + " | ".join(TARGETS_HEADER) + " |", "|---" * len(TARGETS_HEADER) + "|"]
    return [*lines, *("| " + " | ".join(r) + " |" for r in rows), ""]


def judges_section(run: Path, metrics: list[dict]) -> list[str]:
    """The listening judges' table (last checkpoint) and how each judge moved with training minutes."""
    evals = evals_of(run)
    if not evals:
        return []
    lines = ["## What the judges hear (`vqspeech evaluate`, held-out utterances)", ""]
    md = run / "eval" / "last.md"
    if md.exists():
        lines += [md.read_text(), ""]
    minutes = minutes_per_step(run, metrics)
    judges_figure(evals, minutes, run / "judges_curve.png")
    lines += ["![judges over training](judges_curve.png)", "",
              "| " + " | ".join(JUDGES_HEADER) + " |", "|---" * len(JUDGES_HEADER) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in judges_rows(evals, minutes)]
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
    lines += targets_section(run)
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
        lines += ["| " + " | ".join(r) + " |" for r in phoneme_rows(m)]
        lines += ["",
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
        lines += ["## Voice conversion", ""]
        for utt in sorted({p.stem.split("-to-")[0] for p in conv}):  # one line per source utterance
            lines += [f"Source: `demo_corpus/{utt.rsplit('_', 1)[0]}/{utt}.wav`. Converted to: "
                      + ", ".join(f"[{p.stem.split('-to-')[-1]}](convert/{p.name})" for p in conv
                                  if p.stem.split("-to-")[0] == utt), ""]
        lines += ["![spectrograms](spectrograms.png)", ""]
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
