from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from vqspeech.errors import InputError, VQSpeechError
from vqspeech.speech.data.audio import load_audio
from vqspeech.speech.data.corpora import Utterance, discover
from vqspeech.speech.eval.judges import (
    AsrJudge,
    SpeakerJudge,
    code_agreement,
    conversion_speaker_scores,
    corpus_word_error_rate,
    cosine_similarity,
    identification_accuracy,
    identify,
    log_mel_distance,
    normalize_text,
    pesq_wb,
    speaker_centroids,
    stoi,
    word_error_rate,
    word_errors,
)


@pytest.fixture(scope="module")
def utts(demo_corpus: Path) -> list[Utterance]:
    return discover(demo_corpus)


@pytest.fixture(scope="module")
def audio(utts: list[Utterance]) -> dict[str, np.ndarray]:
    return {u.id: load_audio(u.path, 16000) for u in utts}


@pytest.fixture(scope="module")
def embeddings(utts: list[Utterance], audio: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    pytest.importorskip("resemblyzer")
    judge = SpeakerJudge()
    return {u.id: judge.embed(audio[u.id]) for u in utts}


# ------------------------------------------------------------------------------------------------ speaker judge


def test_speaker_judge_identifies_real_demo_utterances(utts: list[Utterance], embeddings: dict) -> None:
    """Leave-one-out: each utterance against its speakers enrolled from the other utterances (measured 12/12;
    chance is 1/3)."""
    speakers = sorted({u.speaker for u in utts})
    correct = 0
    for u in utts:
        cents = speaker_centroids({s: [embeddings[v.id] for v in utts if v.speaker == s and v.id != u.id]
                                   for s in speakers})
        correct += identify(embeddings[u.id], cents)[0] == u.speaker
    assert correct >= 10, f"{correct}/12 identified"
    e = next(iter(embeddings.values()))
    assert e.shape == (256,) and np.linalg.norm(e) == pytest.approx(1.0, abs=1e-3)


def test_same_speaker_pairs_are_more_similar(utts: list[Utterance], embeddings: dict) -> None:
    """Measured: same-speaker pairs 0.82 on average, different-speaker pairs 0.75."""
    same, diff = [], []
    for i, a in enumerate(utts):
        for b in utts[i + 1:]:
            (same if a.speaker == b.speaker else diff).append(cosine_similarity(embeddings[a.id], embeddings[b.id]))
    assert np.mean(same) > np.mean(diff) + 0.03


def test_conversion_scores_on_real_embeddings(utts: list[Utterance], embeddings: dict) -> None:
    """A 'conversion' that is really an utterance of the target speaker scores as the target; one that is the
    source unchanged scores as the source."""
    by = {}
    for u in utts:
        by.setdefault(u.speaker, []).append(u.id)
    cents = speaker_centroids({s: [embeddings[i] for i in ids[:-1]] for s, ids in by.items()})  # enrol 3 each
    pairs = [(s, t) for s in sorted(by) for t in sorted(by) if s != t]
    ideal = conversion_speaker_scores([embeddings[by[t][-1]] for _, t in pairs], [s for s, _ in pairs],
                                      [t for _, t in pairs], cents)
    assert ideal["n"] == 6 and ideal["closer_to_target"] == 1.0 and ideal["identified_as_target"] == 1.0
    assert ideal["similarity_target"] > ideal["similarity_source"]
    failed = conversion_speaker_scores([embeddings[by[s][-1]] for s, _ in pairs], [s for s, _ in pairs],
                                       [t for _, t in pairs], cents)
    assert failed["closer_to_target"] == 0.0 and failed["identified_as_source"] == 1.0
    src = sorted(by)[0]
    with pytest.raises(InputError, match="not enrolled"):
        conversion_speaker_scores([embeddings[by[src][-1]]], [src], ["nobody"], cents)


def test_speaker_math_known_answers() -> None:
    assert cosine_similarity(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine_similarity(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(0.0)
    assert cosine_similarity(np.zeros(2), np.ones(2)) == 0.0
    cents = speaker_centroids({"a": np.array([[1.0, 0.0], [1.0, 0.2]]), "b": np.array([0.0, 2.0])})
    assert np.linalg.norm(cents["a"]) == pytest.approx(1.0) and cents["b"] == pytest.approx([0.0, 1.0])
    assert identify(np.array([0.9, 0.1]), cents)[0] == "a"
    embs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [1.0, 0.0]])
    assert identification_accuracy(embs, ["a", "b", "a", "b"], cents) == 0.75
    s = conversion_speaker_scores(embs, ["b", "a", "b", "a"], ["a", "b", "a", "b"], cents)
    assert s["closer_to_target"] == 0.75 and s["identified_as_target"] == 0.75 and s["identified_as_source"] == 0.25
    with pytest.raises(InputError):
        speaker_centroids({"a": np.zeros((0, 2))})


# ---------------------------------------------------------------------------------------------------- ASR judge


def test_word_error_rate_known_answers() -> None:
    assert normalize_text("Don't STOP, the well-known 'quick' fox!") == "don't stop the well known quick fox"
    # 3 substitutions in 6 words
    assert word_errors("The cat sat on the mat.", "the cat sat mat mat dog") == (3, 6)
    assert word_error_rate("The cat sat on the mat.", "the cat sat mat mat dog") == 0.5
    # 1 substitution + 1 insertion in 4 words; 1 deletion in 3 words
    assert word_error_rate("a b c d", "a x c d e") == 0.5
    assert word_errors("one two three", "one three") == (1, 3)
    assert word_error_rate("Hello, World!", "hello world") == 0.0
    assert word_error_rate("two words", "") == 1.0
    # corpus WER is total edits / total reference words (1/8), not the mean of the pairs' WERs (1/4)
    assert corpus_word_error_rate(["a b", "c d e f g h"], ["a", "c d e f g h"]) == 0.125
    with pytest.raises(InputError):
        word_error_rate("", "anything")
    with pytest.raises(InputError):
        corpus_word_error_rate(["a"], [])


def test_asr_transcribes_demo_utterances(utts: list[Utterance], audio: dict[str, np.ndarray]) -> None:
    """espeak voices are hard for pocketsphinx's default model (measured corpus WER 0.89 on this corpus, 0.70 and
    0.75 on these two), but each transcript is clearly closer to its own text than to another utterance's."""
    pytest.importorskip("pocketsphinx")
    asr = AsrJudge()
    chosen = [u for u in utts if u.id in ("f2_001", "f3_001")]
    hyps = [asr.transcribe(audio[u.id]) for u in chosen]
    assert all(h == normalize_text(h) and h for h in hyps)
    refs = [u.text for u in chosen]
    assert corpus_word_error_rate(refs, hyps) < 0.9
    for u, h in zip(chosen, hyps, strict=True):
        others = [word_error_rate(v.text, h) for v in utts if v.text != u.text]
        assert word_error_rate(u.text, h) < min(others)
    # another sample rate gives the same transcript (resampled to 16 kHz inside)
    assert asr.transcribe(load_audio(chosen[0].path, 22050), 22050) == hyps[0]
    with pytest.raises(InputError, match="no samples"):
        asr.transcribe(np.zeros(0, np.float32))


# ---------------------------------------------------------------------------------------- signals and codes


def test_log_mel_distance(utts: list[Utterance], audio: dict[str, np.ndarray]) -> None:
    a, b = audio[utts[0].id], audio[utts[4].id]
    assert log_mel_distance(a, a) == 0.0
    noisy = a + 0.003 * np.random.default_rng(0).standard_normal(len(a)).astype(np.float32)
    near, far = log_mel_distance(a, noisy), log_mel_distance(a, b)
    assert 0.0 < near < far and far > 5.0
    assert log_mel_distance(a, a[: len(a) // 2]) == 0.0  # over the shorter length
    with pytest.raises(InputError):
        log_mel_distance(a, np.zeros(0, np.float32))


def test_stoi_and_pesq(utts: list[Utterance], audio: dict[str, np.ndarray]) -> None:
    pytest.importorskip("pystoi")
    pytest.importorskip("pesq")
    a = audio[utts[0].id]
    noisy = a + 0.05 * np.random.default_rng(0).standard_normal(len(a)).astype(np.float32)
    assert stoi(a, a) == pytest.approx(1.0, abs=1e-3)
    assert stoi(a, noisy) < 0.95
    assert pesq_wb(a, a) > 4.5
    assert pesq_wb(a, noisy) < 3.0
    assert stoi(load_audio(utts[0].path, 8000), load_audio(utts[0].path, 8000), 8000) > 0.99


def test_missing_optional_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.zeros(16000, np.float32)
    for module, call in (("pystoi", lambda: stoi(x, x)), ("pesq", lambda: pesq_wb(x, x)),
                         ("resemblyzer", SpeakerJudge), ("pocketsphinx", AsrJudge),
                         ("jiwer", lambda: word_error_rate("a b", "a c"))):
        monkeypatch.setitem(sys.modules, module, None)
        with pytest.raises(VQSpeechError, match=r"pip install 'vqspeech\[eval\]'"):
            call()
        monkeypatch.delitem(sys.modules, module)


def test_code_agreement() -> None:
    assert code_agreement([1, 2, 3, 4], [1, 2, 0, 4, 5, 6]) == 0.75
    assert code_agreement(np.array([7, 7]), np.array([7, 7])) == 1.0
    assert code_agreement(np.arange(5), np.arange(5) + 1) == 0.0
    with pytest.raises(InputError):
        code_agreement([], [1])
    with pytest.raises(InputError):
        code_agreement(np.zeros((2, 2)), np.zeros(4))
