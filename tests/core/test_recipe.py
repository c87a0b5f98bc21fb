"""Typed recipe schemas: validation on load, typed --set, nearest-key suggestions; the kind registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from vqspeech import registry
from vqspeech.errors import ConfigError
from vqspeech.train.recipe import TrainConfig, apply_overrides, build, dump_yaml
from vqspeech.verbs import load_recipe


@dataclass
class Section:
    size: int = 3
    rate: float = 0.5
    name: str = "x"
    mode: Literal["a", "b"] = "a"
    flag: bool = False
    ids: list[str] = field(default_factory=list)


@dataclass
class Recipe:
    task: str = "toy"
    model: Section = field(default_factory=Section)
    train: TrainConfig = field(default_factory=TrainConfig)


def test_build_validates_types_and_fills_defaults() -> None:
    cfg = build(Recipe, {"model": {"size": 4, "rate": "2e-4"}}, "r.yaml")  # 2e-4 arrives from YAML as a string
    assert cfg.model.size == 4 and cfg.model.rate == 2e-4 and cfg.train.max_steps == 1000
    for bad, msg in [({"model": {"size": 2.5}}, "model.size must be int"),
                     ({"model": {"flag": "yes"}}, "model.flag must be bool"),
                     ({"model": {"mode": "c"}}, "model.mode must be one of a, b"),
                     ({"model": {"ids": "a"}}, "model.ids must be a list"),
                     ({"model": {"szie": 1}}, "did you mean 'size'"),
                     ({"modle": {}}, "did you mean 'model'"),
                     ({"model": 3}, "model must be a mapping")]:
        with pytest.raises(ConfigError, match=msg):
            build(Recipe, bad, "r.yaml")


def test_set_overrides_are_typed_per_field() -> None:
    raw = apply_overrides({}, ["model.size=7", "model.rate=1e-3", "model.name=7", "model.flag=true", "model.mode=b",
                               "model.ids=[p1, p2]", "train.lr=3e-4"])
    cfg = build(Recipe, raw, "--set")
    assert (cfg.model.size, cfg.model.rate, cfg.model.name, cfg.model.flag, cfg.model.mode) == (7, 1e-3, "7", True, "b")
    assert cfg.model.ids == ["p1", "p2"] and cfg.train.lr == 3e-4
    assert "name: '7'" in dump_yaml(cfg)  # a string stays a string when the run dir's config.yaml is read back
    with pytest.raises(ConfigError, match="model.size must be int"):
        build(Recipe, apply_overrides({}, ["model.size=big"]), "--set")
    with pytest.raises(ConfigError, match="expected section.key=value"):
        apply_overrides({}, ["size=3"])


def test_ranges_malformed_lists_and_numeric_names() -> None:
    from vqspeech.verbs import load_recipe

    for bad, msg in [("model.cycle=0", "model.cycle must be > 0"), ("quantizer.num_codes=0", "quantizer.num_codes"),
                     ("train.log_every=0", "train.log_every"), ("quantizer.decay=1.5", "decay must be between"),
                     ("model.gate_channels=7", "gate_channels must be even"),
                     ("data.unseen_speakers=[a, b", "not a YAML list")]:
        with pytest.raises(ConfigError, match=msg):
            load_recipe("recipes/demo.yaml", [bad])
    assert load_recipe("recipes/demo.yaml", ["data.unseen_speakers=[19, 198]"]).data.unseen_speakers == ["19", "198"]


def test_registry_knows_the_speech_kinds_and_rejects_others() -> None:
    kinds = registry.kinds()
    assert {"speech-vqvae", "speech-prior"} <= set(kinds)
    assert registry.of_role("prior", "speech") == ("speech-prior",)
    with pytest.raises(ConfigError, match="task must be one of"):
        registry.get("speech-vae", "r.yaml")


def test_every_kind_name_is_spelled_once() -> None:
    """A kind's name appears as a string literal in exactly one place of the package (its family's config)."""
    root = Path(__file__).parents[2] / "vqspeech"
    for name in registry.kinds():
        places = [p for p in root.rglob("*.py") if f'"{name}"' in p.read_text()]
        assert len(places) == 1, (name, places)


@pytest.mark.parametrize(
    ("override", "message"),
    [("model.colour=3", "model.colour"), ("train.lr=fast", "train.lr must be float"),
     ("quantizer.ema=1", "quantizer.ema must be bool"), ("data.layout=zip", "data.layout must be one of"),
     ("nosuch.key=1", "unknown key 'nosuch'"), ("model.layer=3", "did you mean 'layers'"),
     ("train.max_step=3", "did you mean 'max_steps'"), ("train.max_steps=2.5", "train.max_steps must be int")],
)
def test_recipe_errors_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_recipe("recipes/demo.yaml", [override])


def test_all_recipes_load_typed() -> None:
    from vqspeech import registry

    for p in sorted(Path("recipes").glob("*.yaml")):
        cfg = load_recipe(p)
        assert isinstance(cfg, registry.get(cfg.task).config), p
    cfg = load_recipe("recipes/demo.yaml", ["train.lr=1e-3", "quantizer.ema=false", "data.unseen_speakers=[a, b]"])
    assert cfg.train.lr == 1e-3 and cfg.quantizer.ema is False and cfg.data.unseen_speakers == ["a", "b"]
