from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from helpers import TINY_SET, free_port, spawn_ranks

import vqspeech
from vqspeech.io.checkpoint import load_state, read_meta
from vqspeech.verbs import load_recipe, train


def _overrides(corpus: Path, *extra: str) -> list[str]:
    return [*TINY_SET, f"data.root={corpus}", *extra]


def test_overfits_one_utterance(demo_corpus: Path, tmp_path: Path) -> None:
    one = tmp_path / "one" / "f1"
    one.mkdir(parents=True)
    (one / "u.wav").write_bytes((demo_corpus / "f1" / "f1_000.wav").read_bytes())
    run = tmp_path / "run"
    ov = _overrides(tmp_path / "one", "data.valid_fraction=0.0", "train.lr=0.005", "train.log_every=5",
                    "model.residual_channels=16", "model.gate_channels=32", "model.skip_channels=16")
    train("recipes/demo.yaml", out=run, overrides=ov, max_steps=150, device="cpu")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0]["nll_bits"], sum(r["nll_bits"] for r in rows[-3:]) / 3
    assert first > 6.5 and last < first - 2.0, (first, last)


def test_exact_resume(demo_corpus: Path, tmp_path: Path) -> None:
    ov = _overrides(demo_corpus)
    full = train("recipes/demo.yaml", out=tmp_path / "a", overrides=ov, max_steps=12, device="cpu")
    train("recipes/demo.yaml", out=tmp_path / "b", overrides=ov, max_steps=7, device="cpu")
    resumed = train("recipes/demo.yaml", out=tmp_path / "b", overrides=[], resume=True, max_steps=12,
                    device="cpu")
    wa, _ = load_state(full)
    wb, meta = load_state(resumed)
    assert meta["step"] == 12
    # the minutes already trained travel with the run, so a time-based schedule continues where it stopped
    spent = torch.load(tmp_path / "b" / "train_state.pt", weights_only=True)["minutes_spent"]
    assert spent > 0
    # ...and are stamped in each checkpoint and log row (where on the clock a judged checkpoint was)
    _, first = load_state(tmp_path / "b" / "checkpoints" / "step-7.safetensors")
    assert 0 < first["train_minutes"] <= meta["train_minutes"] == pytest.approx(spent, abs=0.01)
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["minutes"] <= spent + 0.01 for r in rows if "loss" in r) and any("minutes" in r for r in rows)
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    # a time budget counts every invocation: a run that has spent it takes no more steps when resumed
    again = train("recipes/demo.yaml", out=tmp_path / "b", overrides=[f"train.max_minutes={spent / 2}"],
                  resume=True, max_steps=20, device="cpu")
    assert read_meta(again)["step"] == 12
    assert (tmp_path / "b" / "checkpoints" / "step-7.safetensors").exists()


