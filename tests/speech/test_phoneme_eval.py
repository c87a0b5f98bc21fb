from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vqspeech.speech.commands import phoneme_eval
from vqspeech.speech.data.alignments import Interval, write_textgrid
from vqspeech.speech.eval.phonetic import compute_metrics, gather, many_to_one

PH = ["AA", "B", "sil", "S", "IY"]


def _utts(seed: int, codes_fn, n: int = 20, length: int = 200):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        idx = rng.choice(len(PH), size=length, p=[0.4, 0.15, 0.15, 0.15, 0.15])
        out.append((codes_fn(idx, rng), [PH[i] for i in idx]))
    return out


def test_codes_equal_to_phones_score_one() -> None:
    m = compute_metrics(_utts(0, lambda idx, rng: idx * 7 + 3), frame_rate=100.0)
    assert m["accuracy_heldout"] == 1.0 and m["accuracy_same_set"] == 1.0
    assert m["pnmi"] == pytest.approx(1.0) and m["cluster_purity"] == 1.0 and m["codes_used"] == 5


def test_independent_codes_score_the_majority() -> None:
    m = compute_metrics(_utts(1, lambda idx, rng: rng.integers(0, 50, len(idx)), n=40, length=500), 100.0)
    assert m["majority_baseline"] == pytest.approx(0.4, abs=0.02) and m["majority_phone"] == "AA"
    assert abs(m["accuracy_heldout"] - m["majority_baseline"]) < 0.02
    assert m["pnmi"] < 0.02
    assert m["code_entropy_bits"] == pytest.approx(np.log2(50), abs=0.02)
    assert m["bitrate_bits_per_s"] == pytest.approx(100 * m["code_entropy_bits"])


def test_small_case_by_hand() -> None:
    # code 0: A A B ; code 1: B B ; code 2: A
    utts = [(np.array([0, 0, 0, 1, 1, 2]), ["A", "A", "B", "B", "B", "A"])]
    m = compute_metrics(utts, frame_rate=10.0)
    assert m["accuracy_same_set"] == pytest.approx(5 / 6)  # 0->A (2), 1->B (2), 2->A (1)
    assert m["phone_purity"] == pytest.approx(5 / 6)
    assert m["cluster_purity"] == pytest.approx((2 + 2) / 6)  # A: max code count 2 (code 0); B: 2 (code 1)
    assert m["majority_baseline"] == pytest.approx(0.5)
    h_code = -(0.5 * np.log2(0.5) + 2 / 6 * np.log2(2 / 6) + 1 / 6 * np.log2(1 / 6))
    h_joint = -(2 / 6 * np.log2(2 / 6) * 2 + 1 / 6 * np.log2(1 / 6) * 2)
    mi = 1.0 + h_code - h_joint
    assert m["code_entropy_bits"] == pytest.approx(h_code)
    assert m["pnmi"] == pytest.approx(mi / 1.0)
    assert m["mean_run_length_frames"] == pytest.approx(6 / 3) and m["mean_run_length_ms"] == pytest.approx(200)
    # held-out mapping: fitted on one utterance, scored on another; an unseen code maps to the majority phone
    fit = [(np.array([0, 0, 1]), ["A", "A", "B"])]
    score = [(np.array([0, 1, 5, 5]), ["A", "A", "A", "B"])]
    assert many_to_one(fit, score) == pytest.approx(2 / 4)


