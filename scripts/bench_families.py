"""Benchmarks of the families' features: the speech corpus cache, the .vqs codec, the image and video families
(run through ``scripts/bench.py --only cache,codec,image,video``)."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from bench_util import print_row, run_child, timeit


def _synthetic_corpus(root: Path, hours: float) -> None:
    """``hours`` of 10 s 16 kHz wavs (noise-modulated tones) in the generic layout, written once."""
    import numpy as np
    import soundfile as sf

    n = round(hours * 360)
    if (root / "done").exists() and int((root / "done").read_text()) == n:
        return
    rng = np.random.default_rng(0)
    t = np.arange(160000) / 16000
    for i in range(n):
        d = root / f"spk{i % 20:02d}"
        d.mkdir(parents=True, exist_ok=True)
        x = 0.2 * np.sin(2 * np.pi * (100 + i % 300) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
        sf.write(str(d / f"u{i:05d}.wav"), (x + 0.01 * rng.standard_normal(len(t))).astype(np.float32), 16000,
                 subtype="PCM_16")
    (root / "done").write_text(str(n))


def bench_cache(quick: bool) -> list[dict]:
    """Training crops from the memory-mapped corpus cache: peak RSS of one rank vs corpus size (a synthetic
    corpus in the generic layout, built here under /tmp), first run builds the cache, second maps it."""
    rows = []
    for hours in (1.0,) if quick else (1.0, 20.0):
        root = Path("/tmp/vqspeech-bench") / f"corpus-{hours:g}h"
        _synthetic_corpus(root, hours)
        for run in ("build", "mapped"):
            res = run_child("cache", [str(root), str(root.parent / f"cache-{hours:g}h"), 200])
            rows.append({"corpus": f"{hours:g} h", "run": run, **res})
            print_row(rows[-1])
    return rows


CODEC_MODELS = {"vqvae": "runs/demo/checkpoints/last.safetensors",
                "prior": "runs/demo_prior/checkpoints/last.safetensors"}


def _coder_speed(k: int, n: int) -> dict:
    """The range coder alone: K-way distributions that change every step (random logits), codes drawn from them."""
    import numpy as np

    from vqspeech.speech import codec

    rng = np.random.default_rng(0)
    freqs = codec.quantize_logits(rng.standard_normal((n, k)) * 3)
    p = freqs / freqs.sum(1, keepdims=True)
    codes = (p.cumsum(1) < rng.random((n, 1))).sum(1).clip(0, k - 1)
    payload = codec.range_encode(codes, freqs)
    t_enc = timeit(lambda: codec.range_encode(codes, freqs), repeat=2)

    def dec() -> None:
        d = codec.RangeDecoder(payload)
        out = [d(f) for f in freqs]
        assert out == codes.tolist()

    t_dec = timeit(dec, repeat=1)
    ideal = codec.model_bits(codes, freqs)
    return {"what": f"range coder only, K={k}", "codes": n, "encode_codes_per_s": round(n / t_enc),
            "decode_codes_per_s": round(n / t_dec), "overhead_pct": round(100 * (len(payload) * 8 / ideal - 1), 3)}


def _prior_speed(prior: torch.nn.Module, n: int, label: str) -> dict:
    """Prior-driven coding: the prior's step-by-step pass (CPU, fp32, one thread) plus the range coder."""
    import numpy as np

    from vqspeech.speech import codec

    codes = np.random.default_rng(0).integers(0, prior.num_codes, n)
    t0 = time.perf_counter()
    payload = codec.range_encode(codes, codec.prior_frequencies(prior, codes, 0))
    t_enc = time.perf_counter() - t0
    d = codec.RangeDecoder(payload)
    out = np.zeros(n, np.int64)

    def pick(t: int, f) -> int:
        out[t] = d(f)
        return int(out[t])

    t0 = time.perf_counter()
    codec.run_prior(prior, 0, n, pick)
    t_dec = time.perf_counter() - t0
    assert np.array_equal(out, codes)
    return {"what": f"with prior: {label}", "codes": n, "encode_codes_per_s": round(n / t_enc),
            "decode_codes_per_s": round(n / t_dec), "overhead_pct": "-"}


