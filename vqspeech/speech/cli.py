"""The speech family's own commands on the command line (``convert``, ``align``, ``phoneme-eval``, ``speakers``,
``enroll``, ``app``, ``corpus demo``, ``corpus prompts``); the root CLI calls :func:`register`.  Each parses its
options and calls one function of :mod:`vqspeech.speech.commands`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vqspeech import progress

Ckpt = Annotated[Path | None, typer.Option("-c", "--checkpoint", help="checkpoint (.safetensors)")]
Device = Annotated[str, typer.Option(help="auto, cpu or cuda")]
Seed = Annotated[int, typer.Option(help="random seed (same seed, same output)")]


def register(app: typer.Typer, corpus: typer.Typer) -> None:
    """Add the speech commands to ``app`` and its ``corpus`` group."""

    @app.command()
    def convert(
        src: Annotated[Path, typer.Argument(help="input audio (any rate/channels soundfile reads)")],
        speaker: Annotated[str, typer.Option(help="target speaker id (see `vqspeech speakers`)")],
        out: Annotated[Path, typer.Option("-o", "--out", help="output .wav")],
        checkpoint: Ckpt = None,
        temperature: Annotated[float, typer.Option(help="sampling temperature (0: argmax)")] = 1.0,
        seed: Seed = 0,
        device: Device = "auto",
    ) -> None:
        """Convert a recording to another speaker's voice (encode + decode)."""
        from vqspeech.speech.commands import convert as run

        with progress.bar("convert") as cb:
            run(src, speaker, out, checkpoint=checkpoint, temperature=temperature, seed=seed, device=device,
                on_progress=cb)

    @app.command()
    def align(
        corpus: Annotated[Path, typer.Argument(help="transcribed corpus (text beside each wav, VCTK txt/, "
                                                    "LibriSpeech)")],
        out: Annotated[Path | None, typer.Option("-o", "--out", help="TextGrid folder (default: beside the "
                                                                     "audio)")] = None,
        overwrite: Annotated[bool, typer.Option(help="replace existing TextGrids")] = False,
    ) -> None:
        """Forced alignment (pocketsphinx, offline) -> TextGrids with a `phones` tier (ARPAbet)."""
        from vqspeech.speech.commands import align as run

        run(corpus, out, overwrite=overwrite)

    @app.command("phoneme-eval")
    def phoneme_eval(
        inputs: Annotated[Path, typer.Argument(help="token dataset (or audio, encoded with -c first)")],
        alignments: Annotated[Path, typer.Option("--alignments", help="folder of TextGrids (matched by utterance "
                                                                      "id)")],
        checkpoint: Ckpt = None,
        json_: Annotated[Path | None, typer.Option("--json", help="write the metrics as JSON")] = None,
        plot: Annotated[Path | None, typer.Option("--plot", help="write a code x phone heat map (PNG)")] = None,
        baseline: Annotated[bool, typer.Option(help="also score MFCC k-means codes (same K and rate)")] = False,
        abx: Annotated[bool, typer.Option(help="ZeroSpeech-style triphone ABX error, within and across "
                                               "speakers")] = True,
        seed: Seed = 0,
        device: Device = "auto",
    ) -> None:
        """Score codes against phone alignments (many-to-one accuracy, purity, PNMI, ABX, bitrate...)."""
        from vqspeech.speech.commands import phoneme_eval as run

        run(inputs, alignments, checkpoint=checkpoint, json_path=json_, plot_path=plot, baseline=baseline, abx=abx,
            seed=seed, device=device)

    @app.command()
    def speakers(checkpoint: Ckpt = None) -> None:
        """List the speaker ids a speech model knows."""
        from vqspeech.speech.commands import speakers as run

        for spk in run(checkpoint):
            typer.echo(spk)

    @corpus.command("demo")
    def corpus_demo(
        out: Path,
        speakers: Annotated[int, typer.Option(help="number of speakers (max 8)")] = 8,
        utterances: Annotated[int, typer.Option(help="utterances per speaker")] = 40,
        seed: Seed = 0,
    ) -> None:
        """Build the embedded speech demo corpus (espeak-ng speech with exact phone TextGrids)."""
        from vqspeech.speech.commands import corpus_demo as run

        run(out, speakers=speakers, utterances=utterances, seed=seed)


    @corpus.command("prompts")
    def corpus_prompts(
        out: Path,
        sounds: Annotated[Path | None, typer.Option(help="asterisk sounds folder (default "
                                                         "/usr/share/asterisk/sounds)")] = None,
        min_seconds: Annotated[float, typer.Option(help="skip prompts shorter than this")] = 1.0,
    ) -> None:
        """Build a real-voice corpus from Debian's asterisk prompt recordings (one speaker per voice talent)."""
        from vqspeech.speech.commands import corpus_prompts as run

        run(out, sounds=sounds, min_seconds=min_seconds)

    @app.command()
    def enroll(
        name: Annotated[str, typer.Argument(help="the new voice's name")],
        audio: Annotated[list[Path], typer.Argument(help="recordings of that one person (files or folders)")],
        out: Annotated[Path, typer.Option("-o", "--out", help="the new checkpoint (NAME.safetensors)")],
        checkpoint: Ckpt = None,
        steps: Annotated[int, typer.Option(help="optimisation steps for the new voice")] = 300,
        seed: Seed = 0,
        device: Device = "auto",
    ) -> None:
        """Add a voice to a speech model from about a minute or more of one person's recordings (the rest frozen)."""
        from vqspeech.speech.commands import enroll as run

        with progress.bar("enroll") as cb:
            run(name, audio, out, checkpoint=checkpoint, steps=steps, seed=seed, device=device, on_progress=cb)

    @app.command("app")
    def app_(
        host: Annotated[str, typer.Option(help="address to bind (127.0.0.1: this machine only)")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="port")] = 7860,
        checkpoint: Ckpt = None,
        device: Device = "auto",
    ) -> None:
        """A local web page (extra `app`): convert a recording to a voice, encode/decode .vqs files, enroll."""
        from vqspeech.speech.app import serve

        serve(host, port, checkpoint, device=device)
