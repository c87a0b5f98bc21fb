"""The video family's command functions (the CLI parses options and calls these; errors are
:class:`vqspeech.errors.InputError` / :class:`CheckpointError` with one clear line)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech import progress
from vqspeech.device import pick_device
from vqspeech.errors import InputError
from vqspeech.io.atomic import atomic_write, write_json
from vqspeech.io.paths import output_is_file, require_inputs, require_parents, shown_path
from vqspeech.video.config import VIDEO_GLOBAL, VIDEO_PRIOR, VIDEO_VQVAE, VideoMeta
from vqspeech.video.data.episodes import EpisodeSet, list_episodes, parse_actions, read_episode, read_meta
from vqspeech.video.inference import decode_frames, encode_frames, rollout

HINT = "vqspeech train recipes/maze.yaml"
PRIOR_HINT = "vqspeech train recipes/maze_video.yaml"


def _checkpoint(path: str | Path | None, kinds: tuple[str, ...], hint: str = HINT) -> Path:
    from vqspeech.io.runs import find_checkpoint

    return find_checkpoint(path, kinds, hint=hint)


SAMPLE_SUFFIXES = (".gif", ".png", ".npz")


def sample_base(out: str | Path, writes: tuple[str, ...] = SAMPLE_SUFFIXES) -> Path:
    """``-o NAME.gif`` (or one of ``writes``) of ``sample`` -> ``NAME``, the stem its files ``NAME.gif``,
    ``NAME.png`` and ``NAME.npz`` share (the file the user named is one of them).  Any other name (another
    extension, none, an existing directory) and a missing folder are an :class:`InputError` before any work."""
    out = Path(out)
    what = ", ".join(f"NAME{s}" for s in writes)
    if out.suffix.lower() not in writes or out.is_dir():
        raise InputError(f"{out}: sample writes {what}; give -o NAME{writes[0]} (the others go beside it)")
    require_parents([out])
    return out.with_name(out.stem)


def _named(base: Path, suffix: str) -> Path:
    """``base`` + ``suffix`` (``a.b`` + ``.gif`` -> ``a.b.gif``, which ``with_suffix`` would make ``a.gif``)."""
    return base.with_name(base.name + suffix)


def _decode_output(out: Path) -> bool:
    """``-o`` of ``decode``: ``True`` for one item (``NAME.gif`` or ``NAME.npz``), ``False`` for a directory
    (created if its parent exists); a missing parent folder is an :class:`InputError`."""
    single = output_is_file(out, (".gif", ".npz"), "a GIF and an .npz per item")
    if not out.parent.exists():
        raise InputError(f"{out}: directory {out.parent} does not exist; create it first")
    return single


def corpus_maze(out: str | Path, *, train: int = 200, test: int = 20, length: int = 100, size: int = 84,
                seed: int = 0, mazes: int = 4, cells: int = 6, explore: float = 0.25) -> dict[str, Any]:
    """``vqspeech corpus maze OUT [--train N] [--test N] [--length T] [--size 84|64] [--seed S] [--mazes M]
    [--cells C] [--explore P]``: render a seeded first-person maze corpus (see
    :func:`vqspeech.video.data.corpus.build_maze_corpus`)."""
    from vqspeech.video.data.corpus import build_maze_corpus

    return build_maze_corpus(out, train=train, test=test, length=length, size=size, seed=seed, mazes=mazes,
                             cells=cells, explore=explore)


def corpus_vizdoom(out: str | Path, *, train: int = 100, test: int = 10, length: int = 100, size: int = 84,
                   seed: int = 0, scenario: str = "my_way_home") -> dict[str, Any]:
    """``vqspeech corpus vizdoom OUT [--train N] [--test N] [--length T] [--size S] [--seed S] [--scenario S]``:
    record
    ViZDoom/Freedoom episodes with a scripted agent (the ``video`` extra)."""
    try:
        from vqspeech.video.data.vizdoom import build_vizdoom_corpus
    except ImportError as exc:
        raise InputError(f"corpus vizdoom needs the 'video' extra: pip install 'vqspeech[video]' ({exc})") from None
    return build_vizdoom_corpus(out, train=train, test=test, length=length, size=size, seed=seed,
                                scenario=scenario)


def expand_episodes(inputs: list[str | Path], split: str | None = None) -> list[tuple[str, Path]]:
    """Episode files from ``inputs`` (``.npz`` files, corpus roots, split or shard folders) -> ``(id, path)``.
    A corpus root gives its ``split`` (default: both) with ids ``<split>/<shard>/<episode>``."""
    out: list[tuple[str, Path]] = []
    for item in inputs:
        p = Path(item)
        if p.is_file():
            out.append((p.stem, p))
        elif p.is_dir():
            splits = [s for s in ((split,) if split else ("train", "test")) if (p / s).is_dir()]
            if splits:
                for s in splits:
                    out += [(f"{s}/{f.relative_to(p / s).with_suffix('').as_posix()}", f)
                            for f in list_episodes(p, s)]
            else:
                out += [(f.relative_to(p).with_suffix("").as_posix(), f) for f in sorted(p.rglob("*.npz"))]
        else:
            raise InputError(f"{p}: no such episode file or folder")
    if not out:
        raise InputError(f"{', '.join(map(str, inputs))}: no episode .npz files")
    return out


def _num_actions_of(path: Path) -> int | None:
    """The action count from the ``_meta.json`` of the corpus an episode file belongs to (if any)."""
    for parent in path.parents:
        if (parent / "_meta.json").is_file():
            return len(read_meta(parent).actions) or None
    return None


def encode(inputs: list[str | Path], out: str | Path, *, checkpoint: str | Path | None = None,
           fmt: str = "parquet", split: str | None = None, batch_size: int = 64, num_shards: int | None = None,
           shard_index: int | None = None, shard_episodes: int = 64, device: str = "auto") -> dict[str, int]:
    """``vqspeech encode EPISODES... -o OUT [-c CKPT] [--format parquet|units|npz] [--split train|test]``: episodes
    -> a token dataset with ``codes`` ``[T, h, w]`` (``shape``), ``actions`` and ``path`` per episode.  Resumable;
    bad episodes are listed in ``_errors.jsonl`` (exit 1 if any; a lone bad input is one error)."""
    import pyarrow as pa

    from vqspeech.io.atomic import sha256_file
    from vqspeech.io.tokens import TokenWriter, finish_encode, prepare_output, write_token_meta
    from vqspeech.registry import load_model

    require_inputs(inputs)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if num_shards is None:
        num_shards, shard_index = world, int(os.environ.get("RANK", "0"))
    if shard_index is None or not 0 <= shard_index < num_shards:
        raise InputError(f"--shard-index must be in [0, {num_shards}) when --num-shards is {num_shards}")
    ckpt = _checkpoint(checkpoint, (VIDEO_VQVAE,))
    model, raw = load_model(ckpt, expect=VIDEO_VQVAE)
    meta = VideoMeta.of(raw, str(ckpt))
    dev = pick_device(device)
    eps = expand_episodes(inputs, split)[shard_index::num_shards]
    out = prepare_output(out)
    write_token_meta(out, {"kind": VIDEO_VQVAE, "format": fmt, "model_path": str(ckpt),
                           "model_sha256": sha256_file(ckpt),
                           **VideoMeta(meta.actions, meta.frame_size, meta.num_codes, meta.latent_shape).to_dict()})
    writer = TokenWriter(out, fmt, rank=shard_index, columns=[("actions", pa.list_(pa.int64())),
                                                              ("path", pa.string())])
    done = writer.done_ids()
    todo = [(i, p) for i, p in eps if i not in done]
    errors: list[dict[str, str]] = []
    written = 0
    with progress.bar("encode") as update:
        for n, (eid, path) in enumerate(todo):
            try:
                ep = read_episode(path, num_actions=_num_actions_of(path), frame_size=meta.frame_size)
            except InputError as exc:
                errors.append({"id": eid, "path": str(path), "error": str(exc)})
                if len(eps) > 1:
                    progress.warn(f"skipped: {exc}")
                continue
            codes = encode_frames(model, ep.video, batch_size=batch_size, device=dev)
            writer.add({"id": eid, "codes": codes, "actions": ep.actions.tolist(), "path": str(path)})
            written += 1
            if written % shard_episodes == 0:
                writer.flush()
            if update:
                update(n + 1, len(todo))
    writer.flush()
    return finish_encode(out, written, len(eps) - len(todo), errors, "episode")


def decode(tokens: str | Path, out: str | Path, *, checkpoint: str | Path | None = None, fps: float = 8.0,
           device: str = "auto") -> list[Path]:
    """``vqspeech decode TOKENS -o OUT [-c CKPT] [--fps F]``: code maps ``[T, h, w]`` (a token dataset or one
    ``.npz`` with ``codes``) -> ``OUT.gif`` + ``OUT.npz`` (``video``, ``actions``) for one item, else
    ``OUT/<id>.gif`` + ``.npz`` per item (``OUT`` a directory: any other extension is refused; the folder ``-o``
    is in must exist, as for speech and images)."""
    from vqspeech.io.tokens import read_tokens
    from vqspeech.registry import load_model
    from vqspeech.video.eval import save_gif

    require_inputs([tokens])
    out = Path(out)
    single = _decode_output(out)
    ckpt = _checkpoint(checkpoint, (VIDEO_VQVAE,))
    model, meta = load_model(ckpt, expect=VIDEO_VQVAE)
    rows = read_tokens(tokens)
    if not rows:
        raise InputError(f"{tokens}: no items to decode")
    if single and len(rows) > 1:
        raise InputError(f"{tokens}: holds {len(rows)} items; give a directory as -o, not {out.name}")
    written = []
    for r in rows:
        shape = list(r.get("shape") or [])
        if len(shape) != 3:
            raise InputError(f"{tokens}: item {r['id']!r} has codes of shape {shape}, not [T, h, w] (a video model's "
                             "codes)")
        codes = np.asarray(r["codes"], np.int64).reshape(shape)
        video = decode_frames(model, codes, device=pick_device(device))
        base = out.with_name(out.stem) if single else out / str(r["id"]).replace("/", "_")
        if not single:
            out.mkdir(exist_ok=True)
        save_gif(video, _named(base, ".gif"), fps=fps)
        actions = np.asarray(r.get("actions", np.zeros(0)), np.int64)
        np.savez(_named(base, ".npz"), video=video, actions=actions, codes=codes.astype(np.uint16))
        written.append(_named(base, ".gif"))
    progress.say(f"decoded {len(written)} item(s) -> {out}")
    return written


def _models(checkpoint: str | Path | None, vqvae: str | Path | None, kind: str = VIDEO_PRIOR
            ) -> tuple[Any, VideoMeta, Any, VideoMeta]:
    """``(prior, prior meta, frame VQ-VAE, its meta)``: the VQ-VAE is ``vqvae`` or the one the prior (or the
    second stage, ``kind``) records (its sha256 checked)."""
    from vqspeech.io.atomic import sha256_file
    from vqspeech.registry import load_model

    pc = _checkpoint(checkpoint, (kind,), hint=PRIOR_HINT)
    prior, raw = load_model(pc, expect=kind)
    pmeta = VideoMeta.of(raw, str(pc))
    vq_path = Path(vqvae) if vqvae is not None else Path(pmeta.vqvae_path)
    if not vq_path.exists():
        raise InputError(f"{vq_path}: the prior's VQ-VAE is not there; pass --vqvae")
    vq, raw = load_model(vq_path, expect=VIDEO_VQVAE)
    vmeta = VideoMeta.of(raw, str(vq_path))
    if vqvae is None and sha256_file(vq_path) != pmeta.vqvae_sha256:
        raise InputError(f"{vq_path}: not the VQ-VAE this prior was trained on (sha256 differs); pass --vqvae")
    want = pmeta.frame_num_codes if kind == VIDEO_GLOBAL else pmeta.num_codes
    if vmeta.num_codes != want:
        raise InputError(f"{vq_path}: has {vmeta.num_codes} codes but {pc} models {want}")
    return prior, pmeta, vq, vmeta


def sample_global(out: str | Path, checkpoint: str | Path | None = None, *, vqvae: str | Path | None = None,
                  n: int = 16, seed: int = 0, temperature: float = 1.0, device: str = "auto",
                  ncol: int = 8) -> Path:
    """``vqspeech sample -o OUT.png -c GLOBAL [-n 16]``: frames from ``n`` uniformly drawn triples of global
    latents (27 bits each), their code maps drawn by the PixelCNN decoder, decoded by the frame VQ-VAE; a PNG
    grid plus ``OUT.npz`` (``latents``, ``codes``, ``frames``)."""
    import torch

    from vqspeech.video.eval import save_strip

    if n < 1:
        raise InputError(f"-n must be >= 1, not {n}")
    base = sample_base(out, (".png", ".npz"))
    dev = pick_device(device)
    model, gmeta, vq, _ = _models(checkpoint, vqvae, kind=VIDEO_GLOBAL)
    gen = torch.Generator().manual_seed(seed)
    latents = torch.randint(0, model.num_codes, (n, model.num_latents), generator=gen)
    model.eval().to(dev)
    codes = model.decode(latents.to(dev), temperature=temperature, generator=gen).cpu().numpy()
    frames = decode_frames(vq, codes, device=dev)
    rows = [frames[i : i + ncol] for i in range(0, n, ncol)]
    if len(rows) > 1 and len(rows[-1]) < ncol:
        rows[-1] = np.concatenate([rows[-1], np.full((ncol - len(rows[-1]), *frames.shape[1:]), 255, np.uint8)])
    save_strip(rows, _named(base, ".png"), scale=2)
    np.savez(_named(base, ".npz"), latents=latents.numpy(), codes=codes.astype(np.uint16), frames=frames)
    progress.say(f"sampled {n} frame(s) from {model.num_latents} latents each -> {_named(base, '.png')}")
    return _named(base, ".png")


def sample(out: str | Path, checkpoint: str | Path | None = None, *, context: str | Path | None = None,
           vqvae: str | Path | None = None, actions: str | None = None, actions_from: bool = False,
           context_frames: int = 6,
           steps: int | None = None, start: int = 0, n: int = 1, seed: int = 0, temperature: float | None = None,
           fps: float = 4.0, device: str = "auto") -> Path:
    """``vqspeech sample -o OUT.gif -c PRIOR --context EPISODE.npz (--actions forward,... | --actions-from)
    [--context-frames 6] [--steps N] [--start T] [-n N] [--temperature T] [--seed S] [--vqvae CKPT]``.

    Takes frames ``start .. start + context_frames - 1`` of the episode, then generates one frame per action
    purely in latent space (``--actions``: names or indices, ``name*k`` repeats; ``--actions-from``: the
    episode's own next actions, ``steps`` of them, default 10) and decodes after.  Writes ``OUT.gif`` (context then
    generated frames; ``n`` samples side by side), ``OUT.png`` (a strip per sample: the context frames then
    the generated ones, with the true continuation above when the actions are the episode's own; the paper's
    Figure 7) and ``OUT.npz`` (``codes``, ``video``, ``actions``).  ``-o`` names one of ``OUT.gif``, ``OUT.png``,
    ``OUT.npz``; any other name is refused, as is a folder that does not exist.  Temperature 0 (the rollouts'
    default) takes the most likely code at each position; a global-latent prior (``-c`` of kind video-global)
    samples at temperature 1 unless told otherwise.
    """
    from vqspeech.io.checkpoint import read_meta
    from vqspeech.video.eval import save_gif, save_strip

    require_inputs([context])
    if checkpoint is not None and read_meta(checkpoint).get("kind") == VIDEO_GLOBAL:
        return sample_global(out, checkpoint, vqvae=vqvae, n=n, seed=seed,
                             temperature=1.0 if temperature is None else temperature,
                             device=device)
    if context is None:
        raise InputError("sample: give --context EPISODE.npz (its first frames start the rollout)")
    if n < 1:
        raise InputError(f"-n must be >= 1, not {n}")
    temperature = 0.0 if temperature is None else temperature
    if temperature < 0:
        raise InputError(f"--temperature must be >= 0, not {temperature}")
    if context_frames < 1:
        raise InputError(f"--context-frames must be >= 1, not {context_frames}")
    if (actions is None) == (not actions_from):
        raise InputError("sample: give exactly one of --actions forward,... or --actions-from (the episode's own)")
    base = sample_base(out)
    dev = pick_device(device)
    prior, pmeta, vq, vmeta = _models(checkpoint, vqvae)
    ep = read_episode(context, num_actions=len(pmeta.actions), frame_size=pmeta.frame_size)
    if start < 0 or start + context_frames > len(ep):
        raise InputError(f"{context}: has {len(ep)} frames; --start {start} + --context-frames {context_frames} "
                         "does not fit")
    names = list(pmeta.actions)
    ctx_actions = ep.actions[start : start + context_frames - 1]
    truth = None
    if actions is not None:
        gen_actions = parse_actions(actions, names)
        if steps is not None:
            gen_actions = gen_actions[:steps]
    else:
        k = 10 if steps is None else steps
        gen_actions = ep.actions[start + context_frames - 1 : start + context_frames - 1 + k]
        truth = ep.video[start + context_frames : start + context_frames + len(gen_actions)]
        if len(gen_actions) < k or len(truth) < len(gen_actions):
            raise InputError(f"{context}: has {len(ep)} frames, too few for {k} steps after frame "
                             f"{start + context_frames - 1} with --actions-from")
    ctx_frames = ep.video[start : start + context_frames]
    ctx_codes = encode_frames(vq, ctx_frames, device=dev)
    all_actions = np.concatenate([ctx_actions, gen_actions])
    codes = np.concatenate([rollout(prior, ctx_codes[None], all_actions, len(gen_actions), temperature=temperature,
                                    seed=seed + i, device=dev) for i in range(n)])
    h = vq.latent_shape
    video = decode_frames(vq, codes.reshape(-1, *h), device=dev).reshape(n, len(gen_actions), *ctx_frames.shape[1:])
    seq = np.concatenate([np.repeat(ctx_frames[None], n, 0), video], 1)  # [n, C + S, H, W, 3]
    save_gif(np.concatenate(list(seq), 2), _named(base, ".gif"), fps=fps, scale=2)
    rows = [np.concatenate([ctx_frames, r]) for r in ([truth] if truth is not None else []) + list(video)]
    save_strip(rows, _named(base, ".png"), scale=2)
    np.savez(_named(base, ".npz"), codes=codes.astype(np.uint16), video=video, context=ctx_frames,
             actions=gen_actions, context_actions=ctx_actions, action_names=np.array(names))
    progress.say(f"sampled {n} x {len(gen_actions)} frame(s) after {context_frames} context frames -> "
                 f"{_named(base, '.gif')}, {_named(base, '.png')}")
    return _named(base, ".gif")


def evaluate(input: str | Path, checkpoint: str | Path | None = None, *, vqvae: str | Path | None = None,
             json_path: str | Path | None = None, md_path: str | Path | None = None,
             out_dir: str | Path | None = None, split: str = "test", context: int = 6, steps: int = 10,
             max_windows: int = 16, temperature: float = 0.0, seed: int = 0, device: str = "auto") -> dict[str, Any]:
    """``vqspeech evaluate EPISODES [-c PRIOR|VQVAE] [--vqvae CKPT] [--json F] [--md F] [--out-dir D]
    [--split test] [--context 6] [--steps 10] [--max-windows 16] [--temperature 0]``: PSNR and SSIM per predicted
    step ``1..steps`` on held-out windows of ``context + steps`` frames: autoregressive rollouts and
    teacher-forced one-step predictions with the true actions, rollouts with the actions withheld, next to the
    decoder ceiling and copy-last-frame.  ``-c`` a frame VQ-VAE: only the ceiling and copy-last.  ``out_dir``:
    GIF and PNG strips of the first windows (truth, ceiling, rollout, no actions, copy-last).
    """
    from vqspeech.io.checkpoint import read_meta
    from vqspeech.registry import load_model
    from vqspeech.video.eval import evaluate_rollouts, markdown, save_gif, save_strip, windows

    require_inputs([input])
    require_parents([json_path, md_path, out_dir])
    if context < 1 or steps < 1:
        raise InputError("--context and --steps must be >= 1")
    dev = pick_device(device)
    ckpt = _checkpoint(checkpoint, (VIDEO_PRIOR, VIDEO_VQVAE), hint=PRIOR_HINT)
    prior = None
    if read_meta(ckpt).get("kind") == VIDEO_PRIOR:
        prior, pmeta, vq, vmeta = _models(ckpt, vqvae)
    else:
        vq, raw = load_model(ckpt, expect=VIDEO_VQVAE)
        vmeta = VideoMeta.of(raw, str(ckpt))
    size = vmeta.frame_size
    p = Path(input)
    if p.is_dir() and (p / split).is_dir():
        es = EpisodeSet(p, split)
        eps = [es.load(i) for i in range(len(es))]
    else:
        eps = [read_episode(f, frame_size=size) for _, f in expand_episodes([p])]
    for e in eps:
        if e.video.shape[1] != size:
            raise InputError(f"{e.path}: frames are {e.video.shape[1]}x{e.video.shape[2]} but the model takes "
                             f"{size}x{size}")
    if prior is not None and max(int(e.actions.max()) for e in eps) >= prior.num_actions:
        raise InputError(f"{input}: actions beyond the prior's {prior.num_actions}")
    video, acts = windows([e.video for e in eps], [e.actions for e in eps], context + steps, max_windows)
    if len(video) == 0:
        raise InputError(f"{input}: no episode has {context + steps} frames (--context {context} + --steps {steps})")
    res = evaluate_rollouts(vq, prior, video, acts, context=context, steps=steps, temperature=temperature,
                            seed=seed, device=dev)
    report: dict[str, Any] = {"input": shown_path(input), "checkpoint": shown_path(ckpt), "windows": res["windows"],
                              "context": context, "steps": steps, "temperature": temperature,
                              "psnr": res["psnr"], "ssim": res["ssim"]}
    if out_dir is not None:
        od = Path(out_dir)
        for i in range(min(4, len(video))):
            rows = [res["truth"][i]] + [res["frames"][m][i] for m in res["frames"]]
            report.setdefault("strips", []).append(str(save_strip(rows, od / f"window{i}.png", scale=2)))
            save_gif(np.concatenate([np.concatenate([video[i, :context], r], 0) for r in rows], 2),
                     od / f"window{i}.gif", fps=4, scale=2)
        report["strip_rows"] = ["truth", *res["frames"]]
    if json_path is not None:
        write_json(Path(json_path), report)
    if md_path is not None:
        text = markdown(report)
        atomic_write(Path(md_path), lambda tmp: tmp.write_text(text))
    progress.say(markdown(report))
    return report


__all__ = ["corpus_maze", "corpus_vizdoom", "encode", "decode", "sample", "sample_global", "evaluate",
           "expand_episodes"]
