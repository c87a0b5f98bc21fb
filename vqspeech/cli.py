"""Command line: a thin Typer layer.  Each command parses, resolves the family from the recipe or checkpoint
kind and calls one function; exceptions become one ``error: ...`` line with exit code 1 (failure while running)
or 2 (bad input)."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from vqspeech import __version__, progress
from vqspeech.errors import InputError, VQSpeechError

app = typer.Typer(
    name="vqspeech",
    help="VQ-VAE (van den Oord et al. 2017) for speech, images and video: train, encode to discrete codes, "
         "decode, convert voices, sample, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
corpus_app = typer.Typer(help="Build the embedded corpora.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")

_state = {"debug": False}

Ckpt = Annotated[Path | None, typer.Option("-c", "--checkpoint", help="checkpoint (.safetensors)")]
Seed = Annotated[int, typer.Option(help="random seed (same seed, same output)")]
Temp = Annotated[float, typer.Option(help="sampling temperature (0: argmax)")]
Device = Annotated[str, typer.Option(help="auto, cpu or cuda")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vqspeech {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars or result lines")] = False,
) -> None:
    _state["debug"] = debug or os.environ.get("VQSPEECH_DEBUG", "") not in ("", "0")
    progress.set_quiet(quiet)


def _family(checkpoint: Path | None, data: Path | None = None) -> str:
    """The family a command serves: the checkpoint's kind, else a token dataset's kind, else episodes (.npz)
    mean video; speech otherwise."""
    from vqspeech import registry

    checkpoint = checkpoint or (Path(os.environ["VQSPEECH_CHECKPOINT"]) if os.environ.get("VQSPEECH_CHECKPOINT")
                                else None)
    if checkpoint is not None and checkpoint.is_file() and checkpoint.suffix != ".vqs":
        from vqspeech.io.checkpoint import read_meta

        kind = registry.kinds().get(read_meta(checkpoint).get("kind"))
        if kind is not None:
            return kind.family
    if data is not None:
        from vqspeech.io.tokens import is_token_dataset, read_token_meta

        if is_token_dataset(data):
            kind = registry.kinds().get(read_token_meta(data).get("kind"))
            if kind is not None:
                return kind.family
        if data.suffix == ".npz" and data.is_file():  # an episode has actions; a token .npz of video [T,H,W] codes
            import numpy as np

            try:
                with np.load(data, allow_pickle=False) as z:
                    return "video" if "actions" in z.files or ("video" in z.files) or (
                        "codes" in z.files and z["codes"].ndim == 3) else "speech"
            except (OSError, ValueError):
                return "speech"
        if data.is_dir() and (any(data.glob("*/*/*.npz")) or any(data.glob("*/*.npz"))):
            return "video"
        if data.is_dir() and ((data / "cifar-10-batches-py").is_dir() or (data / "data_batch_1").is_file()
                              or any(data.glob("*/*.png")) or any(data.glob("*/*.JPEG"))
                              or any(data.glob("*/*/*.JPEG"))):
            return "image"
    return "speech"


def _commands(checkpoint: Path | None, data: Path | None = None) -> ModuleType:
    """The command module of the family (see :func:`_family`)."""
    return importlib.import_module(f"vqspeech.{_family(checkpoint, data)}.commands")


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="recipe YAML (recipes/*.yaml)")],
    out: Annotated[Path | None, typer.Option("--out", help="run dir (default runs/<config stem>/)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override: section.key=value")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue from the run dir's last checkpoint")] = False,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="override train.max_steps")] = None,
    device: Device = "auto",
) -> None:
    """Train the task the recipe names (its `task:` key).  Runs under torchrun for DDP."""
    from vqspeech.verbs import train as run

    run(config, out=out, overrides=set_ or [], resume=resume, max_steps=max_steps, device=device)


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
    device: Device = "auto",
    prior: Annotated[Path | None, typer.Option(help="speech codec (-o X.vqs): prior that drives the entropy coder "
                                                    "(default: a unigram table)")] = None,
    split: Annotated[str | None, typer.Option(help="video: only this split (train/test) of an episode corpus")] = None,
) -> None:
    """Encode inputs into a token dataset (re-running skips items written), or one audio file into a .vqs file."""
    if num_shards is not None and shard_index is None:
        raise InputError("--num-shards needs --shard-index")
    commands = _commands(checkpoint, inputs[0] if inputs else None)
    if commands.__name__.endswith("video.commands"):
        commands.encode(inputs, out, checkpoint=checkpoint, fmt=format_, split=split, batch_size=batch_size,
                        num_shards=num_shards, shard_index=shard_index, device=device)
        return
    with progress.bar("encode") as cb:
        commands.encode(inputs, out, checkpoint=checkpoint, fmt=format_, batch_size=batch_size, num_shards=num_shards,
                        shard_index=shard_index, device=device, trim=trim, on_progress=cb,
                        **({"prior": prior} if prior else {}))


@app.command()
def decode(
    tokens: Annotated[Path, typer.Argument(help="token dataset directory, one .npz, a units file or a .vqs file")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output directory, or one .wav")],
    checkpoint: Ckpt = None,
    speaker: Annotated[str | None, typer.Option(help="speaker id (default: the one recorded with the tokens)")] = None,
    temperature: Temp = 1.0,
    seed: Seed = 0,
    batch_size: Annotated[int, typer.Option(help="utterances generated together")] = 16,
    device: Device = "auto",
    prior: Annotated[Path | None, typer.Option(help=".vqs input: its prior, if not at the recorded path")] = None,
    fps: Annotated[float, typer.Option(help="video: GIF frames per second")] = 8.0,
) -> None:
    """Decode tokens (or a .vqs codec file) with the VQ-VAE's decoder."""
    commands = _commands(checkpoint, tokens)
    if commands.__name__.endswith("video.commands"):
        commands.decode(tokens, out, checkpoint=checkpoint, fps=fps, device=device)
        return
    with progress.bar("decode") as cb:
        commands.decode(tokens, out, checkpoint=checkpoint, speaker=speaker, temperature=temperature, seed=seed,
                        batch_size=batch_size, device=device, on_progress=cb, **({"prior": prior} if prior else {}))


