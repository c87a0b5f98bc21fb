"""``vqspeech app``: a local web page (Gradio, the ``app`` extra) over the speech family's commands.

* **Convert**: upload or record a voice, pick one of the model's speakers, listen, download
  (:func:`vqspeech.speech.commands.convert`, the function ``vqspeech convert`` runs).
* **Codec**: encode to a ``.vqs`` file (bytes, bits/s, duration shown), decode it back, listen
  (:func:`vqspeech.speech.codec.encode_file` / :func:`~vqspeech.speech.codec.decode_file`, as ``vqspeech encode
  IN.wav -o OUT.vqs`` and ``vqspeech decode OUT.vqs``).

Bad input (not audio, shorter than one code frame, longer than ``max_seconds``) shows the one line ``error: ...``
the command line prints, naming the uploaded file.  The page binds to 127.0.0.1 unless told otherwise, Gradio's
analytics are off and nothing is fetched at run time (the page's fonts and scripts come from the local server).

* **Enroll**: a new voice from about a minute of one person's recordings (several files), fitted with the rest of
  the model frozen (:func:`vqspeech.speech.commands.enroll`, as ``vqspeech enroll``); the page hands back the new
  checkpoint to download (``vqspeech app -c NEW.safetensors`` or ``convert -c NEW.safetensors`` then use it).
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vqspeech import progress
from vqspeech.errors import AudioError, CheckpointError, InputError, VQSpeechError
from vqspeech.io.checkpoint import read_meta
from vqspeech.io.runs import find_checkpoint
from vqspeech.speech.config import SPEECH_PRIOR, SPEECH_VQVAE, SpeechMeta

MAX_SECONDS = 60.0  # the page converts while you wait; longer files: `vqspeech convert`


@dataclass(frozen=True)
class AppModels:
    """What the page runs: the speech VQ-VAE, the prior that drives the codec's entropy coder (``None``: the
    unigram table), the VQ-VAE's speakers and rate, and the device."""

    vqvae: Path
    prior: Path | None
    speakers: list[str]
    sample_rate: int
    hop_length: int
    device: str = "auto"


def find_prior(vqvae: Path, runs: str | Path = "runs") -> Path | None:
    """The newest ``runs/*/checkpoints/last.safetensors`` speech prior trained on the codes of ``vqvae`` (same
    sha256), or ``None``."""
    from vqspeech.io.atomic import sha256_file

    sha, found = None, []
    for p in Path(runs).glob("*/checkpoints/last.safetensors"):
        try:
            meta = read_meta(p)
        except CheckpointError:
            continue
        if meta.get("kind") == SPEECH_PRIOR:
            sha = sha or sha256_file(vqvae)
            if meta.get("vqvae_sha256") == sha:
                found.append(p)
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def resolve_models(checkpoint: str | Path | None = None, device: str = "auto") -> AppModels:
    """The page's models: ``checkpoint`` (``-c``), else ``$VQSPEECH_CHECKPOINT``, else the newest speech VQ-VAE
    under ``./runs/``, else a model shipped in the package; none is a :class:`CheckpointError` saying how to train
    one."""
    ckpt = find_checkpoint(checkpoint, (SPEECH_VQVAE,))
    meta = read_meta(ckpt)
    if meta.get("kind") != SPEECH_VQVAE:
        raise CheckpointError(f"{ckpt}: is a {meta.get('kind')} checkpoint; the app needs a {SPEECH_VQVAE} "
                              "(e.g. runs/demo/checkpoints/last.safetensors)")
    sm = SpeechMeta.of(meta, str(ckpt))
    prior = find_prior(ckpt)
    if prior is None:  # a shipped VQ-VAE comes with the prior of its codec
        from vqspeech.io.shipped import shipped_models

        prior = next((m.files[SPEECH_PRIOR] for m in shipped_models()
                      if m.files.get(SPEECH_VQVAE) == ckpt and SPEECH_PRIOR in m.files), None)
    return AppModels(ckpt, prior, list(sm.speakers), sm.sample_rate, sm.hop_length, device)


def error_line(exc: Exception, upload: str | Path | list[str] | None = None) -> str:
    """The CLI's one line for ``exc``; an upload's temporary path (or each of several) is shown as the file's own
    name."""
    msg = str(exc)
    for u in (upload if isinstance(upload, list) else [upload]):
        if u:
            msg = msg.replace(str(u), Path(u).name)
    return f"error: {msg}"


def check_audio(path: str | Path | None, max_seconds: float = MAX_SECONDS) -> Path:
    """The uploaded or recorded file, refused (:class:`InputError`) when there is none or when its header says it
    is longer than ``max_seconds``; unreadable and too-short audio are refused by the commands themselves."""
    from vqspeech.speech.data.audio import audio_seconds

    if not path:
        raise InputError("no audio: upload a file or record one first")
    p = Path(path)
    secs = audio_seconds(p)
    if secs > max_seconds:
        raise AudioError(f"{p}: {secs:.1f} s is longer than this page converts ({max_seconds:g} s); convert it "
                         f"with `vqspeech convert {p.name} --speaker ID -o OUT.wav`")
    return p


