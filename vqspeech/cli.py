"""Command line: a thin Typer layer.  Each command parses, resolves defaults and calls one task function;
exceptions become one ``error: ...`` line with exit code 1 (failure while running) or 2 (bad input)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from vqspeech import __version__
from vqspeech.errors import InputError, VQSpeechError

app = typer.Typer(
    name="vqspeech",
    help="VQ-VAE for speech: train, encode to discrete codes, decode, convert voices, sample, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
corpus_app = typer.Typer(help="Build corpora.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")

_state = {"debug": False, "quiet": False}

Ckpt = Annotated[Path | None, typer.Option("-c", "--checkpoint", help="checkpoint (.safetensors)")]
Seed = Annotated[int, typer.Option(help="random seed (same seed, same output)")]
Temp = Annotated[float, typer.Option(help="sampling temperature (0: argmax)")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vqspeech {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    _state["debug"] = debug or os.environ.get("VQSPEECH_DEBUG", "") not in ("", "0")
    _state["quiet"] = quiet


def show_progress() -> bool:
    """Progress bars only on a terminal and without ``--quiet``."""
    return not _state["quiet"] and sys.stdout.isatty()


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="recipe YAML (recipes/*.yaml)")],
    out: Annotated[Path | None, typer.Option("--out", help="run dir (default runs/<config stem>/)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override: section.key=value")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue from the run dir's last checkpoint")] = False,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="override train.max_steps")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Train the task the recipe names (speech-vqvae, speech-prior).  Runs under torchrun for DDP."""
    from vqspeech.tasks.train import train as run_train

    run_train(config, out=out, overrides=set_ or [], resume=resume, max_steps=max_steps, device=device,
              progress=show_progress(), quiet=_state["quiet"])