@app.command()
def convert(
    src: Annotated[Path, typer.Argument(help="input audio (any rate/channels soundfile reads)")],
    speaker: Annotated[str, typer.Option(help="target speaker id (see `vqspeech speakers`)")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output .wav")],
    checkpoint: Ckpt = None,
    temperature: Temp = 1.0,
    seed: Seed = 0,
    device: Device = "auto",
) -> None:
    """Convert a recording to another speaker's voice (encode + decode)."""
    from vqspeech.speech.commands import convert as run

    with progress.bar("convert") as cb:
        run(src, speaker, out, checkpoint=checkpoint, temperature=temperature, seed=seed, device=device,
            on_progress=cb)


@app.command()
def sample(
    out: Annotated[Path, typer.Option("-o", "--out", help="output directory (or one .wav with -n 1)")],
    checkpoint: Annotated[Path | None, typer.Option("-c", "--checkpoint", help="prior checkpoint")] = None,
    vqvae: Annotated[Path | None, typer.Option(help="VQ-VAE checkpoint (default: recorded in the prior)")] = None,
    speaker: Annotated[str | None, typer.Option(help="speaker id (default: the model's first)")] = None,
    seconds: Annotated[float, typer.Option(help="length of each sample")] = 2.0,
    n: Annotated[int, typer.Option("-n", help="number of samples (generated as one batch)")] = 1,
    label: Annotated[str | None, typer.Option(help="image: class name or index (class-conditional prior)")] = None,
    context: Annotated[Path | None, typer.Option(help="video: episode .npz that starts the rollout")] = None,
    actions: Annotated[str | None, typer.Option(help="video: one action per generated frame, e.g. forward*10")] = None,
    actions_from: Annotated[bool, typer.Option(help="video: take the actions from the context episode")] = False,
    context_frames: Annotated[int, typer.Option(help="video: frames of context")] = 6,
    steps: Annotated[int | None, typer.Option(help="video: frames to generate (default: one per action)")] = None,
    start: Annotated[int, typer.Option(help="video: the context episode's frame the context starts at")] = 0,
    fps: Annotated[float, typer.Option(help="video: GIF frames per second")] = 4.0,
    ncol: Annotated[int, typer.Option(help="image: columns of the PNG grid")] = 8,
    temperature: Annotated[float | None, typer.Option(help="sampling temperature (0: argmax; default 1, video 0)")]
    = None,
    seed: Seed = 0,
    device: Device = "auto",
) -> None:
    """Sample codes from a latent prior and decode them (speech: wavs; image: a PNG grid; video: GIF + strip)."""
    from vqspeech.io.paths import require_inputs

    require_inputs([context])
    commands = _commands(checkpoint, context)  # without -c, a --context episode means the video family
    if commands.__name__.endswith("image.commands"):
        commands.sample(out, checkpoint, vqvae=vqvae, n=n, label=label, seed=seed,
                        temperature=1.0 if temperature is None else temperature, device=device, ncol=ncol)
        return
    if commands.__name__.endswith("video.commands"):
        commands.sample(out, checkpoint, context=context, vqvae=vqvae, actions=actions, actions_from=actions_from,
                        context_frames=context_frames, steps=steps, start=start, n=n, seed=seed,
                        temperature=temperature, fps=fps, device=device)
        return
    temperature = 1.0 if temperature is None else temperature
    with progress.bar("sample") as cb:
        commands.sample(out, checkpoint=checkpoint, vqvae=vqvae, speaker=speaker, seconds=seconds, n=n,
                        temperature=temperature, seed=seed, device=device, on_progress=cb)


@app.command()
def evaluate(
    inputs: Annotated[Path, typer.Argument(help="held-out data: speech corpus, image folder, CIFAR-10 or ImageNet")],
    checkpoint: Ckpt = None,
    json_: Annotated[Path | None, typer.Option("--json", help="write the report as JSON")] = None,
    md: Annotated[Path | None, typer.Option("--md", help="write the report as a markdown table")] = None,
    prior: Annotated[Path | None, typer.Option(help="image: the VQ-VAE's prior (learned-prior bound)")] = None,
    vae: Annotated[Path | None, typer.Option(help="image: a continuous VAE to compare on the same images")] = None,
    vqvae: Annotated[Path | None, typer.Option(help="video: the prior's frame VQ-VAE (default: the one recorded in "
                                                    "the prior)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="image: write grids here; video: strips of the "
                                                                   "first windows")] = None,
    max_items: Annotated[int, typer.Option(help="held-out utterances, images or video windows to score")] = 0,
    split: Annotated[str, typer.Option(help="video: the episodes' split")] = "test",
    context: Annotated[int, typer.Option(help="video: context frames")] = 6,
    steps: Annotated[int, typer.Option(help="video: predicted frames")] = 10,
    temperature: Annotated[float, typer.Option(help="video: sampling temperature of the rollouts (0: argmax)")] = 0.0,
    samples: Annotated[int, typer.Option(help="image: prior samples in the report's grid (0: none)")] = 16,
    valid_fraction: Annotated[float, typer.Option(help="image: held-out share of a class-folder corpus (the "
                                                       "training split's)")] = 0.1,
    seed: Seed = 0,
    device: Device = "auto",
) -> None:
    """The family's quality report on held-out data (speech: listening judges; image: bits/dim; video: PSNR/SSIM
    per predicted step)."""
    commands = _commands(checkpoint, inputs)
    if commands.__name__.endswith("video.commands"):
        commands.evaluate(inputs, checkpoint, vqvae=vqvae, json_path=json_, md_path=md, out_dir=out_dir, split=split,
                          context=context, steps=steps, max_windows=max_items or 16, temperature=temperature,
                          seed=seed, device=device)
    elif commands.__name__.endswith("image.commands"):
        commands.evaluate(inputs, checkpoint, prior=prior, vae=vae, json_path=json_, md_path=md, out_dir=out_dir,
                          device=device, max_images=max_items or 1000, seed=seed, samples=samples,
                          valid_fraction=valid_fraction)
    else:
        commands.evaluate(inputs, checkpoint, json_path=json_, md_path=md, max_items=max_items or 8, seed=seed,
                          device=device)


@app.command()
def align(
    corpus: Annotated[Path, typer.Argument(help="transcribed corpus (text beside each wav, VCTK txt/, LibriSpeech)")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="TextGrid folder (default: beside the audio)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace existing TextGrids")] = False,
) -> None:
    """Forced alignment (pocketsphinx, offline) -> TextGrids with a `phones` tier (ARPAbet)."""
    from vqspeech.speech.commands import align as run

    run(corpus, out, overwrite=overwrite)


