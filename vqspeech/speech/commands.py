"""The speech family's commands (the CLI calls one function per command; commands never call each other).

encode (audio -> token dataset), decode (tokens -> wavs), convert (voice conversion), sample (prior -> codes ->
audio), phoneme-eval, speakers, corpus demo.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqspeech import progress
from vqspeech.device import pick_device
from vqspeech.errors import AudioError, CheckpointError, InputError
from vqspeech.io.atomic import atomic_write, sha256_file, write_json
from vqspeech.io.checkpoint import read_meta
from vqspeech.io.paths import output_is_file, require_inputs, require_parents, shown_path
from vqspeech.io.runs import find_checkpoint
from vqspeech.io.shipped import file_ref, resolve_ref
from vqspeech.io.tokens import (
    TokenWriter,
    finish_encode,
    is_token_dataset,
    prepare_output,
    read_token_meta,
    read_tokens,
    write_token_meta,
)
from vqspeech.registry import load_model
from vqspeech.speech import codec
from vqspeech.speech.config import SPEECH_PRIOR, SPEECH_VQVAE, SpeechMeta
from vqspeech.speech.data.audio import audio_seconds, load_audio, save_wav, stream_audio, trim_silence
from vqspeech.speech.data.corpora import expand_inputs
from vqspeech.speech.inference import encode_audio, encode_stream, load_vqvae, synthesize

PRIOR_HINT = "vqspeech train recipes/demo_prior.yaml"
_VQS_HINT = f"; a {codec.SUFFIX} codec file is made from audio: `vqspeech encode IN.wav -o OUT{codec.SUFFIX}`"


def token_columns() -> list[tuple[str, Any]]:
    """The speech columns of a token dataset (besides id, codes, shape)."""
    import pyarrow as pa

    return [("speaker", pa.string()), ("path", pa.string()), ("num_samples", pa.int64()),
            ("trim_offset", pa.int64())]


def _check_output(out: Path, single: bool) -> None:
    """Refuse an output whose directory is missing (before any work is done)."""
    parent = out.parent
    if single and not parent.exists():
        raise InputError(f"{out}: directory {parent} does not exist; create it first")
    if not single and not parent.exists():
        raise InputError(f"{out}: parent directory {parent} does not exist")


STREAM_SECONDS = 600  # files longer than this are encoded as they are read (memory independent of length)


def _check_length(path: str | Path, n: int, hop: int) -> None:
    if n < hop:
        raise AudioError(f"{path}: shorter than one code frame ({n} < {hop} samples)")


def encode(
    inputs: list[str | Path], out: str | Path, *, checkpoint: str | Path | None = None, fmt: str = "parquet",
    batch_size: int = 16, num_shards: int | None = None, shard_index: int | None = None,
    shard_utterances: int = 256, chunk_frames: int = 4096, device: str = "cpu", trim: bool = False,
    on_progress: Callable[[int, int], None] | None = None, prior: str | Path | None = None,
) -> dict[str, int]:
    """Encode ``inputs`` into the token dataset ``out``.  Returns counts ``{"written", "skipped", "failed"}``.
    An ``out`` ending in ``.vqs`` is the codec instead (one input; ``prior`` drives its entropy coder).

    Raises :class:`InputError` when every input failed, :class:`VQSpeechError` (exit 1) when some did.
    """
    require_inputs(inputs)
    if Path(out).suffix.lower() == codec.SUFFIX:
        if len(inputs) != 1:
            raise InputError(f"{out}: a {codec.SUFFIX} file holds one utterance; give one input, not {len(inputs)}")
        codec.encode_file(inputs[0], out, checkpoint=checkpoint, prior=prior, batch_size=batch_size, device=device)
        return {"written": 1, "skipped": 0, "failed": 0}
    for item in inputs:
        if codec.is_vqs(item):
            raise InputError(f"{item}: is a {codec.SUFFIX} codec file, not audio; decode it with `vqspeech decode`")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if num_shards is None:
        num_shards, shard_index = world, int(os.environ.get("RANK", "0"))
    if shard_index is None or not 0 <= shard_index < num_shards:
        raise InputError(f"--shard-index must be in [0, {num_shards}) when --num-shards is {num_shards}")
    ckpt = find_checkpoint(checkpoint, (SPEECH_VQVAE,))
    model, meta = load_vqvae(ckpt)
    dev = pick_device(device)
    model.to(dev)
    utts = expand_inputs(inputs)[shard_index::num_shards]
    out = prepare_output(out)
    sr, hop = meta.sample_rate, meta.hop_length
    write_token_meta(out, {"kind": SPEECH_VQVAE, "format": fmt, "model_path": file_ref(ckpt),
                           "model_sha256": sha256_file(ckpt), **meta.to_dict()})
    writer = TokenWriter(out, fmt, rank=shard_index, columns=token_columns())
    done = writer.done_ids()
    todo = [u for u in utts if u.id not in done]
    errors: list[dict[str, str]] = []
    written = 0
    for s in range(0, len(todo), batch_size):
        group, audios, offsets, done_rows = [], [], [], {}
        for u in todo[s : s + batch_size]:
            try:
                if not trim and audio_seconds(u.path) > STREAM_SECONDS:  # a long file: constant memory
                    c, n = encode_stream(model, stream_audio(u.path, sr), chunk_frames=chunk_frames,
                                         batch_size=batch_size, device=dev)
                    _check_length(u.path, n, hop)
                    done_rows[u.id] = {"codes": c, "num_samples": n, "trim_offset": 0}
                    continue
                audio = load_audio(u.path, sr)
                offset = 0
                if trim:
                    audio, offset = trim_silence(audio)
                _check_length(u.path, len(audio), hop)
            except AudioError as exc:
                errors.append({"id": u.id, "path": u.path, "error": str(exc)})
                if len(utts) > 1:  # a lone bad input gets just the final error line
                    progress.warn(f"skipped: {exc}")
                continue
            group.append(u)
            audios.append(audio)
            offsets.append(offset)
        codes = encode_audio(model, audios, chunk_frames=chunk_frames, batch_size=batch_size, device=dev)
        for u, a, off, c in zip(group, audios, offsets, codes, strict=True):
            done_rows[u.id] = {"codes": c, "num_samples": len(a), "trim_offset": off}
        for u in todo[s : s + batch_size]:  # in input order
            if u.id in done_rows:
                writer.add({"id": u.id, "speaker": u.speaker, "path": u.path, **done_rows[u.id]})
                written += 1
                if written % shard_utterances == 0:
                    writer.flush()
        if on_progress:
            on_progress(min(s + batch_size, len(todo)), len(todo))
    writer.flush()
    return finish_encode(out, written, len(utts) - len(todo), errors, "utterance", "file")


def _checked_codes(rows: list[dict[str, Any]], source: str | Path, num_codes: int) -> list[np.ndarray]:
    codes = []
    for r in rows:
        c = np.asarray(r["codes"], np.int64)
        if len(r.get("shape") or [c.size]) != 1:
            raise InputError(f"{source}: item {r['id']!r} has codes of shape {r['shape']}, not a speech sequence")
        if c.size == 0:
            raise InputError(f"{source}: utterance {r['id']!r} has no codes")
        if c.min() < 0 or c.max() >= num_codes:
            bad = int(c.max()) if c.max() >= num_codes else int(c.min())
            raise InputError(f"{source}: utterance {r['id']!r} has code {bad}, outside 0..{num_codes - 1} of the model")
        codes.append(c)
    return codes


def decode(
    tokens: str | Path, out: str | Path, *, checkpoint: str | Path | None = None, speaker: str | None = None,
    temperature: float = 1.0, seed: int = 0, batch_size: int = 16, device: str = "cpu",
    on_progress: Callable[[int, int], None] | None = None, prior: str | Path | None = None,
) -> list[Path]:
    """Decode a token dataset / ``.npz`` / units file / ``.vqs`` file to wavs (``out`` a directory, or one
    ``.wav``; any other extension is refused rather than made a directory)."""
    require_inputs([tokens])
    if codec.is_vqs(tokens):
        return [codec.decode_file(tokens, out, checkpoint=checkpoint, prior=prior, speaker=speaker,
                                  temperature=temperature, seed=seed, device=device, on_progress=on_progress)]
    out = Path(out)
    single = output_is_file(out, (".wav",), "wav files", _VQS_HINT if out.suffix.lower() == codec.SUFFIX else "")
    _check_output(out, single)
    model, meta = load_vqvae(find_checkpoint(checkpoint, (SPEECH_VQVAE,)))
    rows = read_tokens(tokens)
    if not rows:
        raise InputError(f"{tokens}: contains no utterances")
    if single and len(rows) > 1:
        raise InputError(f"{tokens}: holds {len(rows)} utterances; give a directory as -o, not a .wav file")
    codes = _checked_codes(rows, tokens, meta.num_codes)
    spk = [meta.speaker_index(speaker, r.get("speaker")) for r in rows]
    dev = pick_device(device)
    audio = synthesize(model.to(dev), codes, spk, temperature=temperature, seed=seed, batch_size=batch_size,
                       progress=on_progress, device=dev)
    if not single:
        out.mkdir(exist_ok=True)
    paths = [out if single else out / f"{r['id']}.wav" for r in rows]
    for p, a in zip(paths, audio, strict=True):
        save_wav(p, a, meta.sample_rate)
    progress.say(f"wrote {len(paths)} wav file(s) -> {out}")
    return paths


def convert(
    src: str | Path, speaker: str, out: str | Path, *, checkpoint: str | Path | None = None,
    temperature: float = 1.0, seed: int = 0, device: str = "cpu", on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Re-synthesise ``src`` in the voice of ``speaker``: encode, then decode with the new speaker id into the
    wav file ``out``."""
    require_inputs([src])
    out = Path(out)
    if out.suffix.lower() != ".wav" or out.is_dir():
        raise InputError(f"{out}: convert writes one wav file; give -o NAME.wav")
    _check_output(out, True)
    model, meta = load_vqvae(find_checkpoint(checkpoint, (SPEECH_VQVAE,)))
    idx = meta.speaker_index(speaker)
    audio = load_audio(src, meta.sample_rate)
    if len(audio) < model.hop:
        raise AudioError(f"{src}: shorter than one code frame ({len(audio)} < {model.hop} samples)")
    dev = pick_device(device)
    model.to(dev)
    codes = encode_audio(model, [audio], device=dev)[0]
    wav = synthesize(model, [codes], [idx], temperature=temperature, seed=seed, progress=on_progress, device=dev)[0]
    save_wav(out, wav[: len(audio)], meta.sample_rate)
    progress.say(f"wrote {out} ({len(audio) / meta.sample_rate:.2f} s, speaker {speaker})")
    return out


