"""The one training loop, shared by every task kind: DDP under torchrun, Adam, optional bf16 autocast,
``metrics.jsonl``, periodic atomic checkpoints, exact ``--resume`` (CPU and CUDA RNG), a NaN/inf guard and a
wall-clock limit.  Under DDP the stop decisions (time limit, non-finite loss) are agreed across ranks, so no
rank is left waiting in a collective."""

from __future__ import annotations

import math
import os
import shutil
import signal
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from vqspeech import progress
from vqspeech.device import pick_device
from vqspeech.errors import ConfigError, VQSpeechError
from vqspeech.io import jsonio
from vqspeech.io.atomic import atomic_write
from vqspeech.io.checkpoint import load_state, save_checkpoint
from vqspeech.train.recipe import dump_yaml, to_dict
from vqspeech.train.task import Task


def _agree(flag: bool, device: torch.device) -> bool:
    """True when any rank says so (a no-op without DDP)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def _max_all(value: float, device: torch.device) -> float:
    """The largest ``value`` over the ranks (a no-op without DDP), so every rank uses the same learning rate."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    t = torch.tensor([value], device=device, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def lr_factor(tc: Any, step: int, time_fraction: float) -> float:
    """Learning-rate multiplier at ``step``: linear warm-up over ``warmup_steps``, then constant or a cosine from 1
    to ``lr_final`` over the run, whose progress is the larger of ``step / max_steps`` and the fraction of
    ``max_minutes`` spent (``time_fraction``), so a time-bounded run still ends its decay when time runs out."""
    warm = min(1.0, (step + 1) / tc.warmup_steps) if tc.warmup_steps > 0 else 1.0
    if tc.lr_schedule == "constant":
        return warm
    done = min(1.0, max(step / tc.max_steps if tc.max_steps else 0.0, time_fraction))
    return warm * (tc.lr_final + (1.0 - tc.lr_final) * 0.5 * (1.0 + math.cos(math.pi * done)))


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"rng": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(st: dict[str, Any]) -> None:
    torch.set_rng_state(st["rng"])
    if "cuda_rng" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda_rng"])


def setup(device: str) -> torch.device:
    """The device, with the process group initialised under torchrun (call before building a task: tasks build
    shared caches on rank 0 behind a barrier)."""
    dev = pick_device(device)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    return dev


def _compile(model: torch.nn.Module, dev: torch.device) -> None:
    """``train.compile``: compile the modules the model names in ``compile_targets()`` in place (state-dict keys
    unchanged).  Falls back to eager, with one line saying why, where no C++ compiler exists (CPU) or the model
    names nothing; compile errors later also fall back to eager (dynamo's ``suppress_errors``)."""
    targets = getattr(model, "compile_targets", None)
    mods = list(targets()) if targets is not None else []
    if not mods:
        progress.warn("train.compile: this model names no modules to compile; training eagerly")
        return
    if dev.type == "cpu" and not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        progress.warn("train.compile: no C++ compiler on PATH (needed on CPU); training eagerly")
        return
    import torch._dynamo

    torch._dynamo.config.suppress_errors = True
    for m in mods:
        m.compile()
    progress.say(f"train.compile: compiling {', '.join(type(m).__name__ for m in mods)} (first steps are slow)")


