"""The speech codec: one utterance -> one compact ``.vqs`` bitstream, and back.

audio --(VQ-VAE encoder)--> codes ``[N]`` --(range coder driven by the latent prior's next-code probabilities,
or by a unigram table stored in the header when no prior is given)--> payload.  The file is a
:mod:`vqspeech.io.container` with magic ``\\x89VQS``; its JSON header holds the sample rate, hop, K, number of codes
and samples, the speaker id, the entropy model and the path + sha256 of every model the decoder needs.

Entropy coding uses ``constriction`` (a maintained Rust library with a NumPy API): its range coder encodes a whole
utterance in one vectorised call and decodes one symbol at a time, which is what an autoregressive prior needs.

Determinism: arithmetic decoding breaks if the decoder's probabilities differ from the encoder's by one bit.  So the
prior always runs on the CPU, in fp32, on one thread, with batch 1, through the same cached step-by-step code path
(:meth:`vqspeech.nn.wavenet.WaveNet.generate`) in encoder and decoder -- the encoder feeds the known codes, the
decoder the codes it has just read -- and each step's logits are turned into integer frequencies (sum
``2**PRECISION``, every symbol >= 1) by one function, row by row.  Nothing depends on the device, the thread count
or batch size the caller uses elsewhere.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqspeech import progress
from vqspeech.errors import CheckpointError, InputError
from vqspeech.io import container
from vqspeech.io.atomic import sha256_file
from vqspeech.io.checkpoint import read_meta
from vqspeech.io.entropy import PRECISION, RangeDecoder, model_bits, quantize_counts, quantize_logits, range_encode
from vqspeech.io.runs import find_checkpoint
from vqspeech.io.shipped import model_ref, resolve_ref
from vqspeech.io.tokens import is_token_dataset
from vqspeech.speech.config import SPEECH_PRIOR, SPEECH_VQVAE, SpeechMeta

MAGIC = b"\x89VQS"
FORMAT_VERSION = 1
SUFFIX = ".vqs"
WHAT = "vqspeech codec file (.vqs)"
# zlib preset dictionary of the header (part of format version 1: never change it, bump the version instead)
ZDICT = (b'"path":"/checkpoints/last.safetensors"},"precision":24,"prior":{"path":"runs/demo_prior"sha256":"},'
         b'"sample_rate":16000,"speaker":"","vqvae":{{"codes":,"coder":"constriction range coder",'
         b'"entropy_model":"prior","hop_length":,"num_codes":512,"num_samples":')


def is_vqs(path: str | Path) -> bool:
    """Whether ``path`` is (or claims to be) a ``.vqs`` file: by its magic bytes or its suffix."""
    p = Path(path)
    return p.is_file() and (p.suffix.lower() == SUFFIX or container.has_magic(p, MAGIC))


@contextmanager
def _one_thread() -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@torch.no_grad()
def run_prior(prior: Any, speaker: int, steps: int, pick: Callable[[int, np.ndarray], int]) -> None:
    """Run the code prior for ``steps`` steps on the CPU in fp32 on one thread; at step ``t`` call
    ``pick(t, freqs [K])`` with the quantised next-code frequencies and feed back the code it returns."""
    prior = prior.float().cpu()
    g = prior._g(torch.tensor([speaker]), 1)

    def choose(t: int, logits: torch.Tensor) -> torch.Tensor:
        return torch.tensor([pick(t, quantize_logits(logits[0].numpy()))])

    with _one_thread():
        prior.net.generate(steps, None, g, batch=1, choose=choose)


def prior_frequencies(prior: Any, codes: np.ndarray, speaker: int) -> np.ndarray:
    """The frequencies ``[N, K]`` the codec uses for ``codes [N]`` (teacher-forced, through :func:`run_prior`)."""
    codes = np.asarray(codes, np.int64)
    rows: list[np.ndarray] = []

    def pick(t: int, f: np.ndarray) -> int:
        rows.append(f)
        return int(codes[t])

    run_prior(prior, speaker, len(codes), pick)
    return np.stack(rows) if rows else np.zeros((0, prior.num_codes), np.int64)


# -- models named in a header ------------------------------------------------------------------------------------


def _model_ref(path: Path) -> dict[str, str]:
    return {"path": model_ref(path), "sha256": sha256_file(path)}


def _checked_model(given: str | Path | None, ref: dict[str, str], role: str, src: Path, option: str) -> Path:
    """The model a header names (or ``given`` instead), refused unless its sha256 is the recorded one."""
    kinds = (SPEECH_PRIOR,) if role == "prior" else (SPEECH_VQVAE,)
    p = find_checkpoint(given, kinds) if given is not None else resolve_ref(ref["path"])
    if not p.is_file():
        raise CheckpointError(f"{src}: needs the {role} {p} (sha256 {ref['sha256'][:12]}...), which is missing; "
                              f"pass it with {option}")
    digest = sha256_file(p)
    if digest != ref["sha256"]:
        raise CheckpointError(f"{p}: is not the {role} {src} was encoded with (sha256 {digest[:12]}... instead of "
                              f"{ref['sha256'][:12]}...); pass the right one with {option}")
    return p


def _load_prior(path: Path, vq_sha: str, num_codes: int) -> tuple[Any, SpeechMeta]:
    from vqspeech.registry import load_model

    prior, pm = load_model(path, expect=SPEECH_PRIOR)
    pmeta = SpeechMeta.of(pm, str(path))
    if pmeta.vqvae_sha256 and pmeta.vqvae_sha256 != vq_sha:
        raise CheckpointError(f"{path}: this prior models the codes of another VQ-VAE (sha256 "
                              f"{pmeta.vqvae_sha256[:12]}...); pass the prior trained on this one")
    if pmeta.num_codes != num_codes:
        raise CheckpointError(f"{path}: this prior has {pmeta.num_codes} codes, the VQ-VAE {num_codes}")
    return prior, pmeta


def _crc(codes: np.ndarray) -> int:
    """CRC-32 of the codes (as little-endian uint32): the decoder's check that it read back what was coded."""
    return zlib.crc32(np.asarray(codes, "<u4").tobytes())