def test_trim_offset_shifts_labels(tmp_path: Path) -> None:
    sr, hop = 1000, 100
    write_textgrid(tmp_path / "u.TextGrid", 1.0,
                   {"phones": [Interval(0, 0.3, "sil"), Interval(0.3, 0.7, "AA"), Interval(0.7, 1.0, "B")]})
    row = {"id": "u", "path": "x/u.wav", "num_samples": 400, "trim_offset": 300, "codes": [1, 2, 3, 4]}
    utts, problems = gather([row], tmp_path, sr, hop)
    assert not problems and utts[0][1] == ["AA", "AA", "AA", "AA"]
    utts, _ = gather([{**row, "trim_offset": 0, "num_samples": 1000, "codes": list(range(10))}], tmp_path, sr, hop)
    assert utts[0][1] == ["sil"] * 3 + ["AA"] * 4 + ["B"] * 3
    _, problems = gather([{**row, "trim_offset": 0, "num_samples": 2000, "codes": list(range(20))}], tmp_path, sr,
                         hop)
    assert problems and "spans" in problems[0]


def test_phoneme_eval_on_demo_tokens(tiny_model: Path, demo_corpus: Path, tmp_path: Path) -> None:
    from vqspeech.speech.commands import encode

    encode([demo_corpus], tmp_path / "tok", checkpoint=tiny_model)
    (tmp_path / "ali").mkdir()
    for g in list(demo_corpus.rglob("*.TextGrid"))[:-1]:  # one utterance without alignment: reported, skipped
        (tmp_path / "ali" / g.name).write_bytes(g.read_bytes())
    m = phoneme_eval(tmp_path / "tok", tmp_path / "ali", json_path=tmp_path / "m.json", plot_path=tmp_path / "p.png",
                     baseline=True)
    assert m["utterances"] == 11 and m["skipped"] == 1
    assert json.loads((tmp_path / "m.json").read_text())["codes_used"] == m["codes_used"]
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert 0 <= m["pnmi"] <= 1 and m["accuracy_same_set"] >= m["majority_baseline"]
    b = m["baseline"]  # MFCC k-means at the same K and rate, on the same frames
    assert b["frames"] == m["frames"] and b["codes_used"] <= 32 and b["pnmi"] > 0.2  # MFCCs do carry phones
    assert m["majority_phone_nonsil"] != "sil" and m["majority_baseline_nonsil"] > 0
    # ABX over code embeddings (the tokens' model is found by its recorded path) and ids; the baseline's three
    assert set(m["abx"]) == {"equal", "angular"} and set(b["abx"]) == {"equal", "angular", "mfcc_angular"}
    assert all(rep["items"] > 20 for rep in [*m["abx"].values(), *b["abx"].values()])  # too few for triples here
    # audio input encoded with the checkpoint gives the same numbers
    m2 = phoneme_eval(demo_corpus, tmp_path / "ali", checkpoint=tiny_model)
    assert m2["accuracy_same_set"] == m["accuracy_same_set"]
    from vqspeech.errors import InputError

    (tmp_path / "none").mkdir()
    with pytest.raises(InputError, match="no utterance"):
        phoneme_eval(tmp_path / "tok", tmp_path / "none")


def test_silence_excluded_baselines_by_hand() -> None:
    # fit: code 0 -> sil, code 1 -> AA; scored: sil sil AA IY with codes 0 0 1 1
    fit = (np.array([0, 0, 1, 1]), ["sil", "sil", "AA", "AA"])
    score = (np.array([0, 0, 1, 1]), ["sil", "sil", "AA", "IY"])
    m = compute_metrics([fit, score], frame_rate=10.0, fit_fraction=0.5, seed=0)
    assert m["accuracy_heldout"] == pytest.approx(3 / 4)  # the seeded split fits on `fit`, scores `score`
    assert m["accuracy_heldout_nonsil"] == pytest.approx(1 / 2)  # AA right, IY wrong; silence frames left out
    assert m["majority_baseline"] == pytest.approx(4 / 8) and m["majority_phone"] == "sil"
    assert m["majority_baseline_nonsil"] == pytest.approx(3 / 4) and m["majority_phone_nonsil"] == "AA"


