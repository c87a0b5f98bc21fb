from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from conftest import TINY_SET

import vqspeech
from vqspeech.errors import CheckpointError, ConfigError
from vqspeech.formats.checkpoint import load_state, read_meta, save_checkpoint
from vqspeech.tasks.recipe import load_recipe
from vqspeech.tasks.train import train


def _overrides(corpus: Path, *extra: str) -> list[str]:
    return [*TINY_SET, f"data.root={corpus}", *extra]


def test_overfits_one_utterance(demo_corpus: Path, tmp_path: Path) -> None:
    one = tmp_path / "one" / "f1"
    one.mkdir(parents=True)
    (one / "u.wav").write_bytes((demo_corpus / "f1" / "f1_000.wav").read_bytes())
    run = tmp_path / "run"
    ov = _overrides(tmp_path / "one", "data.valid_fraction=0.0", "train.lr=0.005", "train.log_every=5",
                    "model.residual_channels=16", "model.gate_channels=32", "model.skip_channels=16")
    train("recipes/demo.yaml", out=run, overrides=ov, max_steps=150, device="cpu", quiet=True)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0]["nll_bits"], sum(r["nll_bits"] for r in rows[-3:]) / 3
    assert first > 6.5 and last < first - 2.0, (first, last)


def test_exact_resume(demo_corpus: Path, tmp_path: Path) -> None:
    ov = _overrides(demo_corpus)
    full = train("recipes/demo.yaml", out=tmp_path / "a", overrides=ov, max_steps=12, device="cpu", quiet=True)
    train("recipes/demo.yaml", out=tmp_path / "b", overrides=ov, max_steps=7, device="cpu", quiet=True)
    resumed = train("recipes/demo.yaml", out=tmp_path / "b", overrides=[], resume=True, max_steps=12,
                    device="cpu", quiet=True)
    wa, _ = load_state(full)
    wb, meta = load_state(resumed)
    assert meta["step"] == 12
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    assert (tmp_path / "b" / "checkpoints" / "step-7.safetensors").exists()


def test_checkpoint_round_trip_and_metadata(tiny_model: Path) -> None:
    meta = read_meta(tiny_model)
    assert meta["kind"] == "speech-vqvae" and meta["format_version"] == 1
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


def test_checkpoint_refusals(tiny_model: Path, tmp_path: Path) -> None:
    data = tiny_model.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        vqspeech.load(cut)
    pt = tmp_path / "model.pt"
    torch.save({"x": torch.zeros(2)}, pt)
    with pytest.raises(CheckpointError, match="pickle"):
        vqspeech.load(pt)
    junk = tmp_path / "junk.safetensors"
    junk.write_text("hello")
    with pytest.raises(CheckpointError):
        vqspeech.load(junk)


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = torch.nn.Linear(2, 2)
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, model, {"kind": "x"})
    before = path.read_bytes()
    import safetensors.torch

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", boom)
    with pytest.raises(RuntimeError):
        save_checkpoint(path, torch.nn.Linear(2, 2), {"kind": "x"})
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    ("override", "message"),
    [("model.colour=3", "model.colour"), ("train.lr=fast", "train.lr must be float"),
     ("quantizer.ema=1", "quantizer.ema must be bool"), ("data.layout=zip", "data.layout must be one of"),
     ("nosuch.key=1", "unknown section 'nosuch'")],
)
def test_recipe_errors_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_recipe("recipes/demo.yaml", [override])


def test_all_recipes_load() -> None:
    for p in sorted(Path("recipes").glob("*.yaml")):
        cfg = load_recipe(p)
        assert cfg["task"] in ("speech-vqvae", "speech-prior")


def test_nan_guard_keeps_last_good_checkpoint(
    demo_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vqspeech.errors import VQSpeechError
    from vqspeech.tasks.speech import SpeechVQVAETask

    run = tmp_path / "nan"
    ov = _overrides(demo_corpus)
    train("recipes/demo.yaml", out=run, overrides=ov, max_steps=3, device="cpu", quiet=True)
    good = (run / "checkpoints" / "last.safetensors").read_bytes()
    orig = SpeechVQVAETask.loss
    calls = []

    def poisoned(self, model, batch):  # noqa: ANN001, ANN202
        loss, stats = orig(self, model, batch)
        calls.append(1)
        return (loss * float("nan") if len(calls) == 2 else loss), stats

    monkeypatch.setattr(SpeechVQVAETask, "loss", poisoned)
    with pytest.raises(VQSpeechError, match="loss became nan at step 5"):
        train("recipes/demo.yaml", out=run, overrides=["train.checkpoint_every=1"], resume=True, max_steps=50,
              device="cpu", quiet=True)
    assert read_meta(run / "checkpoints" / "last.safetensors")["step"] == 4  # the step before the NaN
    assert good != (run / "checkpoints" / "last.safetensors").read_bytes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_train(rank: int, world: int, port: int, corpus: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import torch.distributed as dist

    dist.init_process_group("gloo", rank=rank, world_size=world)
    model_holder: dict = {}
    import vqspeech.tasks.train as tr

    orig = tr.make_task

    def spy(cfg, run_dir, quiet=False):  # noqa: ANN001, ANN202
        task = orig(cfg, run_dir, quiet)
        build = task.build_model

        def keep():  # noqa: ANN202
            model_holder["m"] = build()
            return model_holder["m"]

        task.build_model = keep
        return task

    tr.make_task = spy
    tr.train("recipes/demo.yaml", out=out, overrides=[*TINY_SET, f"data.root={corpus}"], max_steps=4,
             device="cpu", quiet=True)
    torch.save({k: v.clone() for k, v in model_holder["m"].state_dict().items()}, f"{out}/rank{rank}.pt")


def test_ddp_two_ranks_keep_identical_weights(demo_corpus: Path, tmp_path: Path) -> None:
    mp.spawn(_ddp_train, args=(2, _free_port(), str(demo_corpus), str(tmp_path / "ddp")), nprocs=2, join=True)
    a = torch.load(tmp_path / "ddp" / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "ddp" / "rank1.pt", weights_only=True)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    start, _ = load_state(tmp_path / "ddp" / "checkpoints" / "last.safetensors")
    assert any(not torch.equal(a[k], torch.zeros_like(a[k])) for k in a)
    assert all(torch.equal(a[k], start[k]) for k in a)