def _speaker_row(meta: SpeechMeta, speaker: str | None) -> int:
    """The prior's speaker-table row for ``speaker`` (row 0 when unknown or unconditional)."""
    return meta.speakers.index(speaker) if speaker in meta.speakers else 0


# -- files -------------------------------------------------------------------------------------------------------


def _check_out(out: Path) -> None:
    if out.suffix.lower() != SUFFIX:
        raise InputError(f"{out}: a codec file must end in {SUFFIX}")
    if not out.parent.exists():
        raise InputError(f"{out}: directory {out.parent} does not exist; create it first")
    if out.is_dir():
        raise InputError(f"{out}: is a directory")


def encode_codes(
    codes: np.ndarray, out: str | Path, *, vqvae: str | Path, prior: str | Path | None = None,
    speaker: str | None = None, num_samples: int | None = None,
) -> dict[str, Any]:
    """Write codes ``[N]`` of the VQ-VAE checkpoint ``vqvae`` as a ``.vqs`` file, coded with the prior checkpoint
    ``prior`` (or a unigram table).  Returns the header plus ``bytes``, ``payload_bytes``, ``model_bits`` (ideal
    code length under the coding model), ``seconds`` and ``bits_per_second``."""
    out = Path(out)
    _check_out(out)
    vq_path = Path(vqvae)
    vmeta_raw = read_meta(vq_path)
    if vmeta_raw.get("kind") != SPEECH_VQVAE:
        raise CheckpointError(f"{vq_path}: is a {vmeta_raw.get('kind')} checkpoint; the codec needs a {SPEECH_VQVAE}")
    vmeta = SpeechMeta.of(vmeta_raw, str(vq_path))
    codes = np.asarray(codes, np.int64).reshape(-1)
    k = vmeta.num_codes
    if codes.size and (codes.min() < 0 or codes.max() >= k):
        raise InputError(f"codes outside 0..{k - 1} of {vq_path}")
    spk = vmeta.speakers[vmeta.speaker_index(None, speaker)] if vmeta.speakers else ""
    vq_ref = _model_ref(vq_path)
    header: dict[str, Any] = {
        "sample_rate": vmeta.sample_rate, "hop_length": vmeta.hop_length, "num_codes": k,
        "codes": int(codes.size), "num_samples": int(num_samples if num_samples is not None
                                                     else codes.size * vmeta.hop_length),
        "speaker": spk, "vqvae": vq_ref, "precision": PRECISION, "coder": "constriction range coder",
        "crc32": _crc(codes),
    }
    if prior is not None:
        pr_path = Path(prior)
        model, pmeta = _load_prior(pr_path, vq_ref["sha256"], k)
        freqs = prior_frequencies(model, codes, _speaker_row(pmeta, spk))
        header.update(entropy_model="prior", prior=_model_ref(pr_path))
    else:
        counts = np.bincount(codes, minlength=k)
        freqs = quantize_counts(counts)
        header.update(entropy_model="unigram", unigram=counts.tolist())
    payload = range_encode(codes, freqs)
    size = container.write(out, header, payload, magic=MAGIC, version=FORMAT_VERSION, zdict=ZDICT)
    seconds = header["num_samples"] / vmeta.sample_rate
    return {**header, "bytes": size, "payload_bytes": len(payload), "model_bits": model_bits(codes, freqs),
            "seconds": seconds, "bits_per_second": size * 8 / seconds if seconds else 0.0}