def _workdir(root: str | Path | None) -> Path:
    """A fresh folder for one request's output (under ``root``, the page's own temporary folder)."""
    return Path(tempfile.mkdtemp(prefix="run-", dir=root))


def convert(path: str | Path | None, speaker: str, models: AppModels, max_seconds: float = MAX_SECONDS,
            workdir: str | Path | None = None) -> tuple[Path, str]:
    """Convert the file at ``path`` to ``speaker`` into a new folder under ``workdir``; returns ``(wav, one line
    about it)``.  Raises what ``vqspeech convert`` raises (plus :func:`check_audio`'s refusals)."""
    from vqspeech.speech import commands

    src = check_audio(path, max_seconds)
    out = _workdir(workdir) / f"{src.stem}-to-{speaker}.wav"
    commands.convert(src, speaker, out, checkpoint=models.vqvae, device=models.device)
    import soundfile as sf

    secs = sf.info(str(out)).duration
    return out, f"converted {src.name} to {speaker}: {secs:.2f} s at {models.sample_rate} Hz -> {out.name}"


def encode(path: str | Path | None, models: AppModels, max_seconds: float = MAX_SECONDS,
           workdir: str | Path | None = None) -> tuple[Path, str]:
    """Encode the file at ``path`` into a ``.vqs`` file; returns ``(file, bytes / bits/s / duration line)``."""
    from vqspeech.speech import codec

    src = check_audio(path, max_seconds)
    out = _workdir(workdir) / f"{src.stem}{codec.SUFFIX}"
    info = codec.encode_file(src, out, checkpoint=models.vqvae, prior=models.prior, device=models.device)
    return out, (f"{out.name}: {info['bytes']} bytes, {info['bits_per_second']:.0f} bits/s, {info['seconds']:.2f} s "
                 f"({info['codes']} codes, entropy model: {info['entropy_model']})")


def decode(path: str | Path | None, models: AppModels, workdir: str | Path | None = None) -> tuple[Path, str]:
    """Decode the ``.vqs`` file at ``path`` (made with this page's VQ-VAE) to a wav; returns ``(wav, line)``."""
    from vqspeech.speech import codec

    if not path:
        raise InputError(f"no {codec.SUFFIX} file: encode one first, or upload one")
    src = Path(path)
    if not codec.is_vqs(src):
        raise InputError(f"{src}: not a {codec.SUFFIX} codec file (it is made by the Encode button or "
                         f"`vqspeech encode IN.wav -o OUT{codec.SUFFIX}`)")
    out = _workdir(workdir) / f"{src.stem}.wav"
    codec.decode_file(src, out, checkpoint=models.vqvae, device=models.device)
    import soundfile as sf

    return out, f"decoded {src.name}: {sf.info(str(out)).duration:.2f} s -> {out.name}"


def enroll(paths: list[str] | None, name: str, models: AppModels, steps: int = 300,
           workdir: str | Path | None = None) -> tuple[Path, str]:
    """Enroll ``name`` from the uploaded recordings ``paths`` into a new checkpoint under ``workdir``; returns
    ``(checkpoint, one line about the fit)``.  Raises what ``vqspeech enroll`` raises."""
    from vqspeech.speech import commands

    if not paths:
        raise InputError("no recordings: upload one or more files of the new voice (about a minute or more)")
    name = (name or "").strip()
    out = _workdir(workdir) / f"{name or 'voice'}.safetensors"
    r = commands.enroll(name, [Path(p) for p in paths], out, checkpoint=models.vqvae, steps=int(steps),
                        device=models.device)
    return out, (f"enrolled {name} from {len(paths)} file(s), {r['seconds']:.1f} s (NLL {r['nll_bits_start']:.2f} "
                 f"-> {r['nll_bits_end']:.2f} bits/sample): download {out.name} and run "
                 f"`vqspeech app -c {out.name}` or `vqspeech convert IN.wav --speaker {name} -c {out.name}`")


def _handled(fn: Any, n_out: int) -> Any:
    """``fn(upload, ...) -> (file, line)`` for Gradio: the file goes to ``n_out`` outputs and the line to the status
    box; a :class:`VQSpeechError` becomes the CLI's ``error: ...`` line there (outputs emptied), not a traceback."""

    @functools.wraps(fn)
    def run(*args: Any) -> tuple[Any, ...]:
        try:
            out, line = fn(*args)
        except VQSpeechError as exc:
            return (*([None] * n_out), error_line(exc, args[0]))
        return (*([str(out)] * n_out), line)

    return run


