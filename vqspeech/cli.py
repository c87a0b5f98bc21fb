"""Command line: a thin Typer layer that knows no family.

``train`` and ``info`` dispatch on the recipe's or file's kind (:mod:`vqspeech.verbs`).  The shared verbs
``encode``, ``decode``, ``sample`` and ``evaluate`` take the options declared here (passed to every family) and
the options each family declares in its ``family.py`` (passed only when given, to the family that takes them);
:func:`vqspeech.registry.family_for` names the family from the checkpoint, the token dataset or the input.  Each
family adds its own commands from its ``cli.py``.  Exceptions become one ``error: ...`` line with exit code 1
(failure while running) or 2 (bad input)."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from vqspeech import __version__, progress
from vqspeech.errors import InputError, VQSpeechError
from vqspeech.registry import FAMILIES

app = typer.Typer(
    name="vqspeech",
    help="VQ-VAE (van den Oord et al. 2017), one quantizer core under several families of data ("
         + ", ".join(FAMILIES) + "): train, encode to discrete codes, decode, sample, evaluate.",
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


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _given(ctx: typer.Context, names: list[str]) -> list[str]:
    """The options among ``names`` that the user gave (on the command line or from the environment)."""
    sources = {n: ctx.get_parameter_source(n) for n in names}
    return [n for n, src in sources.items() if src is not None and src.name not in ("DEFAULT", "DEFAULT_MAP")]


def _family_options(verb: str) -> dict[str, tuple[type, str]]:
    """The family options of ``verb``, merged over the families: ``{name: (type, help)}``; each help line names
    the families that take the option."""
    from vqspeech import registry

    merged: dict[str, tuple[type, dict[str, list[str]]]] = {}
    for fam in registry.families().values():
        for name, opt in fam.verb_options(verb).items():
            kind, helps = merged.setdefault(name, (opt.type, {}))
            if kind is not opt.type:
                raise TypeError(f"{verb} {_flag(name)}: {fam.name} declares it as {opt.type.__name__}, another "
                                f"family as {kind.__name__}")
            helps.setdefault(opt.help, []).append(fam.name)
    return {name: (kind, "; ".join(f"{', '.join(fams)}: {h}" for h, fams in helps.items()))
            for name, (kind, helps) in merged.items()}


def _parameter(name: str, kind: type, help_: str) -> inspect.Parameter:
    if kind is bool:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False,
                                 annotation=Annotated[bool, typer.Option(help=help_)])
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[kind | None, typer.Option(help=help_, show_default=False)])


def _dispatch(ctx: typer.Context, verb: str, positional: tuple[object, ...], shared: dict[str, object],
              family_values: dict[str, object], data: list[Path | None]) -> None:
    """Call ``verb`` of the family that serves it (see :func:`vqspeech.registry.family_for`) with the shared
    options and the family options the user gave; a given option the family does not take is an input error."""
    from vqspeech import registry
    from vqspeech.io.paths import require_inputs

    require_inputs(data)  # a missing input is named before any checkpoint is read
    given = _given(ctx, list(family_values))
    fam = registry.family_for(verb, shared.get("checkpoint"), data, given)  # type: ignore[arg-type]
    own = fam.verb_options(verb)
    for name in given:
        if name not in own:
            raise InputError(f"{_flag(name)} is not an option of {fam.name} {verb}")
    kwargs = dict(shared)
    kwargs.update({own[n].keyword(n): family_values[n] for n in given})
    run = getattr(importlib.import_module(fam.commands_module), verb)
    try:
        takes_progress = "on_progress" in inspect.signature(run).parameters
    except (TypeError, ValueError):
        takes_progress = False
    if not takes_progress:
        run(*positional, **kwargs)
        return
    with progress.bar(verb) as cb:
        run(*positional, **kwargs, on_progress=cb)


def _shared_verb(verb: str, doc: str, shared: list[inspect.Parameter],
                 call: Callable[[dict[str, object]], tuple[tuple[object, ...], dict[str, object], list[Path | None]]]
                 ) -> None:
    """Register ``verb``: its shared parameters (declared here, passed to every family) followed by the options
    the families declare (passed only when given).  ``call(values)`` -> ``(positional arguments, shared keyword
    arguments, data paths that tell the family)``."""
    options = _family_options(verb)
    taken = {p.name for p in shared}
    clash = taken & set(options)
    if clash:
        raise TypeError(f"{verb}: a family declares the shared option(s) {', '.join(sorted(clash))}")

    def command(ctx: typer.Context, **values: object) -> None:
        positional, kwargs, data = call(values)
        _dispatch(ctx, verb, positional, kwargs, {n: values[n] for n in options}, data)

    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [_p("ctx", typer.Context), *shared, *(_parameter(n, kind, h) for n, (kind, h) in options.items())])
    command.__doc__ = doc
    command.__name__ = verb
    app.command(verb)(command)


def _p(name: str, annotation: object, default: object = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


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


def _encode(v: dict[str, object]) -> tuple[tuple[object, ...], dict[str, object], list[Path | None]]:
    if v["num_shards"] is not None and v["shard_index"] is None:
        raise InputError("--num-shards needs --shard-index")
    inputs = list(v["inputs"])  # type: ignore[call-overload]
    return ((inputs, v["out"]), {"checkpoint": v["checkpoint"], "fmt": v["format_"], "num_shards": v["num_shards"],
                                 "shard_index": v["shard_index"], "device": v["device"]}, inputs)


_shared_verb("encode", "Encode model inputs into a token dataset (re-running skips items written), or one audio "
             "file into a .vqs codec file.", [
    _p("inputs", Annotated[list[Path], typer.Argument(help="model inputs: files, folders, manifests")]),
    _p("out", Annotated[Path, typer.Option("-o", "--out", help="token dataset directory (or OUT.vqs)")]),
    _p("checkpoint", Ckpt, None),
    _p("format_", Annotated[str, typer.Option("--format", help="parquet, units or npz")], "parquet"),
    _p("num_shards", Annotated[int | None, typer.Option(help="split the inputs into this many shards")], None),
    _p("shard_index", Annotated[int | None, typer.Option(help="which shard this process encodes")], None),
    _p("device", Device, "auto"),
], _encode)

_shared_verb("decode", "Decode tokens (a token dataset, one .npz, a units file or a .vqs file) with the VQ-VAE's "
             "decoder.", [
    _p("tokens", Annotated[Path, typer.Argument(help="token dataset directory, one .npz, a units file or a .vqs "
                                                     "file")]),
    _p("out", Annotated[Path, typer.Option("-o", "--out", help="output directory, or one file")]),
    _p("checkpoint", Ckpt, None),
    _p("device", Device, "auto"),
], lambda v: ((v["tokens"], v["out"]), {"checkpoint": v["checkpoint"], "device": v["device"]}, [v["tokens"]]))

_shared_verb("sample", "Sample codes from a latent prior and decode them with its VQ-VAE.", [
    _p("out", Annotated[Path, typer.Option("-o", "--out", help="output file (or directory)")]),
    _p("checkpoint", Annotated[Path | None, typer.Option("-c", "--checkpoint", help="prior checkpoint")], None),
    _p("vqvae", Annotated[Path | None, typer.Option(help="VQ-VAE checkpoint (default: recorded in the prior)")],
       None),
    _p("n", Annotated[int, typer.Option("-n", help="number of samples (generated as one batch)")], 1),
    _p("seed", Seed, 0),
    _p("device", Device, "auto"),
], lambda v: ((v["out"],), {"checkpoint": v["checkpoint"], "vqvae": v["vqvae"], "n": v["n"], "seed": v["seed"],
                            "device": v["device"]}, [v.get("context")]))  # type: ignore[list-item]

_shared_verb("evaluate", "The family's quality report on held-out data.", [
    _p("inputs", Annotated[Path, typer.Argument(help="held-out data (the family's corpus or folder)")]),
    _p("checkpoint", Ckpt, None),
    _p("json_", Annotated[Path | None, typer.Option("--json", help="write the report as JSON")], None),
    _p("md", Annotated[Path | None, typer.Option("--md", help="write the report as a markdown table")], None),
    _p("seed", Seed, 0),
    _p("device", Device, "auto"),
], lambda v: ((v["inputs"],), {"checkpoint": v["checkpoint"], "json_path": v["json_"], "md_path": v["md"],
                               "seed": v["seed"], "device": v["device"]}, [v["inputs"]]))


@app.command()
def info(path: Path) -> None:
    """Describe a checkpoint, a token dataset or a .vqs codec file (kind, config, sizes, sha256, bits/s)."""
    from vqspeech.verbs import describe

    typer.echo(describe(path))


def _register_families() -> None:
    """Each family adds its own commands (``convert``, ``corpus maze``...) from its ``cli`` module."""
    from vqspeech import registry

    for fam in registry.families().values():
        importlib.import_module(fam.cli_module).register(app, corpus_app)


_register_families()


@app.command()
def models() -> None:
    """List the models shipped in the package (use one with -c NAME)."""
    from vqspeech.verbs import models as run

    found = run()
    if not found:
        typer.echo("no models are shipped in this installation")
    for m in found:
        voices = f"voices {', '.join(m['voices'])}; " if m["voices"] else ""
        typer.echo(f"{m['name']}: {m['family']} ({', '.join(m['kinds'])}); {voices}{m['sample_rate']} Hz; "
                   f"{m['size_mb']:.1f} MB; model card {m['card'] or '(none)'}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="a run directory (what `train` wrote, e.g. runs/demo)")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="the page (default RUN_DIR/report.html)")] = None,
) -> None:
    """A self-contained HTML page of a run: tables, curves, players and figures (opens from disk, no server)."""
    from vqspeech.reports import write_report

    progress.say(f"report: {write_report(run_dir, out)}")


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