def train(cfg: Any, task: Task, run_dir: str | Path, *, resume: bool = False, device: str = "auto") -> Path:
    """Train ``task`` with the typed recipe ``cfg`` (its ``train`` section) in ``run_dir``.

    Returns the final checkpoint ``run_dir/checkpoints/last.safetensors``.
    """
    run_dir = Path(run_dir)
    tc = cfg.train
    state_path = run_dir / "train_state.pt"
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    dev = setup(device)
    main_rank = rank == 0
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    torch.manual_seed(tc.seed)
    model = task.build_model().to(dev)
    if tc.freeze_codes_after > 0 and not hasattr(model, "freeze_codes"):
        raise ConfigError(f"train.freeze_codes_after: a {task.kind} model has no codes to freeze (set it to 0)")
    if 0 < tc.max_steps <= tc.freeze_codes_after:
        progress.warn(f"train.freeze_codes_after ({tc.freeze_codes_after}) is not below train.max_steps "
                      f"({tc.max_steps}): the codes never freeze")
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    step = 0
    spent_before = 0.0  # minutes trained by earlier invocations of this run (the schedule continues from them)
    if resume:
        weights, _ = load_state(run_dir / "checkpoints" / "last.safetensors")
        model.load_state_dict(weights)
        st = torch.load(state_path, weights_only=True, map_location="cpu")
        opt.load_state_dict(st["optimizer"])
        step = int(st["step"])
        spent_before = float(st.get("minutes_spent", 0.0))
        _set_rng_state(st)
        if 0 < tc.max_minutes <= spent_before:
            progress.warn(f"{run_dir}: its time budget (train.max_minutes {tc.max_minutes:g}) is spent "
                          f"({spent_before:.1f} min); raise it to train further")
            return run_dir / "checkpoints" / "last.safetensors"
    if main_rank:
        (run_dir / "config.yaml").write_text(dump_yaml(cfg))
        n_params = sum(p.numel() for p in model.parameters()) / 1e6
        progress.say(f"{task.kind}: {task.describe()}; {n_params:.2f} M parameters; device {dev}"
                     f"{f' x{world}' if world > 1 else ''}; run dir {run_dir}")
    if tc.compile:
        _compile(model, dev)
    def wrap() -> torch.nn.Module:  # DDP registers the parameters that need a gradient when it wraps
        if world == 1:
            return model
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

    net = wrap()
    meta = {"kind": task.kind, "config": to_dict(cfg), **task.meta()}
    autocast = torch.autocast(dev.type, dtype=torch.bfloat16) if tc.precision == "bf16" else nullcontext()
    started = time.time()
    # a time budget is the run's, not this invocation's: a resumed run stops when all its invocations spent it
    deadline = started + (tc.max_minutes - spent_before) * 60 if tc.max_minutes > 0 else math.inf

    def minutes_spent() -> float:
        return spent_before + (time.time() - started) / 60

    def checkpoint() -> None:
        if not main_rank:
            return
        ck = run_dir / "checkpoints"
        stamp = {**meta, "step": step, "train_minutes": minutes_spent()}  # wall minutes of all its invocations
        save_checkpoint(ck / f"step-{step}.safetensors", model, stamp)
        save_checkpoint(ck / "last.safetensors", model, stamp)
        state = {"optimizer": opt.state_dict(), "step": step, "minutes_spent": minutes_spent(), **_rng_state()}
        atomic_write(state_path, lambda tmp: torch.save(state, tmp))

    # SIGTERM ends the run after the current step with a checkpoint and its train_state.pt (exit 0): a session
    # that must stop keeps every step, and --resume continues exactly from there.
    stop = {"requested": False}

    def request_stop(signum: int, frame: Any) -> None:
        stop["requested"] = True
        progress.warn(f"signal {signum}: stopping after this step with a checkpoint")

    installed = True
    try:
        previous = signal.signal(signal.SIGTERM, request_stop)
    except ValueError:  # not the main thread: no handler
        installed, previous = False, None
    metrics_f = open(run_dir / "metrics.jsonl", "a") if main_rank else None
    log = progress.TrainLog(tc.max_steps, step) if main_rank else None
    t_last, n_samples = time.time(), 0
    model.train()
    try:
        while step < tc.max_steps and not _agree(time.time() >= deadline or stop["requested"], dev):
            if 0 < tc.freeze_codes_after <= step and not model.codes_frozen:  # two-stage schedule: stage two
                model.freeze_codes()
                net = wrap()
                if main_rank:
                    progress.say(f"step {step}: encoder and codebook frozen; the decoder trains on (stage two)")
            batch = tuple(t.to(dev) for t in task.batch(tc.seed * 1_000_003 + step * world + rank))
            with autocast:
                loss, stats = task.loss(net, batch)
            if _agree(not math.isfinite(loss.item()), dev):
                raise VQSpeechError(
                    f"loss became {loss.item()} at step {step + 1}; stopped. The last good checkpoint is "
                    f"{run_dir / 'checkpoints' / 'last.safetensors'}; try a lower train.lr or train.grad_clip"
                )
            if tc.lr_schedule != "constant" or tc.warmup_steps > 0:
                spent = minutes_spent() / tc.max_minutes if tc.max_minutes > 0 else 0.0
                lr = tc.lr * lr_factor(tc, step, _max_all(spent, dev))
                for group in opt.param_groups:
                    group["lr"] = lr
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if tc.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            opt.step()
            step += 1
            n_samples += task.samples_per_batch() * world
            log_now = step % tc.log_every == 0 or step == tc.max_steps
            valid_now = tc.valid_every > 0 and step % tc.valid_every == 0
            if main_rank and (log_now or valid_now):
                row: dict[str, Any] = {"step": step}
                if log_now:
                    now = time.time()
                    row.update(loss=loss.item(), **stats, samples_per_s=n_samples / (now - t_last),
                               lr=opt.param_groups[0]["lr"], minutes=round(minutes_spent(), 2))
                    t_last, n_samples = now, 0
                if valid_now:  # on its own schedule, whether or not this is a log step
                    model.eval()
                    row.update(task.validate(model, dev))
                    model.train()
                metrics_f.write(jsonio.dumps(row, indent=None) + "\n")
                metrics_f.flush()
                log.step(step, row)
            if tc.checkpoint_every > 0 and step % tc.checkpoint_every == 0:
                checkpoint()
        if main_rank:
            checkpoint()
            model.eval()
            final = {} if stop["requested"] else task.final_report(model, dev)  # a stopped run is not finished
            if final:
                metrics_f.write(jsonio.dumps({"step": step, **final}, indent=None) + "\n")
                progress.say("final: " + " ".join(f"{k}={v:.4g}" for k, v in final.items()))
    finally:
        if installed:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        if log is not None:
            log.close()
        if metrics_f is not None:
            metrics_f.close()
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    if main_rank:
        progress.say(f"checkpoint: {run_dir / 'checkpoints' / 'last.safetensors'}")
    return run_dir / "checkpoints" / "last.safetensors"


__all__ = ["train"]