def read_header(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """``(header, payload)`` of a ``.vqs`` file; a token dataset or foreign file is one clear error."""
    p = Path(path)
    if is_token_dataset(p):
        raise InputError(f"{p}: is a token dataset, not a {SUFFIX} file; decode it with `vqspeech decode {p} -o DIR`")
    header, payload, _ = container.read(p, magic=MAGIC, version=FORMAT_VERSION, what=WHAT, zdict=ZDICT)
    need = ("sample_rate", "hop_length", "num_codes", "codes", "vqvae", "entropy_model")
    missing = [k for k in need if k not in header]
    if missing:
        raise InputError(f"{p}: corrupt {WHAT} (header lacks {', '.join(missing)})")
    return header, payload


def read_codes(path: str | Path, *, prior: str | Path | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """``(codes [N] int64, header)`` of a ``.vqs`` file.  A prior-coded file needs its prior (the header's path, or
    ``prior``), refused unless its sha256 matches."""
    src = Path(path)
    header, payload = read_header(src)
    n, k = int(header["codes"]), int(header["num_codes"])
    dec = RangeDecoder(payload, str(src), WHAT)
    if header["entropy_model"] == "unigram":
        counts = np.asarray(header.get("unigram") or [], np.int64)
        if counts.shape != (k,):
            raise InputError(f"{src}: corrupt {WHAT} (unigram table of {counts.size} entries, K is {k})")
        f = quantize_counts(counts)
        codes = np.array([dec(f) for _ in range(n)], np.int64)
    elif header["entropy_model"] == "prior":
        pr_path = _checked_model(prior, header["prior"], "prior", src, "--prior")
        model, pmeta = _load_prior(pr_path, header["vqvae"]["sha256"], k)
        spk = _speaker_row(pmeta, header.get("speaker"))
        codes = np.zeros(n, np.int64)

        def pick(t: int, f: np.ndarray) -> int:
            codes[t] = dec(f)
            return int(codes[t])

        run_prior(model, spk, n, pick)
    else:
        raise InputError(f"{src}: unknown entropy model {header['entropy_model']!r} (newer vqspeech?)")
    if "crc32" in header and _crc(codes) != header["crc32"]:
        raise InputError(f"{src}: decoded codes fail their checksum: the file is corrupt, or this machine computes "
                         "the prior's probabilities differently from the one that encoded it")
    return codes, header


def encode_file(
    src: str | Path, out: str | Path, *, checkpoint: str | Path | None = None, prior: str | Path | None = None,
    speaker: str | None = None, batch_size: int = 16, device: str = "cpu",
) -> dict[str, Any]:
    """Encode one audio file into the ``.vqs`` file ``out`` (see :func:`encode_codes` for what it returns).
    ``speaker``: the id stored for decoding (default: the input's folder if the model knows it, else its first)."""
    from vqspeech.device import pick_device
    from vqspeech.speech.data.audio import load_audio
    from vqspeech.speech.data.corpora import expand_inputs
    from vqspeech.speech.inference import encode_audio, load_vqvae

    src, out = Path(src), Path(out)
    if is_token_dataset(src):
        raise InputError(f"{src}: is a token dataset, not audio; the codec encodes one audio file (decode the "
                         "tokens to wav first, or use `vqspeech encode` without .vqs)")
    if is_vqs(src):
        raise InputError(f"{src}: is already a {SUFFIX} codec file; give the audio file to encode")
    if src.is_dir():
        raise InputError(f"{src}: is a directory; a {SUFFIX} file holds one utterance, give one audio file")
    _check_out(out)
    ckpt = find_checkpoint(checkpoint, (SPEECH_VQVAE,))
    model, meta = load_vqvae(ckpt)
    utt = expand_inputs([src])[0]
    audio = load_audio(src, meta.sample_rate)
    if len(audio) < meta.hop_length:
        raise InputError(f"{src}: shorter than one code frame ({len(audio)} < {meta.hop_length} samples)")
    dev = pick_device(device)
    codes = encode_audio(model.to(dev), [audio], batch_size=batch_size, device=dev)[0]
    prior = find_checkpoint(prior, (SPEECH_PRIOR,)) if prior is not None else None  # a path or a shipped name
    info = encode_codes(codes, out, vqvae=ckpt, prior=prior, speaker=speaker or utt.speaker,
                        num_samples=len(audio))
    progress.say(f"wrote {out}: {info['codes']} codes, {info['bytes']} bytes, {info['bits_per_second']:.0f} bits/s "
                 f"({info['entropy_model']})")
    return info


def decode_file(
    src: str | Path, out: str | Path, *, checkpoint: str | Path | None = None, prior: str | Path | None = None,
    speaker: str | None = None, temperature: float = 1.0, seed: int = 0, device: str = "cpu",
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Decode the ``.vqs`` file ``src`` to the wav ``out`` with the models its header names (or ``checkpoint`` /
    ``prior`` instead, refused unless their sha256 match); ``speaker`` overrides the stored voice."""
    from vqspeech.device import pick_device
    from vqspeech.speech.data.audio import save_wav
    from vqspeech.speech.inference import load_vqvae, synthesize

    src, out = Path(src), Path(out)
    if out.suffix.lower() != ".wav":
        raise InputError(f"{out}: a {SUFFIX} file decodes to one .wav file; give -o NAME.wav")
    if not out.parent.exists():
        raise InputError(f"{out}: directory {out.parent} does not exist; create it first")
    header, _ = read_header(src)
    vq_path = _checked_model(checkpoint, header["vqvae"], "VQ-VAE", src, "-c")
    codes, header = read_codes(src, prior=prior)
    model, meta = load_vqvae(vq_path)
    spk = meta.speaker_index(speaker, header.get("speaker"))
    dev = pick_device(device)
    wav = synthesize(model.to(dev), [codes], [spk], temperature=temperature, seed=seed, progress=on_progress,
                     device=dev)[0] if len(codes) else np.zeros(0, np.float32)
    save_wav(out, wav[: int(header.get("num_samples", len(wav)))], meta.sample_rate)
    progress.say(f"wrote {out} ({header.get('num_samples', len(wav)) / meta.sample_rate:.2f} s, speaker "
                 f"{meta.speakers[spk] if meta.speakers else spk})")
    return out


def describe(path: str | Path) -> str:
    """Duration, codes, bytes, bits/s and the models a ``.vqs`` file needs."""
    p = Path(path)
    header, payload = read_header(p)
    size = p.stat().st_size
    seconds = int(header.get("num_samples", 0)) / int(header["sample_rate"])
    rate = int(header["sample_rate"]) / int(header["hop_length"])
    bps = size * 8 / seconds if seconds else 0.0
    raw = math.log2(int(header["num_codes"])) * rate
    lines = [
        f"codec file: {p}",
        f"duration: {seconds:.2f} s",
        f"codes: {header['codes']} (K={header['num_codes']}, {rate:g} codes/s)",
        f"bytes: {size} (payload {len(payload)}, header {size - len(payload)})",
        f"bits/s: {bps:.0f} (payload {len(payload) * 8 / seconds if seconds else 0:.0f}; "
        f"log2 K x code rate = {raw:.0f})",
        f"entropy model: {header['entropy_model']}",
        f"speaker: {header.get('speaker', '')}",
        f"sample rate: {header['sample_rate']} Hz, hop {header['hop_length']}",
    ]
    for role in ("vqvae", "prior"):
        ref = header.get(role)
        if ref:
            here = "present" if Path(ref["path"]).is_file() else "MISSING"
            lines.append(f"needs {role}: {ref['path']} (sha256 {ref['sha256']}, {here})")
    return "\n".join(lines)


__all__ = ["FORMAT_VERSION", "MAGIC", "SUFFIX", "decode_file", "describe", "encode_codes", "encode_file", "is_vqs",
           "prior_frequencies", "quantize_counts", "quantize_logits", "range_encode", "read_codes", "read_header"]
