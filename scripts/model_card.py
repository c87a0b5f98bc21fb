"""The model card of a shipped speech model, written from what was measured: the run's recipe, steps and training
minutes, the judges of each evaluated checkpoint (``RUN/eval/step-N.json`` from ``vqspeech evaluate``), the
enrolled voice (``scripts/enroll_check.py``), the codec against Codec2 (``scripts/codec_compare.py --json``) and
the convert speed (``scripts/bench.py --only convert --json``); each target of the real-voices issue with its
measured value and whether it is met.  A judge that was not run is shown as not measured.

    python scripts/model_card.py training/voices --prior-run training/voices_prior \
        --enroll runs/enroll_check/evaluate.json --codec docs/voices/codec.json \
        --bench docs/voices/bench_convert.json -o docs/voices/MODEL_CARD.md
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import yaml

from vqspeech.speech.eval.targets import HEADER, Row, Targets, pct


def load(path: Path | None) -> dict[str, Any]:
    return json.loads(path.read_text()) if path and path.is_file() else {}


def metrics(run: Path) -> list[dict[str, Any]]:
    p = run / "metrics.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()] if p.is_file() else []


def target_rows(last: dict[str, Any], enrolled: dict[str, Any], codec: dict[str, Any],
                bench: dict[str, Any]) -> list[Row]:
    """``(target, goal, measured, met)`` for each target of the real-voices issue."""
    targets = Targets()
    add = targets.add
    cs = last.get("conversion_speaker", {})
    add("held-out conversions identified as the target", "≥ 80 %", cs.get("identified_as_target"),
        None if not cs else cs["identified_as_target"] >= 0.8)
    add("held-out conversions closer to the target than the source", "≥ 90 %", cs.get("closer_to_target"),
        None if not cs else cs["closer_to_target"] >= 0.9)
    ecs = enrolled.get("conversion_speaker", {})
    add("conversions to the enrolled voice identified as it", "≥ 80 %", ecs.get("identified_as_target"),
        None if not ecs else ecs["identified_as_target"] >= 0.8)
    add("conversions to the enrolled voice closer to it than the source", "≥ 90 %", ecs.get("closer_to_target"),
        None if not ecs else ecs["closer_to_target"] >= 0.9)
    un = last.get("unseen", {})
    add("unseen speakers' speech converted: identified as the target", "≥ 80 %", un.get("identified_as_target"),
        None if not un else un["identified_as_target"] >= 0.8)
    add("unseen speakers' speech converted: closer to the target", "≥ 90 %", un.get("closer_to_target"),
        None if not un else un["closer_to_target"] >= 0.9)
    stoi = last.get("stoi")
    add("reconstruction STOI (8 kHz)", "≥ 0.75", stoi, None if stoi is None else stoi >= 0.75,
        "not measured" if stoi is None else f"{stoi:.3f}")
    wo, wc = un.get("wer_original"), un.get("wer_conversion")
    ratio = None if wo is None or wc is None or wo <= 0 else wc / wo
    add("unseen English speech converted: word error vs the originals'", "≤ 1.5×", ratio,
        None if ratio is None else ratio <= 1.5,
        "not measured" if ratio is None else f"{100 * wc:.0f} % vs {100 * wo:.0f} % ({ratio:.2f}×)")
    codecs = codec.get("codecs", {})
    vqs, c2 = codecs.get(".vqs"), codecs.get("Codec2 1300")
    ok = None if not (vqs and c2) else vqs["bits_per_s"] <= 1300 and vqs["stoi"] >= c2["stoi"]
    add("codec at ≤ 1,300 bits/s: STOI vs Codec2 1300", "≥ Codec2 1300", None, ok,
        "not measured" if ok is None else f"{vqs['bits_per_s']:.0f} bits/s, STOI {vqs['stoi']:.3f} vs "
                                          f"{c2['stoi']:.3f} ({c2['bits_per_s']:.0f} bits/s)")
    conv = [r for r in bench.get("results", {}).get("convert", []) if "whole command" in r.get("model", "")]
    rt = conv[0]["x_real_time"] if conv else None
    add("`convert` speed on 2 cores (whole command)", "≥ 1× real time", rt, None if rt is None else rt >= 1,
        "not measured" if rt is None else f"{rt:.2f}× real time")
    return targets.rows


def table(header: list[str], rows: list[list[str]] | list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main() -> None:
    from vqspeech.io.checkpoint import read_meta
    from vqspeech.speech.data.prompts import ATTRIBUTION
    from vqspeech.speech.report import JUDGES_HEADER, evals_of, judges_figure, judges_rows

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("--prior-run", type=Path)
    ap.add_argument("--enroll", type=Path)
    ap.add_argument("--codec", type=Path)
    ap.add_argument("--bench", type=Path)
    ap.add_argument("--name", default="voices")
    ap.add_argument("--one-thread-minutes", type=float, required=True,
                    help="training minutes run at one thread (the rest ran at two)")
    ap.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args()
    cfg = yaml.safe_load((a.run / "config.yaml").read_text())
    rows = metrics(a.run)
    final = read_meta(a.run / "checkpoints" / "last.safetensors")  # the shipped checkpoint: its step and minutes
    step = int(final.get("step", max((r["step"] for r in rows), default=0)))
    minutes = float(final.get("train_minutes", max((r.get("minutes", 0) for r in rows), default=0)))
    valid = [r for r in rows if "valid_nll_bits" in r]
    evals = evals_of(a.run)
    last_step, last = evals[-1] if evals else (0, {})
    prior_rows = metrics(a.prior_run) if a.prior_run else []
    prior_valid = [r for r in prior_rows if "valid_nll_bits" in r]
    enrolled, codec, bench = load(a.enroll), load(a.codec), load(a.bench)
    m = cfg["model"]
    q = cfg["quantizer"]
    d = cfg["data"]
    factor = math.prod(m["strides"]) if m.get("strides") else 2 ** m.get("downsample_layers", 6)
    rate = d.get("sample_rate", 8000) / factor
    out = [
        f"# Model card: `{a.name}` (shipped with vqspeech)",
        "",
        "A speech VQ-VAE of four real voices and a prior over its codes, trained on CPU and shipped inside the "
        "package so that `convert`, `encode`/`decode` (the `.vqs` codec), `speakers`, `evaluate` and `enroll` work "
        f"with no training and no network. Use it by name: `-c {a.name}` (`vqspeech models` lists it).",
        "",
        "## Data and licence",
        "",
        ATTRIBUTION,
        "",
        "The corpus is built offline by `vqspeech corpus prompts voices_corpus` from Debian's "
        "`asterisk-core-sounds-{en,es,fr,it,ru}-wav` (8 kHz telephone prompts): voices `allison` (en + es), `june` "
        "(fr), `carlo` (it), `ivrvoiceru` (ru). The model's weights are derived from these recordings; keep this "
        "attribution with them (CC-BY-SA 3.0 applies to the parts derived from the en/es/fr recordings).",
        "",
        "## Recipe",
        "",
        f"`recipes/voices.yaml`: {d.get('sample_rate')} Hz; encoder on {m.get('n_mels', 40)} log-mel bands "
        f"normalised over a sliding {m.get('norm_seconds')} s, time jitter {m.get('jitter')}; "
        + f"{rate:g} codes/s; "
        + f"K = {q['num_codes']} codes of dimension {q['dim']}; a WaveNet decoder of {m.get('layers')} layers "
        f"({m.get('residual_channels')} residual channels) conditioned on the codes and a speaker embedding. "
        "`scripts/train_voices.sh` reproduces it (and resumes it) from a fresh machine; `recipes/voices_prior.yaml` "
        "trains the prior on its codes.",
        "",
        f"Trained for **{step:,} steps** in **{minutes:.0f} minutes** of wall time on a 2-core CPU (AMD EPYC, "
        f"24 GB, no GPU; 1 thread for the first {min(a.one_thread_minutes, minutes):.0f} minutes, 2 threads after, "
        "the cores shared with other work part of the time): at most "
        f"{(min(a.one_thread_minutes, minutes) + 2 * max(0.0, minutes - a.one_thread_minutes)) / 60:.1f} "
        "thread-hours. Final validation NLL: "
        + (f"{valid[-1]['valid_nll_bits']:.2f} bits/sample at step {valid[-1]['step']:,}" if valid else "–")
        + (f"; the prior: {prior_valid[-1]['valid_nll_bits']:.2f} bits/code at step {prior_valid[-1]['step']:,}"
           if prior_valid else "")
        + ".",
        "",
        "## Targets",
        "",
        f"Judged on the checkpoint of step {last_step:,}"
        + (f" (**not the shipped step {step:,}**)" if last_step != step else " (the shipped one)") + ". "
        "Measured on held-out utterances of the four voices (the run's `split.json`), on real English speech of "
        "speakers the model never heard (`scripts/unseen_corpus.py`: pocketsphinx-testdata's LibriVox and card-name "
        "sentences and alsa-utils' channel prompts, with transcripts, and linphone's test call recording), "
        "on a real voice enrolled with `vqspeech enroll` "
        "(`scripts/enroll_check.py`: Menardi, Italian prompts, never heard in training; judged against recordings "
        "not used to enrol), with the codec against Codec2 (`scripts/codec_compare.py`) and the speed of "
        "`convert` (`scripts/bench.py --only convert`).",
        "",
        table(HEADER, target_rows(last, enrolled, codec, bench)),
        "",
        "## How the judges moved with training",
        "",
        "`vqspeech evaluate voices_corpus -c <checkpoint> --unseen unseen_corpus --max-items 16` on checkpoints "
        "along the run (minutes are wall-clock training minutes):",
        "",
        table(JUDGES_HEADER, judges_rows(evals, 0.0)) if evals else "(no checkpoint evaluated)",
        "",
    ]
    if len(evals) > 1:
        judges_figure(evals, 0.0, a.out.parent / "judges.png")
        out += ["![how the judges moved with training minutes](judges.png)", ""]
    if evals:
        un = [(s, e.get("unseen", {})) for s, e in evals]
        out += ["Unseen speakers (conversions of their speech to each voice):", "",
                table(["step", "identified as target", "closer to target", "word error conversions / originals"],
                      [[str(s), pct(u.get("identified_as_target")), pct(u.get("closer_to_target")),
                        f"{pct(u.get('wer_conversion'))} / {pct(u.get('wer_original'))}"] for s, u in un]), ""]
    if codec:
        out += ["## The codec against Codec2", "",
                f"{len(codec.get('utterances', []))} held-out utterances, 8 kHz; `.vqs` is whole files "
                "(header included):", "",
                table(["codec", "bits/s", "STOI", "PESQ (narrow-band)"],
                      [[k, f"{r['bits_per_s']:.0f}", f"{r['stoi']:.3f}", f"{r['pesq_nb']:.2f}"]
                       for k, r in codec["codecs"].items()]), ""]
    if enrolled:
        en = enrolled.get("enrolled", {})
        out += ["## Enrolled voice", "",
                f"`vqspeech enroll {en.get('name')}` on {en.get('recordings')} recordings "
                f"({en.get('seconds', 0):.0f} s) of {en.get('package')}, {en.get('steps')} steps; "
                f"{len(enrolled.get('utterances', []))} held-out utterances of the four voices converted to it: "
                f"identified as it "
                f"{pct(enrolled['conversion_speaker']['identified_as_target'])}, closer to it than to the source "
                f"{pct(enrolled['conversion_speaker']['closer_to_target'])}.", ""]
    out += ["## Limits", "",
            "- Telephone band (8 kHz) and four professional voices reading prompts: other microphones, noise and "
            "accents are out of its training.",
            "- Conversion keeps the words (the codes) and changes the voice; how well is the table above, not a "
            "promise.",
            "- The speaker judges count 16 conversions (64 for unseen speakers): one pair is 6 points, so moves of "
            "one or two pairs between checkpoints are noise.",
            "- Its curves and the training log are in the repository (`training/voices/`, `docs/voices/`).", ""]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(out))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