def build_app(models: AppModels, max_seconds: float = MAX_SECONDS) -> Any:
    """The Gradio ``Blocks`` of the page (not launched).  API names: ``convert(audio, speaker)``,
    ``encode(audio)``, ``decode(vqs)``, ``enroll(files, name, steps)``."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    default = models.speakers[1] if len(models.speakers) > 1 else (models.speakers or [""])[0]
    tmp = tempfile.TemporaryDirectory(prefix="vqspeech-app-")  # outputs of this page; removed when it ends
    work = tmp.name
    entropy = f"the prior {models.prior}" if models.prior else "a unigram table (no prior of this model under ./runs/)"
    # Gradio's copies of uploads and outputs are deleted after a day
    with gr.Blocks(title="vqspeech", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        gr.Markdown(f"# vqspeech\nModel `{models.vqvae}`: {len(models.speakers)} voices, {models.sample_rate} Hz. "
                    f"Files up to {max_seconds:g} s (longer ones: `vqspeech convert`). Everything runs on this "
                    "machine.")
        with gr.Tab("Convert"):
            with gr.Row():
                src = gr.Audio(sources=["upload", "microphone"], type="filepath", label="your recording",
                               buttons=["download"], elem_id="convert-input")
                with gr.Column():
                    spk = gr.Dropdown(models.speakers, value=default, label="target voice", elem_id="speaker")
                    go = gr.Button("Convert", variant="primary", elem_id="convert-button")
            with gr.Row():
                out = gr.Audio(type="filepath", label="converted", interactive=False, buttons=["download"],
                               elem_id="convert-output")
                dl = gr.File(label="download", interactive=False, elem_id="convert-download")
            status = gr.Textbox(label="status", interactive=False, elem_id="convert-status")
            go.click(_handled(lambda audio, speaker: convert(audio, speaker, models, max_seconds, work), 2),
                     [src, spk], [out, dl, status], api_name="convert")
        with gr.Tab("Codec"):
            gr.Markdown(f"Encode a recording into a `.vqs` file (codes entropy-coded with {entropy}), then decode "
                        "it back.")
            with gr.Row():
                csrc = gr.Audio(sources=["upload", "microphone"], type="filepath", label="recording",
                                buttons=["download"], elem_id="codec-input")
                enc = gr.Button("Encode", variant="primary", elem_id="encode-button")
            vqs = gr.File(label=".vqs file", elem_id="vqs-file")  # any file: a wrong one gets our error line
            cstatus = gr.Textbox(label="status", interactive=False, elem_id="codec-status")
            dec = gr.Button("Decode", elem_id="decode-button")
            cout = gr.Audio(type="filepath", label="decoded", interactive=False, buttons=["download"],
                            elem_id="decode-output")
            enc.click(_handled(lambda audio: encode(audio, models, max_seconds, work), 1), [csrc], [vqs, cstatus],
                      api_name="encode")
            dec.click(_handled(lambda vqs_file: decode(vqs_file, models, work), 1), [vqs], [cout, cstatus],
                      api_name="decode")
        with gr.Tab("Enroll"):
            gr.Markdown("A new voice from about a minute or more of one person's recordings: the model stays as it "
                        "is, only the new voice is fitted (a few minutes on 2 CPU cores).")
            with gr.Row():
                efiles = gr.File(file_count="multiple", label="recordings of one person", elem_id="enroll-files")
                with gr.Column():
                    ename = gr.Textbox(label="name of the new voice", elem_id="enroll-name")
                    esteps = gr.Slider(20, 1000, value=300, step=10, label="steps", elem_id="enroll-steps")
                    ego = gr.Button("Enroll", variant="primary", elem_id="enroll-button")
            eout = gr.File(label="new checkpoint", interactive=False, elem_id="enroll-output")
            estatus = gr.Textbox(label="status", interactive=False, elem_id="enroll-status")
            ego.click(_handled(lambda files, name, steps: enroll(files, name, models, steps, work), 1),
                      [efiles, ename, esteps], [eout, estatus], api_name="enroll")
    demo.vqspeech_workdir = tmp  # kept alive (and its folder with it) as long as the page
    return demo


def serve(host: str = "127.0.0.1", port: int = 7860, checkpoint: str | Path | None = None, device: str = "auto",
          max_seconds: float = MAX_SECONDS) -> None:
    """Resolve the models, build the page and serve it on ``host:port`` until interrupted."""
    models = resolve_models(checkpoint, device)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before Gradio is imported: no usage reports, no version check
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise VQSpeechError("the app needs Gradio: pip install 'vqspeech[app]'") from None
    demo = build_app(models, max_seconds)
    progress.warn(f"vqspeech app: http://{host}:{port} (model {models.vqvae}"
                  + (f", codec prior {models.prior}" if models.prior else "") + "); Ctrl-C stops it")
    demo.queue().launch(server_name=host, server_port=port, share=False, inbrowser=False, quiet=True,
                        ssr_mode=False, mcp_server=False, pwa=False, enable_monitoring=False, show_error=False,
                        footer_links=[])


__all__ = ["AppModels", "MAX_SECONDS", "build_app", "check_audio", "convert", "decode", "encode", "enroll",
           "error_line",
           "find_prior", "resolve_models", "serve"]
