from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import write_tone

from vqspeech.errors import InputError
from vqspeech.speech.data.corpora import detect_layout, discover, split_utterances


def make_vctk_080(root: Path) -> None:
    for spk, n in (("p225", 3), ("p315", 2), ("p362", 2)):
        for i in range(1, n + 1):
            write_tone(root / "wav48" / spk / f"{spk}_{i:03d}.wav", 0.1, sr=48000)
            if spk != "p315":  # p315 has no transcripts
                (root / "txt" / spk).mkdir(parents=True, exist_ok=True)
                (root / "txt" / spk / f"{spk}_{i:03d}.txt").write_text(f"sentence {i}\n")


def make_vctk_092(root: Path) -> None:
    base = root / "wav48_silence_trimmed"
    for spk in ("p225", "p280", "p362"):
        for i in (1, 2, 3):
            if spk == "p362" and i == 2:
                continue  # a missing utterance
            for mic in ("mic1", "mic2"):
                if spk == "p280" and mic == "mic2":
                    continue  # p280 has no mic2
                f = base / spk / f"{spk}_{i:03d}_{mic}.flac"
                write_tone(f, 0.1, sr=48000, freq=200 if mic == "mic1" else 300)
        (root / "txt" / spk).mkdir(parents=True, exist_ok=True)
        (root / "txt" / spk / f"{spk}_001.txt").write_text("hello\n")


def test_vctk_080(tmp_path: Path) -> None:
    make_vctk_080(tmp_path)
    assert detect_layout(tmp_path) == "vctk"
    utts = discover(tmp_path)
    assert [u.id for u in utts] == ["p225_001", "p225_002", "p225_003", "p315_001", "p315_002", "p362_001",
                                    "p362_002"]
    assert utts[0].speaker == "p225" and utts[0].text == "sentence 1"
    assert utts[3].text is None  # p315


@pytest.mark.parametrize("mic", ["mic1", "mic2"])
def test_vctk_092_mics_and_quirks(tmp_path: Path, mic: str) -> None:
    make_vctk_092(tmp_path)
    utts = discover(tmp_path, mic=mic)
    ids = [u.id for u in utts]
    assert "p362_002" not in ids and "p362_003" in ids
    p280 = [u for u in utts if u.speaker == "p280"]
    assert len(p280) == 3 and all(u.path.endswith("_mic1.flac") for u in p280)  # falls back to mic1
    p225 = [u for u in utts if u.speaker == "p225"]
    assert all(u.path.endswith(f"_{mic}.flac") for u in p225)
    assert p225[0].text == "hello" and p225[1].text is None


def test_generic_layout_with_alignments(tmp_path: Path) -> None:
    write_tone(tmp_path / "alice" / "a1.wav")
    write_tone(tmp_path / "alice" / "a2.flac")
    write_tone(tmp_path / "bob" / "b1.ogg")
    (tmp_path / "alice" / "a1.TextGrid").write_text("x")
    (tmp_path / "alice" / "a1.txt").write_text("hi there\n")
    utts = discover(tmp_path)
    assert [(u.id, u.speaker) for u in utts] == [("alice_a1", "alice"), ("alice_a2", "alice"), ("bob_b1", "bob")]
    assert utts[0].alignment and utts[0].text == "hi there" and utts[1].alignment is None


def test_librispeech_layout(tmp_path: Path) -> None:
    root = tmp_path / "LibriSpeech" / "train-clean-100"
    for spk, ch in (("19", "198"), ("26", "495")):
        d = root / spk / ch
        for i in range(2):
            write_tone(d / f"{spk}-{ch}-{i:04d}.flac", 0.1)
        (d / f"{spk}-{ch}.trans.txt").write_text(f"{spk}-{ch}-0000 HELLO WORLD\n{spk}-{ch}-0001 GOOD BYE\n")
    assert detect_layout(root) == "librispeech"
    assert detect_layout(tmp_path / "LibriSpeech") == "librispeech"
    utts = discover(root)
    assert [u.id for u in utts] == ["19-198-0000", "19-198-0001", "26-495-0000", "26-495-0001"]
    assert utts[0].speaker == "19" and utts[1].text == "GOOD BYE"
    # a speaker folder, a chapter folder or one file given to a command gets the same ids and speakers
    from vqspeech.speech.data.corpora import expand_inputs

    for item in (root / "19", root / "19" / "198", root / "19" / "198" / "19-198-0001.flac"):
        got = {(u.id, u.speaker) for u in expand_inputs([item])}
        assert got <= {(u.id, u.speaker) for u in utts} and ("19-198-0001", "19") in got, (item, got)


