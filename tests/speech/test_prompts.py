"""``corpus prompts``: the asterisk layout (talent folders, subfolders, transcripts) becomes the generic layout,
one speaker per talent with languages merged; short and non-speech prompts are skipped; nothing there is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_cli, write_tone

from vqspeech.speech.data.corpora import discover
from vqspeech.speech.data.prompts import build_prompts_corpus


def _sounds(root: Path) -> Path:
    write_tone(root / "en_US_f_Allison" / "hello.wav", 1.2, sr=8000)
    write_tone(root / "en_US_f_Allison" / "digits" / "1.wav", 1.1, sr=8000)
    write_tone(root / "en_US_f_Allison" / "beep.wav", 1.5, sr=8000)  # a tone, described in brackets
    write_tone(root / "en_US_f_Allison" / "silence" / "1.wav", 1.0, sr=8000)
    write_tone(root / "en_US_f_Allison" / "ok.wav", 0.4, sr=8000)  # too short
    write_tone(root / "es_MX_f_Allison" / "hola.wav", 1.3, sr=8000)
    write_tone(root / "it_IT_m_Carlo" / "ciao.wav", 1.0, sr=8000)
    (root / "en_US_f_Allison" / "core-sounds-en.txt").write_text(
        "; Core sounds\n\nhello: Hello there.\ndigits/1: one\nbeep: [a simple beep tone]\n")
    (root / "README").write_text("not a talent folder")
    return root


def test_prompts_corpus_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture) -> None:
    sounds = _sounds(tmp_path / "sounds")
    code, out, err = run_cli(["corpus", "prompts", str(tmp_path / "c"), "--sounds", str(sounds)], monkeypatch,
                             capsys)
    assert code == 0, err
    files = sorted(p.relative_to(tmp_path / "c").as_posix() for p in (tmp_path / "c").rglob("*.*"))
    assert files == ["ATTRIBUTION.txt", "allison/en-digits-1.txt", "allison/en-digits-1.wav", "allison/en-hello.txt",
                     "allison/en-hello.wav", "allison/es-hola.wav", "carlo/it-ciao.wav"]
    assert (tmp_path / "c" / "allison" / "en-hello.txt").read_text() == "Hello there.\n"
    assert "not installed: fr, ru" in err and "apt-get install" in err  # say how to get the others
    talents = build_prompts_corpus(tmp_path / "c2", sounds)
    a = talents["allison"]
    assert (a.languages, a.files, a.skipped_short, a.skipped_nonspeech) == (["en", "es"], 3, 1, 1)
    assert a.seconds == pytest.approx(1.2 + 1.1 + 1.3, abs=0.01) and talents["carlo"].sex == "m"
    utts = discover(tmp_path / "c", "auto", "mic1")
    assert sorted({u.speaker for u in utts}) == ["allison", "carlo"] and len(utts) == 4


def test_nothing_there_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    for sounds in (tmp_path / "empty", tmp_path / "missing"):
        code, _, err = run_cli(["corpus", "prompts", str(tmp_path / "c"), "--sounds", str(sounds)], monkeypatch,
                               capsys)
        assert code == 2 and err.startswith("error:") and "apt-get install asterisk-core-sounds-en-wav" in err
    assert not (tmp_path / "c").exists()
    (tmp_path / "file").write_text("keep me")
    code, _, err = run_cli(["corpus", "prompts", str(tmp_path / "file"), "--sounds", str(tmp_path / "empty")],
                           monkeypatch, capsys)
    assert code == 2 and err.startswith("error:") and "not a directory" in err
    assert (tmp_path / "file").read_text() == "keep me"
