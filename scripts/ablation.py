"""The speech levers' ablation on the demo corpus: the 0.4 demo recipe (the paper's raw-waveform encoder, no
levers), each lever alone and combinations, trained for the same number of steps with the same seed, judged on the
same held-out utterances.

Each variant is ``vqspeech train recipes/demo.yaml --set <PAPER_ENCODER> --set ...`` in its own process; at the
chosen steps its checkpoint is judged by ``evaluate`` (speaker judge and STOI on 16 held-out utterances, no
recogniser) and by ``phoneme-eval --baseline`` (held-out accuracy, PNMI and ABX against MFCC k-means at the same K
and rate).
Results: ``OUT/<variant>/judged.jsonl`` and ``OUT/ablation.json``, ``ablation.md`` and ``ablation.png``.

    python scripts/ablation.py [--steps 600] [--judge-at 300,600] [--only base,jitter] [--out runs/ablation]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# every variant starts from the 0.4 demo recipe: recipes/demo.yaml with the paper's raw-waveform encoder and no levers
# (demo.yaml itself took the winners in 0.5), so "base" is the paper's encoder and each variant adds its levers
PAPER_ENCODER = ["model.encoder_input=waveform", "model.norm_seconds=0", "model.jitter=0", "model.encoder_channels=64"]

# the levers' building blocks, shared by the variants below
LOGMEL_NORM = ["model.encoder_input=logmel", "model.norm_seconds=0.5", "model.encoder_channels=128"]
JITTER = ["model.jitter=0.5"]
RATE50 = ["model.strides=[2, 2, 2, 4, 5]", "data.crop_samples=4000"]
PREEMPHASIS = ["model.preemphasis=0.9"]
ADVERSARY = ["model.speaker_adversary=0.2"]
WINNERS = LOGMEL_NORM + JITTER  # what recipes/demo.yaml took in 0.5

VARIANTS: dict[str, list[str]] = {
    "base": [],
    "jitter": JITTER,
    "preemphasis": PREEMPHASIS,
    "logmel_norm": LOGMEL_NORM,
    "rate50": RATE50,
    "adversary": ADVERSARY,
    "voices_levers": LOGMEL_NORM + RATE50 + JITTER + PREEMPHASIS + ["quantizer.dim=32"],
    "logmel_norm_jitter": WINNERS,
    # dead codes re-seeded ~3x sooner: usage below 30 % of the expected (EMA decay 0.99: ~120 steps unused, not ~350)
    "logmel_norm_jitter_restart": WINNERS + ["quantizer.restart_threshold=0.3"],
    # the winners at 50 codes/s (hop 160 samples at 8 kHz): codes that change at a phone's pace, not at 125 Hz
    "logmel_norm_jitter_rate50": WINNERS + RATE50,
    # the decoder's noise shaped under the speech spectrum (pre-emphasis before mu-law, de-emphasis after generation)
    "logmel_norm_jitter_preemphasis": WINNERS + PREEMPHASIS,
    # speaker-invariance pressure on the winners: a speaker classifier on the latents through gradient reversal
    "logmel_norm_jitter_adversary": WINNERS + ADVERSARY,
    # the learning rate decays to 30 % of its peak instead of 5 % (STOI stalled as it annealed)
    "logmel_norm_jitter_lr_final": WINNERS + ["train.lr_final=0.3"],
    # the decoder's voice: a 64-dimensional speaker embedding on every gate instead of 16
    "logmel_norm_jitter_speaker64": WINNERS + ["model.speaker_dim=64"],
    # two-stage schedule: the codes freeze two thirds of the way in, the decoder alone trains the last third
    "logmel_norm_jitter_two_stage": WINNERS + ["train.freeze_codes_after={two_thirds}"],
}


def judge(ckpt: Path, corpus: Path, items: int) -> dict[str, Any]:
    """Speaker judge, STOI and phoneme-eval (with the MFCC k-means baseline and ABX) of one checkpoint."""
    from vqspeech import progress
    from vqspeech.speech.commands import phoneme_eval
    from vqspeech.speech.eval.listening import evaluate_speech
    from vqspeech.speech.inference import load_vqvae

    progress.set_quiet(True)
    model, meta = load_vqvae(ckpt)
    ev = evaluate_speech(model, meta, corpus, ckpt, max_utterances=items, asr=False)
    pe = phoneme_eval(corpus, corpus, checkpoint=ckpt, baseline=True)
    cs, base = ev["conversion_speaker"], pe["baseline"]
    return {
        "identified_as_target": cs["identified_as_target"], "closer_to_target": cs["closer_to_target"],
        "identified_as_source": cs["identified_as_source"], "stoi": ev.get("stoi"),
        "reconstruction_identification": ev["reconstruction_identification"],
        "accuracy_heldout": pe["accuracy_heldout"], "pnmi": pe["pnmi"],
        "abx_across": pe["abx"]["angular"]["across"], "abx_within": pe["abx"]["angular"]["within"],
        "abx_across_ids": pe["abx"]["equal"]["across"], "run_length": pe["mean_run_length_frames"],
        "baseline_accuracy_heldout": base["accuracy_heldout"], "baseline_pnmi": base["pnmi"],
        "baseline_abx_across": base["abx"]["angular"]["across"], "bits_per_s": ev["bits_per_s"],
    }


def run_variant(name: str, steps: int, judge_at: list[int], out: Path, corpus: Path, items: int) -> list[dict]:
    """Train one variant to ``steps`` (one run: the learning-rate schedule spans all of it), keeping the
    checkpoints of ``judge_at``, then judge each.  Already judged steps are kept (the script can be re-run)."""
    import math

    run = out / name
    log = run / "judged.jsonl"
    done = {json.loads(line)["step"] for line in log.read_text().splitlines()} if log.exists() else set()
    todo = sorted(s for s in judge_at if s <= steps and s not in done)
    if not todo:
        return [json.loads(line) for line in log.read_text().splitlines()]
    if not (run / "checkpoints" / f"step-{steps}.safetensors").exists():
        every = math.gcd(*judge_at)
        cmd = [sys.executable, "-m", "vqspeech.cli", "--quiet", "train", "recipes/demo.yaml", "--out", str(run),
               "--max-steps", str(steps), "--set", f"data.root={corpus}", "--set", "train.max_minutes=0",
               "--set", f"train.checkpoint_every={every}",
               *sum((["--set", o.format(two_thirds=steps * 2 // 3)] for o in PAPER_ENCODER + VARIANTS[name]), [])]
        t0 = time.time()
        subprocess.run(cmd, check=True)
        (run / "train_minutes.txt").write_text(f"{(time.time() - t0) / 60:.2f}\n")
    minutes = float((run / "train_minutes.txt").read_text())
    from vqspeech.io.checkpoint import read_meta

    for target in todo:
        ckpt = run / "checkpoints" / f"step-{target}.safetensors"
        logged = read_meta(ckpt).get("train_minutes")  # the loop's own clock (interpolated for older checkpoints)
        row = {"variant": name, "step": target,
               "train_minutes": logged if logged is not None else minutes * target / steps,
               **judge(ckpt, corpus, items)}
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    return [json.loads(line) for line in log.read_text().splitlines()]


def reference_rows(run: Path, name: str) -> list[dict]:
    """The judges of an earlier run to draw beside the variants: its ``step-N.json`` files of ``vqspeech evaluate``
    and its ``phoneme_eval.json`` (``phoneme-eval --baseline``, counted at the last step)."""
    evals = sorted((int(p.stem.split("-")[1]), json.loads(p.read_text())) for p in run.glob("step-*.json"))
    rows = [{"variant": name, "step": step, "train_minutes": e.get("train_minutes"),
             "identified_as_target": e["conversion_speaker"]["identified_as_target"],
             "closer_to_target": e["conversion_speaker"]["closer_to_target"], "stoi": e.get("stoi"),
             "reconstruction_identification": e.get("reconstruction_identification")} for step, e in evals]
    pe = run / "phoneme_eval.json"
    if rows and pe.exists():
        m = json.loads(pe.read_text())
        base, abx = m["baseline"], m.get("abx", {}).get("angular", {})
        rows[-1].update(accuracy_heldout=m["accuracy_heldout"], pnmi=m["pnmi"], abx_across=abx.get("across"),
                        abx_within=abx.get("within"), baseline_accuracy_heldout=base["accuracy_heldout"],
                        baseline_pnmi=base["pnmi"],
                        baseline_abx_across=base.get("abx", {}).get("angular", {}).get("across"))
    return rows


def report(rows: list[dict], out: Path) -> None:
    """``ablation.md`` (the last judged step of each variant) and ``ablation.png`` (each judge against steps)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [("identified_as_target", "as target", True), ("closer_to_target", "closer", True),
            ("stoi", "STOI", False), ("accuracy_heldout", "phone acc.", True), ("pnmi", "PNMI", False),
            ("abx_across", "ABX across", True), ("abx_within", "ABX within", True)]
    last = {}
    for r in rows:
        if r["step"] >= last.get(r["variant"], {}).get("step", -1):
            last[r["variant"]] = r
    lines = ["| variant | step | " + " | ".join(c[1] for c in cols) + " | MFCC k-means: acc. / PNMI / ABX across |",
             "|---|---|" + "---|" * len(cols) + "---|"]
    for name, r in last.items():
        cells = [("–" if r.get(k) is None else f"{100 * r[k]:.1f} %" if pct else f"{r[k]:.3f}") for k, _, pct in cols]
        bacc, bpnmi, babx = (r.get(f"baseline_{k}") for k in ("accuracy_heldout", "pnmi", "abx_across"))
        base = " / ".join("–" if v is None else f % v for f, v in (("%.1f %%", None if bacc is None else 100 * bacc),
                                                                   ("%.3f", bpnmi),
                                                                   ("%.1f %%", None if babx is None else 100 * babx)))
        lines.append(f"| {name} | {r['step']} | " + " | ".join(cells) + f" | {base} |")
    (out / "ablation.md").write_text("\n".join(lines) + "\n")
    (out / "ablation.json").write_text(json.dumps(rows, indent=1))
    fig, axes = plt.subplots(1, len(cols), figsize=(3.2 * len(cols), 3))
    for ax, (k, label, _) in zip(axes, cols, strict=True):
        for name in last:
            pts = sorted((r["step"], r[k]) for r in rows if r["variant"] == name and r.get(k) is not None)
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=name, color=f"C{list(last).index(name) % 10}")
        ax.set_title(label)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "ablation.png", dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--judge-at", default="", help="steps to judge at (comma-separated; default: the last)")
    ap.add_argument("--only", default="", help="variants to run (comma-separated; default: all)")
    ap.add_argument("--out", type=Path, default=Path("runs/ablation"))
    ap.add_argument("--corpus", type=Path, default=Path("demo_corpus"))
    ap.add_argument("--items", type=int, default=16, help="held-out utterances the speaker judge hears")
    ap.add_argument("--reference", type=Path, default=None,
                    help="an earlier run's judges to draw beside the variants (a folder of evaluate step-N.json "
                         "files and its phoneme_eval.json)")
    ap.add_argument("--reference-name", default="reference")
    a = ap.parse_args()
    names = a.only.split(",") if a.only else list(VARIANTS)
    if unknown := [n for n in names if n not in VARIANTS]:
        sys.exit(f"error: unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    judge_at = [int(s) for s in a.judge_at.split(",") if s] or [a.steps]
    os.environ.setdefault("VQSPEECH_FAST", "1")
    rows = reference_rows(a.reference, a.reference_name) if a.reference else []
    for name in names:
        rows += run_variant(name, a.steps, judge_at, a.out, a.corpus, a.items)
        report(rows, a.out)
    print((a.out / "ablation.md").read_text())


if __name__ == "__main__":
    main()
