"""The one training loop, shared by every task: device, DDP under torchrun, Adam, optional bf16 autocast,
metrics.jsonl, progress, periodic atomic checkpoints, exact ``--resume`` and a NaN/inf guard."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import yaml

from vqspeech.errors import ConfigError, InputError, VQSpeechError
from vqspeech.formats.checkpoint import atomic_write, load_state, save_checkpoint
from vqspeech.tasks.recipe import load_recipe, resolve


def make_task(cfg: dict[str, Any], run_dir: Path, quiet: bool = False) -> Any:
    """The task adapter named by ``cfg['task']``."""
    if cfg["task"] == "speech-vqvae":
        from vqspeech.tasks.speech import SpeechVQVAETask

        return SpeechVQVAETask(cfg, run_dir, quiet)
    if cfg["task"] == "speech-prior":
        from vqspeech.tasks.prior import SpeechPriorTask

        return SpeechPriorTask(cfg, run_dir, quiet)
    raise ConfigError(f"task {cfg['task']!r} is not trainable in this version")


def pick_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is an input error."""
    if name not in ("auto", "cpu", "cuda"):
        raise InputError(f"--device must be auto, cpu or cuda, not {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available; use --device cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device(name)


def train(
    recipe: str | Path, *, out: str | Path | None = None, overrides: list[str] | None = None, resume: bool = False,
    max_steps: int | None = None, device: str = "auto", progress: bool = False, quiet: bool = False,
) -> Path:
    """Train the recipe's task.  Returns the path of the final checkpoint (``checkpoints/last.safetensors``)."""
    overrides = list(overrides or [])
    if max_steps is not None:
        overrides.append(f"train.max_steps={max_steps}")
    run_dir = Path(out) if out else Path("runs") / Path(recipe).stem
    state_path = run_dir / "train_state.pt"
    if resume:
        if not (run_dir / "config.yaml").exists() or not state_path.exists():
            raise InputError(f"--resume: {run_dir} has no config.yaml/train_state.pt to resume from")
        cfg = load_recipe(run_dir / "config.yaml", overrides)
    else:
        cfg = load_recipe(recipe, overrides)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    dev = pick_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    main_rank = rank == 0
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    tc = cfg["train"]
    torch.manual_seed(tc["seed"])
    task = make_task(cfg, run_dir, quiet)
    model = task.build_model().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=tc["lr"])
    step = 0
    if resume:
        weights, _ = load_state(run_dir / "checkpoints" / "last.safetensors")
        model.load_state_dict(weights)
        st = torch.load(state_path, weights_only=True, map_location="cpu")
        opt.load_state_dict(st["optimizer"])
        step = int(st["step"])
        torch.set_rng_state(st["rng"])
    if main_rank:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        if not quiet:
            print(f"{cfg['task']}: {task.describe()}; {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M "
                  f"parameters; device {dev}{f' x{world}' if world > 1 else ''}; run dir {run_dir}", flush=True)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    meta = {"kind": task.kind, "config": cfg, **task.meta()}
    autocast = (torch.autocast(dev.type, dtype=torch.bfloat16) if tc["precision"] == "bf16" else nullcontext())
    metrics_f = open(run_dir / "metrics.jsonl", "a") if main_rank else None  # noqa: SIM115
    deadline = time.time() + tc["max_minutes"] * 60 if tc["max_minutes"] > 0 else math.inf

    def checkpoint() -> None:
        if not main_rank:
            return
        ck = run_dir / "checkpoints"
        save_checkpoint(ck / f"step-{step}.safetensors", model, {**meta, "step": step})
        save_checkpoint(ck / "last.safetensors", model, {**meta, "step": step})
        state = {"optimizer": opt.state_dict(), "step": step, "rng": torch.get_rng_state()}
        atomic_write(state_path, lambda tmp: torch.save(state, tmp))

    bar = None
    if progress and main_rank:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("[bold]train"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                       TimeRemainingColumn(), TextColumn("{task.fields[info]}"))
        bar_id = bar.add_task("train", total=tc["max_steps"], completed=step, info="")
        bar.start()
    t_last, n_samples = time.time(), 0
    model.train()
    try:
        while step < tc["max_steps"] and time.time() < deadline:
            batch = tuple(t.to(dev) for t in task.batch(tc["seed"] * 1_000_003 + step * world + rank))
            with autocast:
                loss, stats = task.loss(net, batch)
            if not math.isfinite(loss.item()):
                raise VQSpeechError(
                    f"loss became {loss.item()} at step {step + 1}; stopped. The last good checkpoint is "
                    f"{run_dir / 'checkpoints' / 'last.safetensors'}; try a lower train.lr or train.grad_clip"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if tc["grad_clip"] > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), tc["grad_clip"])
            opt.step()
            step += 1
            n_samples += task.samples_per_batch() * world
            if main_rank and (step % tc["log_every"] == 0 or step == tc["max_steps"]):
                now = time.time()
                row = {"step": step, "loss": loss.item(), **stats, "samples_per_s": n_samples / (now - t_last)}
                t_last, n_samples = now, 0
                if tc["valid_every"] > 0 and step % tc["valid_every"] == 0:
                    model.eval()
                    row.update(task.validate(model, dev))
                    model.train()
                metrics_f.write(json.dumps(row) + "\n")
                metrics_f.flush()
                info = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                                if k not in ("step",))
                if bar is not None:
                    bar.update(bar_id, completed=step, info=info)
                elif not quiet:
                    print(f"step {step}: {info}", flush=True)
            if tc["checkpoint_every"] > 0 and step % tc["checkpoint_every"] == 0:
                checkpoint()
        if main_rank:
            checkpoint()
            final = task.final_report(model, dev) if hasattr(task, "final_report") else {}
            if final:
                metrics_f.write(json.dumps({"step": step, **final}) + "\n")
                if not quiet:
                    print("final: " + " ".join(f"{k}={v:.4g}" for k, v in final.items()), flush=True)
    finally:
        if bar is not None:
            bar.stop()
        if metrics_f is not None:
            metrics_f.close()
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    if main_rank and not quiet:
        print(f"checkpoint: {run_dir / 'checkpoints' / 'last.safetensors'}", file=sys.stdout, flush=True)
    return run_dir / "checkpoints" / "last.safetensors"


__all__ = ["train", "make_task", "pick_device", "resolve"]
