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
