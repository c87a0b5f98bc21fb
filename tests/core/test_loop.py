"""The one training loop (:func:`vqspeech.train.loop.train`) over a toy task: exact ``--resume``, the NaN guard,
validation on its own schedule, and stop decisions agreed across DDP ranks.  No family is involved: the loop
takes any :class:`vqspeech.train.task.Task`."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from helpers import free_port, spawn_ranks
from torch import nn

from vqspeech.errors import VQSpeechError
from vqspeech.io.checkpoint import load_state, read_meta
from vqspeech.train.loop import train
from vqspeech.train.recipe import TrainConfig


@dataclass
class ToyConfig:
    task: str = "toy"
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        max_steps=12, batch_size=8, lr=0.01, log_every=1, checkpoint_every=0, valid_every=0, max_minutes=0.0,
        compile=False))


class ToyTask:
    """Linear regression onto ``y = x . w*`` with seeded batches; can poison one loss or slow one rank."""

    kind = "toy"

    def __init__(self, nan_at_call: int = 0, slow_rank: int = -1) -> None:
        self.nan_at_call, self.slow_rank, self.calls = nan_at_call, slow_rank, 0
        self.model: nn.Module | None = None

    def describe(self) -> str:
        return "toy regression"

    def meta(self) -> dict[str, object]:
        return {"num_codes": 0}

    def build_model(self) -> nn.Module:
        self.model = nn.Linear(4, 1)
        return self.model

    def batch(self, seed: int) -> tuple[torch.Tensor, ...]:
        if int(os.environ.get("RANK", "0")) == self.slow_rank:
            time.sleep(0.3)  # this rank's clock passes the time limit at another step than the other's
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(8, 4, generator=g)
        return x, x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])

    def samples_per_batch(self) -> int:
        return 8

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        x, y = batch
        loss = ((model(x) - y) ** 2).mean()
        self.calls += 1
        if self.calls == self.nan_at_call:
            loss = loss * float("nan")
        return loss, {"mse": loss.item()}

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        x, y = self.batch(-1)
        return {"valid_mse": float(((model(x.to(device)) - y.to(device)) ** 2).mean())}

    def final_report(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        return self.validate(model, device)


def _cfg(**train: object) -> ToyConfig:
    cfg = ToyConfig()
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def test_exact_resume(tmp_path: Path) -> None:
    full = train(_cfg(max_steps=12), ToyTask(), tmp_path / "a", device="cpu")
    train(_cfg(max_steps=7), ToyTask(), tmp_path / "b", device="cpu")
    resumed = train(_cfg(max_steps=12), ToyTask(), tmp_path / "b", resume=True, device="cpu")
    wa, _ = load_state(full)
    wb, meta = load_state(resumed)
    assert meta["step"] == 12 and meta["kind"] == "toy" and meta["config"]["train"]["max_steps"] == 12
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert torch.load(tmp_path / "b" / "train_state.pt", weights_only=True)["minutes_spent"] > 0
    assert (tmp_path / "b" / "checkpoints" / "step-7.safetensors").exists()
    fresh = ToyTask().build_model().state_dict()
    assert any(not torch.equal(wa[k], fresh[k]) for k in wa)  # training moved the weights


def test_nan_guard_keeps_last_good_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "nan"
    train(_cfg(max_steps=3), ToyTask(), run, device="cpu")
    good = (run / "checkpoints" / "last.safetensors").read_bytes()
    with pytest.raises(VQSpeechError, match="loss became nan at step 5"):
        train(_cfg(max_steps=50, checkpoint_every=1), ToyTask(nan_at_call=2), run, resume=True, device="cpu")
    assert read_meta(run / "checkpoints" / "last.safetensors")["step"] == 4  # the step before the NaN
    assert good != (run / "checkpoints" / "last.safetensors").read_bytes()


def test_validation_runs_on_its_own_schedule(tmp_path: Path) -> None:
    train(_cfg(max_steps=10, valid_every=3, log_every=10), ToyTask(), tmp_path / "r", device="cpu")
    rows = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    final = rows.pop()  # the final report, written once at the end
    assert final["step"] == 10 and "valid_mse" in final and "loss" not in final
    assert [r["step"] for r in rows if "valid_mse" in r] == [3, 6, 9]
    assert [r["step"] for r in rows if "loss" in r] == [10]


def _ddp_train(rank: int, world: int, port: int, out: str, minutes: float) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import torch.distributed as dist

    dist.init_process_group("gloo", rank=rank, world_size=world)
    task = ToyTask(slow_rank=0 if minutes else -1)
    train(_cfg(max_steps=10_000 if minutes else 4, max_minutes=minutes, log_every=100), task, out, device="cpu")
    torch.save({k: v.clone() for k, v in task.model.state_dict().items()}, f"{out}/rank{rank}.pt")
    torch.save({"calls": torch.tensor(task.calls)}, f"{out}/calls{rank}.pt")


def _spawn(args: tuple, timeout: float = 120) -> None:
    spawn_ranks(_ddp_train, args, timeout=timeout)


def test_ddp_ranks_agree_on_weights_and_on_the_time_limit(tmp_path: Path) -> None:
    _spawn((2, free_port(), str(tmp_path / "ddp"), 0.0))
    a, b = (torch.load(tmp_path / "ddp" / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    _spawn((2, free_port(), str(tmp_path / "t"), 0.02))
    calls = [int(torch.load(tmp_path / "t" / f"calls{r}.pt", weights_only=True)["calls"]) for r in (0, 1)]
    assert calls[0] == calls[1] > 0  # both ranks stopped after the same step


def test_freezing_codes_needs_a_model_with_codes(tmp_path: Path) -> None:
    from vqspeech.errors import ConfigError

    with pytest.raises(ConfigError, match="freeze_codes_after"):
        train(_cfg(freeze_codes_after=3), ToyTask(), tmp_path / "toy", device="cpu")


class _FreezableTask(ToyTask):
    """The toy regression with a model that has codes to freeze (the two-stage switch's hook)."""

    def build_model(self) -> nn.Module:
        model = nn.Linear(4, 1)
        model.codes_frozen = False

        def freeze_codes() -> None:
            model.codes_frozen = True

        model.freeze_codes = freeze_codes
        self.model = model
        return model


def test_a_switch_past_max_steps_warns_and_never_freezes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    task = _FreezableTask()
    train(_cfg(max_steps=3, freeze_codes_after=5), task, tmp_path / "late", device="cpu")
    assert "the codes never freeze" in capsys.readouterr().err and not task.model.codes_frozen
    task = _FreezableTask()
    train(_cfg(max_steps=4, freeze_codes_after=2), task, tmp_path / "on_time", device="cpu")
    assert "never freeze" not in capsys.readouterr().err and task.model.codes_frozen