def sample(
    out: str | Path, *, checkpoint: str | Path | None = None, vqvae: str | Path | None = None,
    speaker: str | None = None, seconds: float = 2.0, n: int = 1, temperature: float = 1.0, seed: int = 0,
    device: str = "cpu", on_progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Draw ``n`` code sequences of ``seconds`` from the prior and decode them with its VQ-VAE."""
    out = Path(out)
    single = output_is_file(out, (".wav",), "wav files")
    if single and n != 1:
        raise InputError(f"{out}: -n {n} makes several files; give a directory as -o")
    if n < 1 or seconds <= 0:
        raise InputError("-n must be >= 1 and --seconds > 0")
    _check_output(out, single)
    prior_path = find_checkpoint(checkpoint, (SPEECH_PRIOR,), hint=PRIOR_HINT)
    prior, pm = load_model(prior_path, expect=SPEECH_PRIOR)
    pmeta = SpeechMeta.of(pm, str(prior_path))
    vq_path = Path(vqvae) if vqvae else resolve_ref(pmeta.vqvae_path)
    if not vq_path.exists():
        raise CheckpointError(f"{prior_path}: its VQ-VAE {vq_path} is missing; pass it with --vqvae")
    if sha256_file(vq_path) != pmeta.vqvae_sha256:
        raise CheckpointError(
            f"{vq_path} is not the VQ-VAE this prior was trained on (sha256 differs from the one recorded in "
            f"{prior_path}); pass the right one with --vqvae"
        )
    vq, vmeta = load_vqvae(vq_path)
    # one speaker name, looked up in each model's own table (the prior's order need not be the VQ-VAE's)
    name = speaker if speaker is not None else vmeta.speakers[0]
    spk, p_spk = vmeta.speaker_index(name), pmeta.speaker_index(name)
    steps = max(1, round(seconds * pmeta.frame_rate))
    dev = pick_device(device)
    gen = torch.Generator(device=dev).manual_seed(seed)
    codes = prior.to(dev).sample((n, steps), torch.full((n,), p_spk, dtype=torch.long, device=dev),
                                 temperature=temperature, generator=gen)
    audio = synthesize(vq.to(dev), [c.cpu().numpy() for c in codes], [spk] * n, temperature=temperature, seed=seed,
                       progress=on_progress, device=dev)
    if not single:
        out.mkdir(exist_ok=True)
    paths = [out] if single else [out / f"sample-{i:03d}.wav" for i in range(n)]
    for p, a in zip(paths, audio, strict=True):
        save_wav(p, a, vmeta.sample_rate)
    progress.say(f"wrote {len(paths)} sample(s) of {seconds:g} s -> {out}")
    return paths


def speakers(checkpoint: str | Path | None = None) -> list[str]:
    """The speaker ids of a speech model (VQ-VAE or prior)."""
    path = find_checkpoint(checkpoint, (SPEECH_VQVAE, SPEECH_PRIOR))
    meta = read_meta(path)
    if meta.get("kind") not in (SPEECH_VQVAE, SPEECH_PRIOR):
        raise CheckpointError(f"{path}: is a {meta.get('kind')} checkpoint; speakers belong to speech models")
    return list(meta.get("speakers", []))


def _codebook(checkpoint: str | Path | None, meta: dict[str, Any]) -> np.ndarray | None:
    """The codebook ``[K, D]`` of the VQ-VAE that made a token dataset (``-c``, else its recorded path), or None
    when that file is gone or is another model."""
    path = (find_checkpoint(checkpoint, (SPEECH_VQVAE,)) if checkpoint
            else resolve_ref(meta.get("model_path") or ""))
    if not path.is_file() or (meta.get("model_sha256") and sha256_file(path) != meta["model_sha256"]):
        progress.warn(f"ABX over code embeddings skipped: the model of these tokens is not at {path}")
        return None
    return load_vqvae(path)[0].quantizer.codebook.detach().cpu().numpy()


def phoneme_eval(
    inputs: str | Path, alignments: str | Path, *, checkpoint: str | Path | None = None,
    json_path: str | Path | None = None, plot_path: str | Path | None = None, baseline: bool = False,
    abx: bool = True, seed: int = 0, device: str = "auto",
) -> dict[str, Any]:
    """Score a token dataset (or audio encoded with ``checkpoint`` on ``device``) against TextGrids in
    ``alignments``, matched by utterance id.  ``baseline``: the same metrics for MFCC k-means codes at the same
    K and frame rate.  ``abx``: ZeroSpeech-style ABX error over code embeddings and code ids (and, with
    ``baseline``, over the k-means centroids, ids and raw MFCC frames); triples sampled with ``seed``."""
    from vqspeech.speech.eval.phonetic import (
        abx_of,
        align_rows,
        compute_metrics,
        format_table,
        kmeans_codes,
        mfcc_features,
        plot_heatmap,
    )

    src, ali = Path(inputs), Path(alignments)
    require_inputs([src])
    if not ali.is_dir():
        raise InputError(f"--alignments {ali}: not a directory")
    require_parents([json_path, plot_path])
    codebook = None
    if is_token_dataset(src):
        meta = read_token_meta(src)
        if meta.get("kind", SPEECH_VQVAE) != SPEECH_VQVAE:
            raise InputError(f"{src}: holds {meta['kind']} codes; phoneme-eval needs speech tokens")
        rows = read_tokens(src)
        sr, hop, k = meta["sample_rate"], meta["hop_length"], meta["num_codes"]
        if abx:
            codebook = _codebook(checkpoint, meta)
    else:
        model, vmeta = load_vqvae(find_checkpoint(checkpoint, (SPEECH_VQVAE,)))
        dev = pick_device(device)
        model.to(dev)
        utts = expand_inputs([src])
        audios = [load_audio(u.path, vmeta.sample_rate) for u in utts]
        rows = [{"id": u.id, "speaker": u.speaker, "path": u.path, "num_samples": len(a), "trim_offset": 0,
                 "codes": c} for u, a, c in zip(utts, audios, encode_audio(model, audios, device=dev), strict=True)]
        sr, hop, k = vmeta.sample_rate, vmeta.hop_length, vmeta.num_codes
        codebook = model.quantizer.codebook.detach().cpu().numpy()
    aligned, problems = align_rows(rows, ali, sr, hop)
    for p in problems:
        progress.warn(f"skipped: {p}")
    if not aligned:
        raise InputError(f"no utterance of {src} has a matching TextGrid in {ali}")
    codes = [np.asarray(r["codes"], np.int64) for r, _, _ in aligned]
    utts_scored = [(c[keep], labels) for c, (_, keep, labels) in zip(codes, aligned, strict=True)]
    metrics = compute_metrics(utts_scored, sr / hop)
    metrics["skipped"] = len(problems)
    if abx:
        metrics["abx"] = {"equal": abx_of(aligned, codes, "equal", seed)}
        if codebook is not None:
            metrics["abx"]["angular"] = abx_of(aligned, [codebook[c] for c in codes], "angular", seed)
    if baseline:
        if any(not r.get("path") for r, _, _ in aligned):
            raise InputError(f"{src}: --baseline needs each utterance's audio path (parquet or npz tokens, or audio "
                             "input); units files carry none")
        audios = []
        for r, _, _ in aligned:
            a = load_audio(r["path"], sr)
            off = int(r.get("trim_offset") or 0)
            audios.append(a[off : off + int(r.get("num_samples") or len(a))])
        feats = mfcc_features(audios, sr, hop)
        ids, centroids = kmeans_codes(feats, k, seed)
        base_utts = [(c[keep], labels) for c, (_, keep, labels) in zip(ids, aligned, strict=True)]
        metrics["baseline"] = {"name": f"MFCC+delta k-means, K={k}", **compute_metrics(base_utts, sr / hop)}
        if abx:
            metrics["baseline"]["abx"] = {
                "equal": abx_of(aligned, ids, "equal", seed),
                "angular": abx_of(aligned, [centroids[c] for c in ids], "angular", seed),
                "mfcc_angular": abx_of(aligned, feats, "angular", seed),
            }
    if json_path:
        write_json(Path(json_path), metrics)
    if plot_path:
        plot_heatmap(utts_scored, plot_path)
    progress.say(format_table(metrics))
    return metrics


def evaluate(
    corpus: str | Path, checkpoint: str | Path | None = None, *, json_path: str | Path | None = None,
    md_path: str | Path | None = None, max_items: int = 8, seed: int = 0, device: str = "auto",
    unseen: str | Path | None = None, target: str | None = None,
) -> dict[str, Any]:
    """``vqspeech evaluate CORPUS``: the listening report on held-out utterances (see
    :mod:`vqspeech.speech.eval.listening`); JSON and markdown.  ``unseen``: speech of speakers the model never
    heard, converted to each of its voices; ``target``: the voice every conversion goes to."""
    from vqspeech.speech.eval.listening import evaluate_speech, markdown

    require_inputs([corpus, *([unseen] if unseen else [])])
    require_parents([json_path, md_path])
    ckpt = find_checkpoint(checkpoint, (SPEECH_VQVAE,))
    model, meta = load_vqvae(ckpt)
    dev = pick_device(device)
    if target is not None and target not in meta.speakers:
        raise InputError(f"--target {target!r} is not a voice of this model ({', '.join(meta.speakers)})")
    if unseen is not None:  # refused before minutes of synthesis, not after
        from vqspeech.speech.data.corpora import discover

        if not [u for u in discover(unseen) if u.speaker not in meta.speakers]:
            raise InputError(f"--unseen {unseen}: no utterance of a speaker the model does not know")
    report = evaluate_speech(model.to(dev), meta, corpus, ckpt, max_utterances=max_items, seed=seed, device=dev,
                             unseen=unseen, target=target)
    report["checkpoint"] = shown_path(ckpt)
    raw = read_meta(ckpt)  # where in training the checkpoint was (report pages draw the judges against it)
    report.update({k: raw[k] for k in ("step", "train_minutes") if k in raw})
    table = markdown(report)
    if json_path:
        write_json(Path(json_path), report)
    if md_path:
        atomic_write(Path(md_path), lambda tmp: tmp.write_text(table))
    progress.say(table)
    return report


def align(corpus: str | Path, out: str | Path | None = None, *, overwrite: bool = False) -> dict[str, Any]:
    """``vqspeech align CORPUS``: forced alignment of a transcribed corpus into TextGrids (pocketsphinx)."""
    from vqspeech.speech.align import align_corpus

    if out is not None and not Path(out).parent.exists():
        raise InputError(f"{out}: parent directory {Path(out).parent} does not exist")
    summary = align_corpus(corpus, out, overwrite=overwrite)
    progress.say(f"aligned {summary['aligned']} of {summary['utterances']} utterance(s) "
                 f"({len(summary['kept_existing'])} kept, {len(summary['no_text'])} without text, "
                 f"{len(summary['failed'])} failed) -> {summary['out'] or 'beside the audio'}")
    for uid, why in summary["failed"].items():
        progress.warn(f"failed: {uid}: {why}")
    return summary


def corpus_demo(out: str | Path, *, speakers: int = 8, utterances: int = 40, seed: int = 0) -> dict[str, Any]:
    """Build the embedded demo corpus (espeak-ng speech with exact phone TextGrids)."""
    from vqspeech.speech.data.demo_corpus import build_demo_corpus

    return build_demo_corpus(out, speakers=speakers, utterances=utterances, seed=seed)


def corpus_prompts(out: str | Path, *, sounds: str | Path | None = None, min_seconds: float = 1.0) -> dict[str, Any]:
    """Build a real-voice corpus from Debian's asterisk prompt recordings (one speaker per voice talent)."""
    from vqspeech.speech.data.prompts import INSTALL, LANGUAGES, SOUNDS, build_prompts_corpus

    talents = build_prompts_corpus(out, sounds or SOUNDS, min_seconds=min_seconds)
    for t in talents.values():
        progress.say(f"{t.speaker:<12} {t.sex}  {'+'.join(t.languages):<6} {t.files:4d} prompts  "
                     f"{t.seconds / 60:5.1f} min  (skipped {t.skipped_short} shorter than {min_seconds:g} s, "
                     f"{t.skipped_nonspeech} not speech)")
    found = {lang for t in talents.values() for lang in t.languages}
    if missing := [lang for lang in LANGUAGES if lang not in found]:
        progress.warn(f"not installed: {', '.join(missing)}; for every voice: {INSTALL}")
    progress.say(f"real-voice corpus -> {out}: {len(talents)} speakers, "
                 f"{sum(t.files for t in talents.values())} prompts, "
                 f"{sum(t.seconds for t in talents.values()) / 60:.1f} min (CC-BY-SA / CC-BY 3.0: see ATTRIBUTION.txt)")
    return {"speakers": {k: vars(v) for k, v in talents.items()}}


def enroll(
    name: str, audio: list[str | Path], out: str | Path, *, checkpoint: str | Path | None = None, steps: int = 300,
    seed: int = 0, device: str = "auto", on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """``vqspeech enroll NAME AUDIO... -o NEW.safetensors``: a new voice fitted on one person's recordings (files
    or folders), everything else frozen (:mod:`vqspeech.speech.enroll`)."""
    from vqspeech.io.checkpoint import save_checkpoint
    from vqspeech.speech.enroll import GOOD_SECONDS, MIN_SECONDS, enroll_voice

    out = Path(out)
    require_inputs(audio)
    if out.suffix != ".safetensors":
        raise InputError(f"{out}: enroll writes a checkpoint; give -o NAME.safetensors")
    require_parents([out])
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise InputError(f"voice name {name!r}: use letters, digits, '-' or '_'")
    ckpt = find_checkpoint(checkpoint, (SPEECH_VQVAE,))
    model, meta = load_vqvae(ckpt)
    raw = read_meta(ckpt)
    if name in meta.speakers:
        raise InputError(f"{name!r} is already a voice of this model ({', '.join(meta.speakers)}); pick another name")
    audios = [load_audio(u.path, meta.sample_rate) for u in expand_inputs([Path(a) for a in audio])]
    seconds = sum(len(a) for a in audios) / meta.sample_rate
    if MIN_SECONDS <= seconds < GOOD_SECONDS:
        progress.warn(f"{seconds:.0f} s of {name}'s voice: enrolling works best with a minute or more")

    def step(i: int, n: int, bits: float) -> None:
        if on_progress:
            on_progress(i, n)

    model, new_meta, stats = enroll_voice(model, meta, raw.get("config", {}), name, audios, steps=steps, seed=seed,
                                          on_step=step, device=pick_device(device))
    save_checkpoint(out, model, {**raw, **new_meta.to_dict(), "enrolled": {**raw.get("enrolled", {}),
                                                                       name: {**stats, "steps": steps}}})
    progress.say(f"enrolled {name} from {len(audios)} file(s), {seconds:.1f} s (NLL {stats['nll_bits_start']:.2f} -> "
                 f"{stats['nll_bits_end']:.2f} bits/sample) -> {out}; convert with --speaker {name} -c {out}")
    return {"checkpoint": str(out), **stats}
