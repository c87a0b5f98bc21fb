"""The image family's command functions (the CLI parses options and calls these; errors are
:class:`vqspeech.errors.InputError` / :class:`CheckpointError` with one clear line)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.device import pick_device
from vqspeech.errors import InputError
from vqspeech.image.config import IMAGE_PRIOR, IMAGE_VAE, IMAGE_VQVAE, ImageMeta
from vqspeech.image.data import load_images
from vqspeech.image.eval import evaluate_vae, evaluate_vqvae, metrics_only, save_grid
from vqspeech.image.inference import decode_codes, resolve_labels, sample_codes
from vqspeech.io.atomic import atomic_write, write_json
from vqspeech.io.paths import output_is_file, require_inputs, require_parents, shown_path

HINT = "vqspeech train recipes/images_demo.yaml"


def _checkpoint(path: str | Path | None, kinds: tuple[str, ...], hint: str = HINT) -> Path:
    from vqspeech.io.runs import find_checkpoint

    return find_checkpoint(path, kinds, hint=hint)


def corpus_images(out: str | Path, *, seed: int = 0, train_per_class: int = 500, test_per_class: int = 100,
                  imagenet: bool = True, imagenet_train_per_class: int = 40,
                  imagenet_val_per_class: int = 10) -> dict[str, Any]:
    """``vqspeech corpus images OUT``: build the embedded patch corpus (CIFAR-10 and ImageNet layouts)."""
    from vqspeech.image.data.demo import build_image_corpus

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    return build_image_corpus(out, train_per_class=train_per_class, test_per_class=test_per_class,
                              imagenet=imagenet, imagenet_train_per_class=imagenet_train_per_class,
                              imagenet_val_per_class=imagenet_val_per_class, seed=seed)


def evaluate(input: str | Path, checkpoint: str | Path | None = None, *, prior: str | Path | None = None,
             vae: str | Path | None = None, json_path: str | Path | None = None, md_path: str | Path | None = None,
             out_dir: str | Path | None = None, device: str = "auto", max_images: int = 1000, seed: int = 0,
             samples: int = 16, valid_fraction: float = 0.1) -> dict[str, Any]:
    """``vqspeech evaluate INPUT``: bits/dim on the held-out images of ``INPUT`` (a CIFAR-10 folder, ImageNet
    root or class folders), PSNR, codes used; grids of reconstructions (and prior samples) in ``out_dir``.

    ``checkpoint``: an image VQ-VAE (or a VAE); ``prior``: its image-prior (adds the learned-prior bound);
    ``vae``: a continuous VAE evaluated on the same images (negative ELBO side by side).  Class folders are
    split as in training (``valid_fraction`` and ``seed`` must match the recipe's).
    """
    from vqspeech.registry import load_model

    require_inputs([input])
    require_parents([json_path, md_path])
    dev = pick_device(device)
    ckpt = _checkpoint(checkpoint, (IMAGE_VQVAE, IMAGE_VAE))
    model, meta = load_model(ckpt, expect=(IMAGE_VQVAE, IMAGE_VAE))
    im = ImageMeta.of(meta, str(ckpt))
    held = load_images(input, "test", image_size=im.image_size, seed=seed, valid_fraction=valid_fraction)
    if len(held) == 0:
        raise InputError(f"{input}: no held-out images")
    idx = np.unique(np.linspace(0, len(held) - 1, min(len(held), max(1, max_images))).round().astype(np.int64))
    x, y = held.images(idx), held.labels[idx]
    out_dir = Path(out_dir) if out_dir else None
    report: dict[str, Any] = {"input": shown_path(input), "images": len(x)}
    p_model = None
    if meta["kind"] == IMAGE_VQVAE:
        if prior is not None:
            p_model, p_meta = load_model(prior, expect=IMAGE_PRIOR)
            pm = ImageMeta.of(p_meta, str(prior))
            if pm.num_codes != im.num_codes:
                raise InputError(f"{prior}: a prior over {pm.num_codes} codes, but {ckpt} has {im.num_codes}")
        res = evaluate_vqvae(model, x, y, p_model, device=dev)
        report["vqvae"] = {"checkpoint": shown_path(ckpt), **metrics_only(res)}
    else:
        res = evaluate_vae(model, x, device=dev, seed=seed)
        report["vae"] = {"checkpoint": shown_path(ckpt), **metrics_only(res)}
    if vae is not None:
        v_model, _ = load_model(vae, expect=IMAGE_VAE)
        report["vae"] = {"checkpoint": shown_path(vae), **metrics_only(evaluate_vae(v_model, x, device=dev, seed=seed))}
    if out_dir is not None:
        k = min(32, len(x))
        report["reconstructions"] = str(save_grid(np.concatenate([x[:k], res["reconstructions"][:k]]),
                                                  out_dir / "reconstructions.png"))
        if p_model is not None and samples > 0:
            lab = resolve_labels(None, im.classes, samples, p_model.num_classes > 0)
            codes = sample_codes(p_model, samples, model.latent_shape, lab, seed=seed, device=dev)
            report["samples"] = str(save_grid(decode_codes(model, codes, device=dev), out_dir / "samples.png"))
    if json_path is not None:
        write_json(Path(json_path), report)
    if md_path is not None:
        text = markdown(report)
        atomic_write(Path(md_path), lambda tmp: tmp.write_text(text))
    return report


def encode(inputs: list[str | Path], out: str | Path, *, checkpoint: str | Path | None = None, fmt: str = "parquet",
           split: str | None = None, batch_size: int = 64, num_shards: int | None = None,
           shard_index: int | None = None, shard_images: int = 4096, device: str = "auto") -> dict[str, int]:
    """``vqspeech encode IMAGES -o OUT -c VQVAE``: a CIFAR-10 folder, an ImageNet root or class folders (``split``
    train/test/all, default all) -> a token dataset with ``codes`` ``[h, w]`` (``shape``), ``label`` and ``path``
    per image.  Ids are the loaders' stable ids (``data_batch_1:17``, file paths); a re-run skips written ids."""
    import pyarrow as pa

    from vqspeech import progress
    from vqspeech.image.inference import encode_images
    from vqspeech.io.atomic import sha256_file
    from vqspeech.io.tokens import TokenWriter, prepare_output, write_token_meta
    from vqspeech.registry import load_model

    require_inputs(inputs)
    if num_shards is not None and (shard_index is None or not 0 <= shard_index < num_shards):
        raise InputError(f"--shard-index must be in [0, {num_shards})")
    ckpt = _checkpoint(checkpoint, (IMAGE_VQVAE,))
    model, meta = load_model(ckpt, expect=IMAGE_VQVAE)
    im = ImageMeta.of(meta, str(ckpt))
    out = prepare_output(out)
    write_token_meta(out, {"kind": IMAGE_VQVAE, "format": fmt, "model_path": str(ckpt),
                           "model_sha256": sha256_file(ckpt),
                           **ImageMeta(im.classes, im.image_size, im.num_codes).to_dict()})
    writer = TokenWriter(out, fmt, rank=shard_index or 0, columns=[("label", pa.int64()), ("path", pa.string())])
    done = writer.done_ids()
    dev = pick_device(device)
    written = skipped = 0
    for item in inputs:
        images = load_images(item, split or "all", image_size=im.image_size)
        todo = [i for i in range(len(images)) if f"{item}:{images.ids[i]}" not in done]
        if num_shards:
            todo = todo[shard_index::num_shards]
        skipped += len(images) - len(todo)
        for s in range(0, len(todo), shard_images):
            idx = np.asarray(todo[s : s + shard_images], np.int64)
            codes = encode_images(model, images.images(idx), batch_size=batch_size, device=dev)
            for i, c in zip(idx.tolist(), codes, strict=True):
                writer.add({"id": f"{item}:{images.ids[i]}", "codes": c, "label": int(images.labels[i]),
                            "path": str(images.ids[i])})
            writer.flush()
            written += len(idx)
    progress.say(f"encoded {written} image(s), {skipped} already present -> {out}")
    return {"written": written, "skipped": skipped, "failed": 0}


def decode(tokens: str | Path, out: str | Path, *, checkpoint: str | Path | None = None,
           device: str = "auto") -> list[Path]:
    """``vqspeech decode TOKENS -o OUT -c VQVAE``: image code maps -> one PNG per item in ``OUT/`` (or ``OUT.png``
    for a single item; any other extension is refused rather than made a directory)."""
    from PIL import Image

    from vqspeech import progress
    from vqspeech.image.inference import decode_codes
    from vqspeech.io.tokens import read_tokens
    from vqspeech.registry import load_model

    require_inputs([tokens])
    out = Path(out)
    single = output_is_file(out, (".png",), "PNG files")
    if not out.parent.exists():
        raise InputError(f"{out}: directory {out.parent} does not exist")
    model, _ = load_model(_checkpoint(checkpoint, (IMAGE_VQVAE,)), expect=IMAGE_VQVAE)
    rows = read_tokens(tokens)
    if not rows:
        raise InputError(f"{tokens}: contains no items")
    if single and len(rows) > 1:
        raise InputError(f"{tokens}: holds {len(rows)} items; give a directory as -o, not a .png file")
    for r in rows:
        if len(r["shape"]) != 2:
            raise InputError(f"{tokens}: item {r['id']!r} has codes of shape {r['shape']}, not an image code map")
    codes = np.stack([np.asarray(r["codes"], np.int64).reshape(r["shape"]) for r in rows])
    images = decode_codes(model, codes, device=pick_device(device))
    if not single:
        out.mkdir(exist_ok=True)
    paths = [out] if single else [out / (re.sub(r"[^\w.-]", "_", r["id"]) + ".png") for r in rows]
    for p, img in zip(paths, images, strict=True):
        Image.fromarray(img).save(p)
    progress.say(f"wrote {len(paths)} PNG file(s) -> {out}")
    return paths


def markdown(report: dict[str, Any]) -> str:
    """The bits/dim table of an :func:`evaluate` report."""
    rows = ["| model | bits/dim | reconstruction term | latent term | PSNR (dB) | codes used |",
            "|---|---|---|---|---|---|"]
    vq = report.get("vqvae")
    if vq and "bits_per_dim_uniform" in vq:
        rows.append(f"| VQ-VAE, uniform prior | {vq['bits_per_dim_uniform']:.3f} | {vq['recon_bits_per_dim']:.3f} | "
                    f"{vq['uniform_prior_bits_per_dim']:.3f} | {vq['psnr']:.2f} | {vq['codes_used']} |")
        if "bits_per_dim_prior" in vq:
            rows.append(f"| VQ-VAE, PixelCNN prior | {vq['bits_per_dim_prior']:.3f} | {vq['recon_bits_per_dim']:.3f} "
                        f"| {vq['prior_bits_per_dim']:.3f} | {vq['psnr']:.2f} | {vq['codes_used']} |")
    v = report.get("vae")
    if v and "neg_elbo_bits_per_dim" in v:
        rows.append(f"| continuous VAE (negative ELBO) | {v['neg_elbo_bits_per_dim']:.3f} | "
                    f"{v['recon_bits_per_dim']:.3f} | {v['kl_bits_per_dim']:.3f} (KL) | {v['psnr']:.2f} | - |")
    return f"Held-out images: {report['images']} from {report['input']}\n\n" + "\n".join(rows) + "\n"


def sample(out: str | Path, checkpoint: str | Path | None = None, *, vqvae: str | Path | None = None, n: int = 16,
           label: str | None = None, seed: int = 0, temperature: float = 1.0, device: str = "auto",
           ncol: int = 8) -> Path:
    """``vqspeech sample -o OUT.png``: ``n`` code maps from the prior (``--label`` a class name or index; none:
    cycle through the classes), decoded by the VQ-VAE (``vqvae``, else the one recorded in the prior), written
    as one PNG grid; the codes go beside it as ``OUT.npz``."""
    from vqspeech.io.atomic import sha256_file
    from vqspeech.registry import load_model

    out = Path(out)
    if out.suffix.lower() not in (".png", ".npz"):
        raise InputError(f"{out}: sample writes a PNG grid and its codes beside it; give -o NAME.png "
                         "(NAME.npz is written next to it)")
    require_parents([out])
    if n < 1:
        raise InputError(f"-n must be >= 1, not {n}")
    if ncol < 1:
        raise InputError(f"--ncol must be >= 1, not {ncol}")
    if temperature < 0:
        raise InputError(f"--temperature must be >= 0, not {temperature}")
    dev = pick_device(device)
    pc = _checkpoint(checkpoint, (IMAGE_PRIOR,), hint="vqspeech train recipes/images_demo_prior.yaml")
    prior, p_meta = load_model(pc, expect=IMAGE_PRIOR)
    pmeta = ImageMeta.of(p_meta, str(pc))
    vq_path = Path(vqvae) if vqvae is not None else Path(pmeta.vqvae_path)
    if not vq_path.exists():
        raise InputError(f"{vq_path}: the prior's VQ-VAE is not there; pass --vqvae")
    vq, v_meta = load_model(vq_path, expect=IMAGE_VQVAE)
    vmeta = ImageMeta.of(v_meta, str(vq_path))
    if vqvae is None and sha256_file(vq_path) != pmeta.vqvae_sha256:
        raise InputError(f"{vq_path}: not the VQ-VAE this prior was trained on (sha256 differs); pass --vqvae")
    if vmeta.num_codes != pmeta.num_codes:
        raise InputError(f"{vq_path}: has {vmeta.num_codes} codes but the prior models {pmeta.num_codes}")
    labels = resolve_labels(label, pmeta.classes, n, prior.num_classes > 0)
    codes = sample_codes(prior, n, pmeta.latent_shape, labels, temperature=temperature, seed=seed, device=dev)
    images = decode_codes(vq, codes, device=dev)
    if out.suffix.lower() != ".png":  # NAME.npz given: the grid goes beside it; NAME.PNG is kept as given
        out = out.with_suffix(".png")
    save_grid(images, out, ncol=ncol)
    np.savez(out.with_suffix(".npz"), codes=codes.astype(np.uint16),
             labels=(labels.numpy() if labels is not None else np.zeros(0, np.int64)), images=images)
    return out