@app.command("phoneme-eval")
def phoneme_eval(
    inputs: Annotated[Path, typer.Argument(help="token dataset (or audio, encoded with -c first)")],
    alignments: Annotated[Path, typer.Option("--alignments", help="folder of TextGrids (matched by utterance id)")],
    checkpoint: Ckpt = None,
    json_: Annotated[Path | None, typer.Option("--json", help="write the metrics as JSON")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write a code x phone heat map (PNG)")] = None,
    baseline: Annotated[bool, typer.Option(help="also score MFCC k-means codes (same K and rate)")] = False,
    device: Device = "auto",
) -> None:
    """Score codes against phone alignments (many-to-one accuracy, purity, PNMI, bitrate...)."""
    from vqspeech.speech.commands import phoneme_eval as run

    run(inputs, alignments, checkpoint=checkpoint, json_path=json_, plot_path=plot, baseline=baseline, device=device)


@app.command()
def speakers(checkpoint: Ckpt = None) -> None:
    """List the speaker ids a speech model knows."""
    from vqspeech.speech.commands import speakers as run

    for spk in run(checkpoint):
        typer.echo(spk)


@app.command()
def info(path: Path) -> None:
    """Describe a checkpoint, a token dataset or a .vqs codec file (kind, config, sizes, sha256, bits/s)."""
    from vqspeech.verbs import describe

    typer.echo(describe(path))


@corpus_app.command("images")
def corpus_images(
    out: Path,
    seed: Seed = 0,
    train_per_class: Annotated[int, typer.Option(help="32x32 training patches per class")] = 500,
    test_per_class: Annotated[int, typer.Option(help="32x32 test patches per class")] = 100,
) -> None:
    """Build the embedded image corpus: natural patches in the CIFAR-10 (and ImageNet) layouts."""
    from vqspeech.image.commands import corpus_images as run

    summary = run(out, seed=seed, train_per_class=train_per_class, test_per_class=test_per_class)
    c = summary["cifar10"]
    progress.say(f"image corpus -> {out}: {len(summary['classes'])} classes, {c['train']} training and {c['test']} "
                 f"test 32x32 patches (CIFAR-10 layout)"
                 + (f", {summary['imagenet']['train']} + {summary['imagenet']['val']} ImageNet-layout crops"
                    if summary.get("imagenet") else ""))


@corpus_app.command("maze")
def corpus_maze(
    out: Path,
    train_episodes: Annotated[int, typer.Option("--train", help="training episodes")] = 200,
    test_episodes: Annotated[int, typer.Option("--test", help="test episodes")] = 20,
    length: Annotated[int, typer.Option(help="frames per episode")] = 100,
    size: Annotated[int, typer.Option(help="frame size (84 or 64)")] = 84,
    seed: Seed = 0,
    mazes: Annotated[int, typer.Option(help="number of seeded mazes (episode i walks maze i mod M)")] = 4,
    cells: Annotated[int, typer.Option(help="rooms per side of each maze")] = 6,
    explore: Annotated[float, typer.Option(help="probability of a random action at each step")] = 0.25,
) -> None:
    """Render first-person maze episodes (pure numpy, seeded, bit-exact) in the episode layout."""
    from vqspeech.video.commands import corpus_maze as run

    run(out, train=train_episodes, test=test_episodes, length=length, size=size, seed=seed, mazes=mazes, cells=cells,
        explore=explore)


@corpus_app.command("vizdoom")
def corpus_vizdoom(
    out: Path,
    train_episodes: Annotated[int, typer.Option("--train", help="training episodes")] = 100,
    test_episodes: Annotated[int, typer.Option("--test", help="test episodes")] = 10,
    length: Annotated[int, typer.Option(help="frames per episode")] = 100,
    size: Annotated[int, typer.Option(help="frame size")] = 84,
    seed: Seed = 0,
    scenario: Annotated[str, typer.Option(help="ViZDoom scenario")] = "my_way_home",
) -> None:
    """Record first-person ViZDoom/Freedoom episodes (extra `video`) in the episode layout."""
    from vqspeech.video.commands import corpus_vizdoom as run

    run(out, train=train_episodes, test=test_episodes, length=length, size=size, seed=seed, scenario=scenario)


@corpus_app.command("demo")
def corpus_demo(
    out: Path,
    speakers: Annotated[int, typer.Option(help="number of speakers (max 8)")] = 8,
    utterances: Annotated[int, typer.Option(help="utterances per speaker")] = 40,
    seed: Seed = 0,
) -> None:
    """Build the embedded speech demo corpus (espeak-ng speech with exact phone TextGrids)."""
    from vqspeech.speech.commands import corpus_demo as run

    run(out, speakers=speakers, utterances=utterances, seed=seed)


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


__all__ = ["app", "main"]


if __name__ == "__main__":
    main()