def _codec_files(vq_path: Path, prior_path: Path, quick: bool) -> list[dict]:
    """Real .vqs files of the held-out utterances of the VQ-VAE's corpus: bits/s against log2 K x code rate and
    against the prior's cross-entropy."""
    import math
    import tempfile

    import numpy as np
    import torch.nn.functional as F

    from vqspeech.io.checkpoint import read_meta
    from vqspeech.registry import load_model
    from vqspeech.speech import codec
    from vqspeech.speech.data.audio import load_audio
    from vqspeech.speech.data.corpora import discover, split_utterances
    from vqspeech.speech.inference import encode_audio, load_vqvae

    model, meta = load_vqvae(vq_path)
    prior, pmeta = load_model(prior_path)

    data = read_meta(vq_path)["config"]["data"]
    utts = discover(data["root"], data.get("layout", "auto"), data.get("mic", "mic1"))
    split = split_utterances(utts, data.get("valid_fraction", 0.05), read_meta(vq_path)["config"]["train"]["seed"],
                             data.get("unseen_speakers"))
    held = set(split["valid"] + split["test_unseen"])
    chosen = [u for u in utts if u.id in held][: 4 if quick else 50]
    tot = {"seconds": 0.0, "codes": 0, "file_prior": 0, "payload_prior": 0, "file_uni": 0, "payload_uni": 0,
           "ce_bits": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for u in chosen:
            audio = load_audio(u.path, meta.sample_rate)
            codes = encode_audio(model, [audio])[0]
            spk = u.speaker if u.speaker in meta.speakers else None
            a = codec.encode_codes(codes, Path(tmp) / "p.vqs", vqvae=vq_path, prior=prior_path, speaker=spk,
                                   num_samples=len(audio))
            b = codec.encode_codes(codes, Path(tmp) / "u.vqs", vqvae=vq_path, speaker=spk, num_samples=len(audio))
            assert np.array_equal(codec.read_codes(Path(tmp) / "p.vqs")[0], codes)
            row = pmeta["speakers"].index(a["speaker"]) if a["speaker"] in pmeta["speakers"] else 0
            with torch.no_grad():
                logits = prior.logits(torch.as_tensor(codes)[None], torch.tensor([row]))[0].double()
            tot["ce_bits"] += float(F.cross_entropy(logits.T, torch.as_tensor(codes), reduction="sum")) / math.log(2)
            tot["seconds"] += len(audio) / meta.sample_rate
            tot["codes"] += len(codes)
            for key, info in (("prior", a), ("uni", b)):
                tot[f"file_{key}"] += info["bytes"] * 8
                tot[f"payload_{key}"] += info["payload_bytes"] * 8
    s = tot["seconds"]
    rate = meta.sample_rate / meta.hop_length
    out = {"what": f"{len(chosen)} held-out utterances ({s:.1f} s)", "K": meta.num_codes,
           "log2K_x_rate_bps": round(math.log2(meta.num_codes) * rate),
           "prior_cross_entropy_bps": round(tot["ce_bits"] / s), "payload_bps_prior": round(tot["payload_prior"] / s),
           "file_bps_prior": round(tot["file_prior"] / s), "overhead_pct_vs_ce": round(
               100 * (tot["payload_prior"] / tot["ce_bits"] - 1), 2),
           "payload_bps_unigram": round(tot["payload_uni"] / s), "file_bps_unigram": round(tot["file_uni"] / s),
           "uint16_bps": round(16 * rate)}
    return [out]


def bench_codec(quick: bool) -> list[dict]:
    """The .vqs codec: range-coder speed in codes/s, prior-driven coding speed, and (with the demo models under
    runs/) real bits/s against log2 K x code rate and the prior's cross-entropy."""
    from vqspeech.speech.models import CodePrior
    from vqspeech.verbs import load_recipe

    rows = []
    for k in (512,):
        rows.append(_coder_speed(k, 5000 if quick else 50000))
        print_row(rows[-1])
    vq_path, prior_path = Path(CODEC_MODELS["vqvae"]), Path(CODEC_MODELS["prior"])
    if prior_path.is_file():
        from vqspeech.registry import load_model

        prior, _ = load_model(prior_path)
        label = str(prior_path)
    else:
        torch.manual_seed(0)
        prior = CodePrior(load_recipe("recipes/demo_prior.yaml").model, 512, 8).eval()
        label = "demo_prior.yaml sizes, random weights"
    rows.append(_prior_speed(prior, 500 if quick else 2500, label))
    print_row(rows[-1])
    if vq_path.is_file() and prior_path.is_file():
        rows += _codec_files(vq_path, prior_path, quick)
        print_row(rows[-1])
    else:
        print(f"  (no {vq_path} and {prior_path}: run scripts/demo.sh for bits/s of real .vqs files, or pass "
              "--codec-vqvae/--codec-prior)")
    return rows


def _pixelcnn_projection(pcfg, n: int, side: int) -> dict:
    """Sampling a ``side x side`` map runs one forward per position on the rows so far, so its time is
    ``side * sum_i t(i + 1 rows)``; t is timed at 1 and ``side`` rows (it is linear in the rows) and summed."""
    from vqspeech.image.models import build_prior

    prior = build_prior(pcfg.model, 512, 1000).eval()
    labels = torch.zeros(n, dtype=torch.long)
    times = {}
    with torch.no_grad():
        for rows_so_far in (1, side):
            codes = torch.zeros(n, rows_so_far, side, dtype=torch.long)
            times[rows_so_far] = timeit(lambda c=codes: prior(c, labels), repeat=2)
    per_row = [times[1] + (times[side] - times[1]) * i / (side - 1) for i in range(side)]
    total = side * sum(per_row)
    return {"forward_1_row_s": round(times[1], 3), f"forward_{side}_rows_s": round(times[side], 3),
            "seconds": round(total), "hours": round(total / 3600, 2)}


def bench_image(quick: bool) -> list[dict]:
    """Image family: training images/s of the CIFAR10 recipe (forward + backward + Adam, fp32 CPU), PixelCNN
    sampling time at batch 64 for 8x8 maps (32x32: projected from timed forwards), the quantizer at ImageNet
    scale (N = 131072, K = 512)."""
    from vqspeech.image.kinds import KINDS
    from vqspeech.image.models import build_prior
    from vqspeech.verbs import load_recipe

    rows = []
    cfg = load_recipe("recipes/cifar10.yaml")
    kind = next(k for k in KINDS if k.name == cfg.task)
    model = kind.build(cfg, {"classes": [str(i) for i in range(10)], "image_size": 32}).train()
    opt = torch.optim.Adam(model.parameters(), 2e-4)
    batch = 8 if quick else 32
    x = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8)

    def step() -> None:
        out = model(x)
        opt.zero_grad()
        (out.nll.mean() / x[0].numel() + out.vq_loss).backward()  # the image-vqvae task's loss
        opt.step()

    t = timeit(step, repeat=1 if quick else 2)
    rows.append({"what": "train cifar10.yaml VQ-VAE", "batch": batch, "images_per_s": round(batch / t, 1)})
    print_row(rows[-1])
    pcfg = load_recipe("recipes/cifar10_prior.yaml")
    prior = build_prior(pcfg.model, 512, 10).eval()
    n = 64
    t0 = time.perf_counter()
    with torch.no_grad():
        prior.sample(n, (8, 8), torch.zeros(n, dtype=torch.long), generator=torch.Generator().manual_seed(0))
    rows.append({"what": "PixelCNN sample 8x8 (cifar10_prior.yaml)", "batch": n,
                 "seconds": round(time.perf_counter() - t0, 2)})
    print_row(rows[-1])
    if not quick:  # 32x32 (ImageNet latents): hours on this CPU, so timed per position and projected
        rows.append({"what": "PixelCNN sample 32x32 (imagenet_prior.yaml), projected", "batch": n,
                     **_pixelcnn_projection(load_recipe("recipes/imagenet_prior.yaml"), n, 32)})
        print_row(rows[-1])
    res = run_child("quant", [131072 if not quick else 16384, 64, 512, 8192, 1])
    rows.append({"what": "quantizer EMA fwd+bwd", "N": 131072 if not quick else 16384, "K": 512, **res})
    print_row(rows[-1])
    return rows


def bench_video_section(quick: bool) -> list[dict]:
    """Video family: maze/ViZDoom frames/s, frame VQ-VAE training frames/s, 10-frame rollout time."""
    from bench_video import bench_video

    return bench_video(quick)