def test_sigterm_stops_with_a_checkpoint_and_resume_is_exact(demo_corpus: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A session that must stop sends SIGTERM: the step in progress finishes, the checkpoint and train_state.pt
    are written, and --resume continues exactly (time jitter draws from the saved RNG state too)."""
    import signal

    from vqspeech.speech.tasks import SpeechVQVAETask

    ov = _overrides(demo_corpus, "model.jitter=0.5", "model.preemphasis=0.9")
    full = train("recipes/demo.yaml", out=tmp_path / "a", overrides=ov, max_steps=10, device="cpu")
    batch = SpeechVQVAETask.batch

    def batch_then_signal(self: SpeechVQVAETask, seed: int) -> tuple:
        if seed == self.cfg.train.seed * 1_000_003 + 4:  # the 5th step
            os.kill(os.getpid(), signal.SIGTERM)
        return batch(self, seed)

    monkeypatch.setattr(SpeechVQVAETask, "batch", batch_then_signal)
    stopped = train("recipes/demo.yaml", out=tmp_path / "b", overrides=ov, max_steps=10, device="cpu")
    assert read_meta(stopped)["step"] == 5
    assert torch.load(tmp_path / "b" / "train_state.pt", weights_only=True)["step"] == 5
    monkeypatch.setattr(SpeechVQVAETask, "batch", batch)
    resumed = train("recipes/demo.yaml", out=tmp_path / "b", overrides=[], resume=True, max_steps=10, device="cpu")
    wa, wb = load_state(full)[0], load_state(resumed)[0]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is only there while training


def test_checkpoint_round_trip_and_metadata(tiny_model: Path) -> None:
    meta = read_meta(tiny_model)
    assert meta["kind"] == "speech-vqvae" and meta["format_version"] == 2
    assert meta["speakers"] == ["f1", "f2", "f3"] and meta["hop_length"] == 16 and meta["num_codes"] == 32
    assert meta["sample_rate"] == 16000 and meta["config"]["quantizer"]["dim"] == 4
    model = vqspeech.load(tiny_model)
    assert not model.training
    state, _ = load_state(tiny_model)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])
    # train_state loads without unpickling arbitrary objects
    st = torch.load(tiny_model.parents[1] / "train_state.pt", weights_only=True)
    assert st["step"] == 60


class Spy:
    """Wraps a task: keeps the model it builds and can poison the loss of one call."""

    def __init__(self, task: object, nan_at_call: int = 0, slow_rank: int = -1) -> None:
        self.task, self.nan_at_call, self.calls, self.model, self.slow_rank = task, nan_at_call, 0, None, slow_rank

    def __getattr__(self, name: str) -> object:
        return getattr(self.task, name)

    def build_model(self) -> torch.nn.Module:
        self.model = self.task.build_model()
        return self.model

    def batch(self, seed: int) -> tuple:
        if int(os.environ.get("RANK", "0")) == self.slow_rank:
            import time

            time.sleep(0.3)  # this rank's clock passes the time limit at another step than the other's
        return self.task.batch(seed)

    def loss(self, model, batch):
        loss, stats = self.task.loss(model, batch)
        self.calls += 1
        return (loss * float("nan") if self.calls == self.nan_at_call else loss), stats


def _task(run: Path, overrides: list[str]) -> object:
    from vqspeech import registry

    cfg = load_recipe("recipes/demo.yaml", overrides)
    run.mkdir(parents=True, exist_ok=True)
    return registry.get(cfg.task).task(cfg, run, torch.device("cpu"))


def _ddp_train(rank: int, world: int, port: int, corpus: str, out: str, extra: list[str]) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import torch.distributed as dist

    dist.init_process_group("gloo", rank=rank, world_size=world)
    ov = [*TINY_SET, f"data.root={corpus}", *extra]
    spy = Spy(_task(Path(out), ov))
    timed = any(o.startswith("train.max_minutes") for o in extra)  # a time-bounded run
    train("recipes/demo.yaml", out=out, overrides=ov, max_steps=10_000 if timed else 4, device="cpu", task=spy)
    torch.save({k: v.clone() for k, v in spy.model.state_dict().items()}, f"{out}/rank{rank}.pt")
    torch.save({"calls": torch.tensor(spy.calls)}, f"{out}/calls{rank}.pt")


def test_two_stage_schedule_freezes_codes_and_resumes_across_the_switch(demo_corpus: Path, tmp_path: Path) -> None:
    """``train.freeze_codes_after``: from that step only the decoder moves; a run resumed after the switch freezes
    again and ends exactly where an uninterrupted one does."""
    ov = _overrides(demo_corpus, "train.freeze_codes_after=3", "train.checkpoint_every=1")
    full = train("recipes/demo.yaml", out=tmp_path / "a", overrides=ov, max_steps=6, device="cpu")
    at3, _ = load_state(tmp_path / "a" / "checkpoints" / "step-3.safetensors")
    at2, _ = load_state(tmp_path / "a" / "checkpoints" / "step-2.safetensors")
    end, _ = load_state(full)
    codes = [k for k in end if k.startswith(("encoder.", "quantizer."))]
    decoder = [k for k in end if k.startswith("decoder.")]
    assert codes and all(torch.equal(at3[k], end[k]) for k in codes)  # frozen from step 3 on
    assert any(not torch.equal(at2[k], at3[k]) for k in codes)  # ...and learning before it
    assert any(not torch.equal(at3[k], end[k]) for k in decoder)  # the decoder trains on
    train("recipes/demo.yaml", out=tmp_path / "b", overrides=ov, max_steps=4, device="cpu")
    resumed = train("recipes/demo.yaml", out=tmp_path / "b", overrides=[], resume=True, max_steps=6, device="cpu")
    wb, _ = load_state(resumed)
    assert all(torch.equal(end[k], wb[k]) for k in end)


def test_demo_recipe_trains_as_shipped(demo_corpus: Path, tmp_path: Path) -> None:
    """recipes/demo.yaml's own encoder (log-mel, sliding normalisation, time jitter) at tiny sizes: it trains, and the
    checkpoint encodes a whole utterance at the recipe's code rate."""
    from vqspeech.speech.inference import load_vqvae

    sizes = [o for o in TINY_SET if not o.startswith(("model.encoder_input", "model.norm_seconds", "model.jitter",
                                                       "data.sample_rate"))]
    cfg = load_recipe("recipes/demo.yaml", sizes)
    assert (cfg.model.encoder_input, cfg.model.norm_seconds, cfg.model.jitter) == ("logmel", 0.5, 0.5)
    ck = train("recipes/demo.yaml", out=tmp_path / "demo", overrides=[*sizes, f"data.root={demo_corpus}"],
               max_steps=6, device="cpu")
    model, meta = load_vqvae(ck)
    assert meta.sample_rate == 8000 and meta.hop_length == 16
    codes = model.encode(torch.zeros(1, 8000))
    assert codes.shape == (1, 500) and int(codes.max()) < 32


def _spawn(args: tuple, timeout: float = 120) -> None:
    spawn_ranks(_ddp_train, args, timeout=timeout)


@pytest.mark.parametrize("extra", [[], ["train.freeze_codes_after=2", "model.speaker_adversary=0.2"]],
                         ids=["one-stage", "two-stage-with-adversary"])
def test_ddp_two_ranks_keep_identical_weights(demo_corpus: Path, tmp_path: Path, extra: list[str]) -> None:
    """Two gloo ranks end with identical weights; also across the two-stage switch, where DDP is re-wrapped around
    a model whose encoder, codebook and speaker adversary no longer take gradients."""
    _spawn((2, free_port(), str(demo_corpus), str(tmp_path / "ddp"), extra))
    a = torch.load(tmp_path / "ddp" / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "ddp" / "rank1.pt", weights_only=True)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    start, _ = load_state(tmp_path / "ddp" / "checkpoints" / "last.safetensors")
    assert all(torch.equal(a[k], start[k]) for k in a)
    fresh = _task(tmp_path / "fresh", [*TINY_SET, f"data.root={demo_corpus}", *extra]).build_model().state_dict()
    assert any(not torch.equal(a[k], fresh[k]) for k in a if a[k].is_floating_point())  # training moved weights