def test_vctk_092_single_file_gets_the_reader_id(tmp_path: Path) -> None:
    from vqspeech.speech.data.corpora import expand_inputs

    f = write_tone(tmp_path / "wav48_silence_trimmed" / "p225" / "p225_001_mic2.flac", 0.1)
    assert [(u.id, u.speaker) for u in expand_inputs([f])] == [("p225_001", "p225")]


@pytest.mark.parametrize("kind", ["jsonl", "csv", "tsv"])
def test_manifests(tmp_path: Path, kind: str) -> None:
    write_tone(tmp_path / "a" / "x.wav")
    write_tone(tmp_path / "b" / "y.wav")
    rows = [{"path": "a/x.wav", "speaker": "s1", "id": "u1"}, {"path": str(tmp_path / "b" / "y.wav"), "speaker": "s2"}]
    m = tmp_path / f"list.{kind}"
    if kind == "jsonl":
        m.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        sep = "," if kind == "csv" else "\t"
        m.write_text(f"path{sep}speaker{sep}id\n" + "".join(f"{r['path']}{sep}{r['speaker']}{sep}{r.get('id', '')}\n"
                                                         for r in rows))
    utts = discover(m)
    assert [(u.id, u.speaker) for u in utts] == [("s2_y", "s2"), ("u1", "s1")]  # the one id rule
    assert Path(utts[0].path).exists()


def test_manifest_without_path_names_the_row(tmp_path: Path) -> None:
    m = tmp_path / "m.jsonl"
    m.write_text('{"speaker": "x"}\n')
    with pytest.raises(InputError, match="row 1 has no 'path'"):
        discover(m)


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no audio files"):
        discover(tmp_path)


def test_seeded_split_is_reproducible_and_per_speaker() -> None:
    from vqspeech.speech.data.corpora import Utterance

    utts = [Utterance(f"{s}_{i}", f"{s}_{i}.wav", s) for s in ("a", "b", "c") for i in range(20)]
    s1 = split_utterances(utts, 0.1, seed=3, unseen_speakers=["c"])
    s2 = split_utterances(utts, 0.1, seed=3, unseen_speakers=["c"])
    assert s1 == s2
    assert len(s1["valid"]) == 4 and {v[0] for v in s1["valid"]} == {"a", "b"}
    assert len(s1["test_unseen"]) == 20 and not set(s1["train"]) & set(s1["valid"])
    assert split_utterances(utts, 0.1, seed=4)["valid"] != s1["valid"]


def test_training_crops_are_seeded_and_carry_phone_frames(demo_corpus: Path) -> None:
    from vqspeech.speech.data.dataset import AudioCorpus
    from vqspeech.speech.data.phones import PHONES

    utts = discover(demo_corpus)
    corpus = AudioCorpus(utts, 16000, ["f1", "f2", "f3"], alignments=True)
    a1, s1, p1 = corpus.crops(4, 3200, seed=5, hop=64)
    a2, s2, p2 = corpus.crops(4, 3200, seed=5, hop=64)
    assert torch.equal(a1, a2) and torch.equal(s1, s2) and torch.equal(p1, p2)
    assert a1.shape == (4, 3200) and p1.shape == (4, 50) and set(s1.tolist()) <= {0, 1, 2}
    assert (p1 >= 0).all() and len({PHONES[i] for i in p1.flatten().tolist()}) > 3
    a3, _ = corpus.crops(4, 3200, seed=6)
    assert not torch.equal(a1, a3)


def test_disk_cache_is_built_once_mapped_and_equals_ram(demo_corpus: Path, tmp_path: Path) -> None:
    import numpy as np

    from vqspeech.speech.data.dataset import AudioCorpus

    utts = discover(demo_corpus)
    speakers = sorted({u.speaker for u in utts})
    ram = AudioCorpus(utts, 16000, speakers, trim=True)
    disk = AudioCorpus(utts, 16000, speakers, trim=True, cache_dir=str(tmp_path / "cache"))
    (key,) = list((tmp_path / "cache").iterdir())
    data = key / "audio.int16"
    assert isinstance(disk.items[0].audio, np.memmap)
    assert data.stat().st_size == 2 * sum(len(it.audio) for it in ram.items)
    assert [it.trim_offset for it in disk.items] == [it.trim_offset for it in ram.items]
    for a, b in zip(ram.crops(6, 2048, seed=3), disk.crops(6, 2048, seed=3), strict=True):
        assert torch.equal(a, b)
    stamp = data.stat().st_mtime_ns
    AudioCorpus(utts, 16000, speakers, trim=True, cache_dir=str(tmp_path / "cache"))
    assert data.stat().st_mtime_ns == stamp and len(list((tmp_path / "cache").iterdir())) == 1  # reused
    AudioCorpus(utts, 16000, speakers, trim=False, cache_dir=str(tmp_path / "cache"))
    assert len(list((tmp_path / "cache").iterdir())) == 2  # other settings, another cache
