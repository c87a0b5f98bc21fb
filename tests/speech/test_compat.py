"""Files written by vqspeech 0.1 (format_version 1) load and behave exactly as they did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vqspeech
from vqspeech.io.checkpoint import read_meta
from vqspeech.io.tokens import read_tokens
from vqspeech.speech.data.audio import load_audio
from vqspeech.speech.inference import encode_audio, synthesize

V01 = Path(__file__).parent / "data" / "v0_1"


@pytest.fixture(scope="module")
def v01_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vqspeech.speech.data.demo_corpus import build_demo_corpus

    out = tmp_path_factory.mktemp("v01") / "corpus"
    build_demo_corpus(out, speakers=2, utterances=2, seed=0)  # the corpus 0.1 encoded into V01/tokens
    return out


def test_v0_1_vqvae_gives_its_codes_and_audio(v01_corpus: Path) -> None:
    assert read_meta(V01 / "vqvae.safetensors")["format_version"] == 1
    model = vqspeech.load(V01 / "vqvae.safetensors")
    rows = read_tokens(V01 / "tokens")
    for r in rows:
        spk, _ = r["id"].split("_")
        audio = load_audio(v01_corpus / spk / f"{r['id']}.wav", 16000)
        np.testing.assert_array_equal(encode_audio(model, [audio])[0], r["codes"])
    # 0.1's decoder output for the first 40 codes of f1_000 as speaker f2, seed 0 (saved by 0.1)
    ref = np.load(V01 / "decode_row0_40codes_spk1_seed0.npy")
    out = synthesize(model, [np.asarray(rows[0]["codes"][:40])], [1], temperature=1.0, seed=0)[0]
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_v0_1_prior_loads_and_scores() -> None:
    import torch

    prior = vqspeech.load(V01 / "prior.safetensors")
    codes = torch.tensor([read_tokens(V01 / "tokens")[0]["codes"][:32]])
    nll = prior.nll(codes, torch.tensor([0]))
    assert torch.isfinite(nll) and nll.item() < 2 * np.log(16)  # scored as a 16-code model, not garbage