def _bar(label: str):  # noqa: ANN202
    """A rich progress bar and its update callback (None when progress is off)."""
    if not show_progress():
        return None, None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn(f"[bold]{label}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeRemainingColumn())
    tid = bar.add_task(label, total=1)
    return bar, lambda done, total: bar.update(tid, completed=done, total=total)


@app.command()
def encode(
    inputs: Annotated[list[Path], typer.Argument(help="audio files, directories or manifests (.jsonl/.csv/.tsv)")],
    out: Annotated[Path, typer.Option("-o", "--out", help="token dataset directory")],
    checkpoint: Ckpt = None,
    format_: Annotated[str, typer.Option("--format", help="parquet, units or npz")] = "parquet",
    batch_size: Annotated[int, typer.Option(help="chunks per encoder batch")] = 16,
    num_shards: Annotated[int | None, typer.Option(help="split the inputs into this many shards")] = None,
    shard_index: Annotated[int | None, typer.Option(help="which shard this process encodes")] = None,
    trim: Annotated[bool, typer.Option(help="trim leading/trailing silence (offset kept)")] = False,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
) -> None:
    """Encode audio into a discrete token dataset (re-running skips utterances already written)."""
    from vqspeech.tasks.encode import encode as run

    if num_shards is not None and shard_index is None:
        raise InputError("--num-shards needs --shard-index")
    bar, cb = _bar("encode")
    with bar or _null():
        run(inputs, out, checkpoint=checkpoint, fmt=format_, batch_size=batch_size, num_shards=num_shards,
            shard_index=shard_index, device=device, trim=trim, progress=cb, quiet=_state["quiet"])


@app.command()
def decode(
    tokens: Annotated[Path, typer.Argument(help="token dataset directory, one .npz, or a units file")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output directory, or one .wav")],
    checkpoint: Ckpt = None,
    speaker: Annotated[str | None, typer.Option(help="speaker id (default: the one recorded with the tokens)")] = None,
    temperature: Temp = 1.0,
    seed: Seed = 0,
    batch_size: Annotated[int, typer.Option(help="utterances generated together")] = 16,
) -> None:
    """Decode tokens to speech with the WaveNet decoder."""
    from vqspeech.tasks.generate import decode as run

    bar, cb = _bar("decode")
    with bar or _null():
        run(tokens, out, checkpoint=checkpoint, speaker=speaker, temperature=temperature, seed=seed,
            batch_size=batch_size, progress=cb, quiet=_state["quiet"])


@app.command()
def convert(
    src: Annotated[Path, typer.Argument(help="input audio (any rate/channels soundfile reads)")],
    speaker: Annotated[str, typer.Option(help="target speaker id (see `vqspeech speakers`)")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output .wav")],
    checkpoint: Ckpt = None,
    temperature: Temp = 1.0,
    seed: Seed = 0,
) -> None:
    """Convert a recording to another speaker's voice (encode + decode)."""
    from vqspeech.tasks.generate import convert as run

    bar, cb = _bar("convert")
    with bar or _null():
        run(src, speaker, out, checkpoint=checkpoint, temperature=temperature, seed=seed, progress=cb,
            quiet=_state["quiet"])


@app.command()
def sample(
    out: Annotated[Path, typer.Option("-o", "--out", help="output directory (or one .wav with -n 1)")],
    checkpoint: Annotated[Path | None, typer.Option("-c", "--checkpoint", help="prior checkpoint")] = None,
    vqvae: Annotated[Path | None, typer.Option(help="VQ-VAE checkpoint (default: recorded in the prior)")] = None,
    speaker: Annotated[str | None, typer.Option(help="speaker id (default: the model's first)")] = None,
    seconds: Annotated[float, typer.Option(help="length of each sample")] = 2.0,
    n: Annotated[int, typer.Option("-n", help="number of samples (generated as one batch)")] = 1,
    temperature: Temp = 1.0,
    seed: Seed = 0,
) -> None:
    """Sample codes from the latent prior and decode them with its VQ-VAE."""
    from vqspeech.tasks.prior import sample as run

    bar, cb = _bar("sample")
    with bar or _null():
        run(out, checkpoint=checkpoint, vqvae=vqvae, speaker=speaker, seconds=seconds, n=n, temperature=temperature,
            seed=seed, progress=cb, quiet=_state["quiet"])


@app.command("phoneme-eval")
def phoneme_eval(
    inputs: Annotated[Path, typer.Argument(help="token dataset (or audio, encoded with -c first)")],
    alignments: Annotated[Path, typer.Option("--alignments", help="folder of TextGrids (same stems as the audio)")],
    checkpoint: Ckpt = None,
    json_: Annotated[Path | None, typer.Option("--json", help="write the metrics as JSON")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write a code x phone heat map (PNG)")] = None,
) -> None:
    """Score codes against phone alignments (many-to-one accuracy, purity, PNMI, bitrate...)."""
    from vqspeech.tasks.phoneme_eval import phoneme_eval as run

    run(inputs, alignments, checkpoint=checkpoint, json_path=json_, plot_path=plot, quiet=_state["quiet"])


def _null():  # noqa: ANN202
    from contextlib import nullcontext

    return nullcontext()


@app.command()
def speakers(checkpoint: Ckpt = None) -> None:
    """List the speaker ids a model knows."""
    from vqspeech.formats.checkpoint import find_checkpoint, read_meta

    meta = read_meta(find_checkpoint(checkpoint, ("speech-vqvae", "speech-prior")))
    for spk in meta.get("speakers", []):
        typer.echo(spk)


@app.command()
def info(path: Path) -> None:
    """Describe a checkpoint or a token dataset (kind, config, sizes, sha256)."""
    from vqspeech.tasks.inspect import describe

    typer.echo(describe(path))


@corpus_app.command("demo")
def corpus_demo(
    out: Path,
    speakers: Annotated[int, typer.Option(help="number of speakers (max 8)")] = 8,
    utterances: Annotated[int, typer.Option(help="utterances per speaker")] = 40,
    seed: Seed = 0,
) -> None:
    """Build the embedded demo corpus (espeak-ng speech with exact phone TextGrids)."""
    from vqspeech.data.demo_corpus import build_demo_corpus

    build_demo_corpus(out, speakers=speakers, utterances=utterances, seed=seed)


def main() -> None:
    """Console-script entry point."""
    try:
        app(standalone_mode=False)
    except VQSpeechError as exc:
        if _state["debug"]:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except (typer.Abort, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # click usage errors and everything unexpected
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click's usage errors (vendored by Typer)
            print(f"error: {exc.format_message()}", file=sys.stderr)
            sys.exit(2)
        if _state["debug"]:
            raise
        print(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        sys.exit(1)


__all__ = ["app", "main", "InputError"]


if __name__ == "__main__":
    main()
