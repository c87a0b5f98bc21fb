#!/usr/bin/env python
"""vqspeech benchmark suite: prints a table per section and writes JSON.

Usage: python scripts/bench.py [--only peaks,quantizer,train,generate,encode,cache,codec,image,video,convert]
                              [--json bench_results.json] [--quick] [--codec-vqvae CKPT --codec-prior PRIOR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench_families import CODEC_MODELS, bench_cache, bench_codec, bench_image, bench_video_section  # noqa: E402
from bench_speed import CONVERT_MODEL, bench_convert, bench_encode, bench_generate, peaks  # noqa: E402
from bench_util import machine, print_row, run_child, timeit  # noqa: E402


def bench_quantizer(quick: bool) -> list[dict]:
    """EMA quantizer forward + backward: time and peak memory above the inputs, chunked vs unchunked."""
    rows = []
    sizes = [(65536, 64, 512), (131072, 256, 8192)]
    for n, d, k in sizes[:1] if quick else sizes:
        for chunk in (None, 8192):
            res = run_child("quant", [n, d, k, chunk, 1 if n > 100000 else 3])
            rows.append({"N": n, "D": d, "K": k, "chunk": chunk or "none", **res})
            print_row(rows[-1])
    return rows


def _wavenet_sizes() -> list[tuple[str, dict]]:
    from dataclasses import asdict

    from vqspeech.verbs import load_recipe

    out = []
    for name in ("demo", "vctk"):
        m = asdict(load_recipe(f"recipes/{name}.yaml").model)
        out.append((f"{name}.yaml decoder", m))
    out.append(("10-layer 64/128/64", {"residual_channels": 64, "gate_channels": 128, "skip_channels": 64,
                                            "layers": 10, "cycle": 10}))
    return out


def bench_train(quick: bool) -> list[dict]:
    """Teacher-forced forward + backward + Adam, batch 4 x 8000 samples (fp32, CPU)."""
    import torch.nn.functional as F

    from vqspeech.nn.wavenet import WaveNet, WaveNetConfig
    from vqspeech.speech.models import SpeechVQVAE
    from vqspeech.verbs import load_recipe

    rows = []
    for name, m in _wavenet_sizes():
        if quick and "vctk" in name:
            continue
        for path in ("eager", "compiled"):
            torch.manual_seed(0)
            net = WaveNet(WaveNetConfig(256, m["residual_channels"], m["gate_channels"], m["skip_channels"],
                                        m["layers"], m["cycle"]))
            if path == "compiled":
                net.compile()  # what train.compile does
            opt = torch.optim.Adam(net.parameters(), 2e-4)
            x = torch.randint(0, 256, (4, 8000))

            def step(net=net, opt=opt, x=x) -> None:
                loss = F.cross_entropy(net(x), x)
                opt.zero_grad()
                loss.backward()
                opt.step()

            step()  # compiles (not timed)
            t = timeit(step, repeat=2 if m["layers"] > 10 else 3)
            rows.append({"model": f"WaveNet only: {name}", "path": path, "samples_per_s": round(32000 / t)})
            print_row(rows[-1])
    # the demo recipe as it is, and with the paper's raw-waveform encoder it had until 0.5 (the ablation's base)
    paper_encoder = ["model.encoder_input=waveform", "model.norm_seconds=0", "model.jitter=0",
                     "model.encoder_channels=64"]
    for name, overrides in (("demo.yaml", []), ("demo.yaml, waveform encoder", paper_encoder), ("vctk.yaml", [])):
        if quick and name == "vctk.yaml":
            continue
        cfg = load_recipe(f"recipes/{name.split(',')[0]}", overrides)
        for path in ("eager", "compiled"):
            torch.manual_seed(0)
            model = SpeechVQVAE(cfg.model, cfg.quantizer, 8, cfg.data.sample_rate).train()
            if path == "compiled":
                for mod in model.compile_targets():
                    mod.compile()
            opt = torch.optim.Adam(model.parameters(), 2e-4)
            hop = model.hop
            audio = torch.randn(4, 8000 // hop * hop) * 0.1
            spk = torch.arange(4)

            def vstep(model=model, opt=opt, audio=audio, spk=spk) -> None:
                out = model(audio, spk)
                opt.zero_grad()
                out.loss.backward()
                opt.step()

            vstep()
            t = timeit(vstep, repeat=2)
            rows.append({"model": f"full VQ-VAE: {name}", "path": path, "samples_per_s": round(audio.numel() / t)})
            print_row(rows[-1])
    return rows


SECTIONS: dict[str, Callable[[bool], list[dict]]] = {
    "peaks": peaks, "quantizer": bench_quantizer, "train": bench_train, "generate": bench_generate,
    "encode": bench_encode, "cache": bench_cache,
    "codec": bench_codec, "image": bench_image, "video": bench_video_section, "convert": bench_convert,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", default="bench_results.json")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--codec-vqvae", default=CODEC_MODELS["vqvae"], help="codec section: speech VQ-VAE checkpoint")
    ap.add_argument("--codec-prior", default=CODEC_MODELS["prior"], help="codec section: its prior checkpoint")
    ap.add_argument("--convert-model", default="voices", help="convert section: speech VQ-VAE (path or shipped name)")
    args = ap.parse_args()
    CONVERT_MODEL["checkpoint"] = args.convert_model
    CODEC_MODELS.update(vqvae=args.codec_vqvae, prior=args.codec_prior)
    chosen = [s for s in args.only.split(",") if s] or list(SECTIONS)
    result = {"machine": machine(), "results": {}}
    print(f"machine: {result['machine']}")
    for name in chosen:
        print(f"\n== {name} ==")
        result["results"][name] = SECTIONS[name](args.quick)
    Path(args.json).write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