def test_json_report_of_one_utterance_is_strict_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    """One utterance leaves nothing to score held out: the accuracy is not a number, written as null (never NaN,
    which is not JSON)."""
    from helpers import run_cli

    from vqspeech.io.tokens import TokenWriter, write_token_meta
    from vqspeech.speech.commands import token_columns

    tok = tmp_path / "tok"
    tok.mkdir()
    write_token_meta(tok, {"kind": "speech-vqvae", "format": "parquet", "num_codes": 8, "sample_rate": 1000,
                           "hop_length": 100, "speakers": ["spk"]})
    writer = TokenWriter(tok, "parquet", columns=token_columns())
    writer.add({"id": "spk_u1", "codes": np.array([1, 1, 2, 2, 3, 3, 3, 4, 4, 5]), "speaker": "spk",
                "path": "x/spk/u1.wav", "num_samples": 1000, "trim_offset": 0})
    writer.flush()
    (tmp_path / "ali" / "spk").mkdir(parents=True)
    write_textgrid(tmp_path / "ali" / "spk" / "u1.TextGrid", 1.0,
                   {"phones": [Interval(0, 0.4, "AA"), Interval(0.4, 1.0, "B")]})
    code, _, err = run_cli(["phoneme-eval", str(tok), "--alignments", str(tmp_path / "ali"), "--json",
                            str(tmp_path / "m.json")], monkeypatch, capsys)
    assert code == 0, err

    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    m = json.loads((tmp_path / "m.json").read_text(), parse_constant=refuse)
    assert m["utterances"] == 1 and m["accuracy_heldout"] is None and m["accuracy_same_set"] == 1.0


def test_abx_of_the_command_on_codes_that_are_the_phones(tmp_path: Path) -> None:
    """Tokens whose codes are the phone ids, in 3 speakers x 4 utterances of the same triphones: ABX error 0
    within and across speakers; codes drawn at random: about one half."""
    from vqspeech.io.tokens import TokenWriter, write_token_meta
    from vqspeech.speech.commands import token_columns

    phones = ["B", "AA", "T", "sil", "B", "IY", "T", "sil", "K", "AA", "D", "sil", "K", "IY", "D", "sil"]
    ids = {p: i for i, p in enumerate(sorted(set(phones)))}
    sr, hop, per = 1000, 10, 4  # 4 frames (40 ms) per phone
    rng = np.random.default_rng(0)
    for name, codes_of in [("phones", lambda p: [ids[p]] * per), ("noise", lambda p: rng.integers(0, 8, per))]:
        tok = tmp_path / name
        tok.mkdir()
        write_token_meta(tok, {"kind": "speech-vqvae", "format": "parquet", "num_codes": 8, "sample_rate": sr,
                               "hop_length": hop, "speakers": ["a", "b", "c"]})
        writer = TokenWriter(tok, "parquet", columns=token_columns())
        for spk in "abc":
            for u in range(4):
                codes = np.concatenate([codes_of(p) for p in phones])
                writer.add({"id": f"{spk}_u{u}", "codes": codes, "speaker": spk, "path": f"x/{spk}/u{u}.wav",
                            "num_samples": len(codes) * hop, "trim_offset": 0})
                grid = tmp_path / "ali" / spk / f"u{u}.TextGrid"
                if not grid.exists():
                    grid.parent.mkdir(parents=True, exist_ok=True)
                    d = per * hop / sr
                    write_textgrid(grid, len(phones) * d,
                                   {"phones": [Interval(i * d, (i + 1) * d, p) for i, p in enumerate(phones)]})
        writer.flush()
    m = phoneme_eval(tmp_path / "phones", tmp_path / "ali")
    assert "angular" not in m["abx"]  # the model that made these tokens is not there: ids only
    assert m["abx"]["equal"]["within"] == 0.0 and m["abx"]["equal"]["across"] == 0.0
    assert m["abx"]["equal"]["across_triples"] > 20
    noise = phoneme_eval(tmp_path / "noise", tmp_path / "ali", seed=3)["abx"]["equal"]
    assert 0.25 < noise["within"] < 0.75 and 0.25 < noise["across"] < 0.75
