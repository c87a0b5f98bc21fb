"""Offline speech synthesis with espeak-ng (the optional ``demo`` extra, package ``espeakng-loader``) through
ctypes, with the exact start sample of every phone from espeak's phoneme events."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from vqspeech.errors import VQSpeechError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_EVENT_PHONEME = 7
_EVENT_END = 5
_EVENT_MSG_TERMINATED = 6
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass
class Voice:
    """An espeak-ng voice setting: ``name`` such as ``en-us+f3``, words per minute, pitch 0-100, range 0-100."""

    name: str
    rate: int = 160
    pitch: int = 50
    pitch_range: int = 50


class Espeak:
    """One espeak-ng engine (the library is a process-wide singleton)."""

    _instance: Espeak | None = None

    @staticmethod
    def check_available() -> None:
        """Raise a one-line error naming the extra to install when espeak-ng is missing."""
        try:
            import espeakng_loader  # noqa: F401
        except ImportError:
            raise VQSpeechError("the demo corpus needs espeak-ng: pip install 'vqspeech[demo]'") from None

    def __init__(self) -> None:
        self.check_available()
        import espeakng_loader

        lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INIT_PHONEME_EVENTS)
        if self.sample_rate <= 0:
            raise VQSpeechError("espeak-ng failed to initialise")
        self.lib = lib
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []
        self._cb = _CALLBACK(self._on_audio)
        lib.espeak_SetSynthCallback(self._cb)

    @classmethod
    def get(cls) -> Espeak:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _on_audio(self, wav, n: int, events) -> int:
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != 0:
            ev = events[i]
            if ev.type == _EVENT_PHONEME:
                name = bytes(ev.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                self._events.append((name, ev.sample))
            i += 1
        return 0

    def synth(self, text: str, voice: Voice) -> tuple[np.ndarray, list[tuple[str, int]]]:
        """Synthesise ``text``.  Returns ``(audio float32 [T] at self.sample_rate, [(phone, start_sample)])``."""
        if self.lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise VQSpeechError(f"espeak-ng has no voice {voice.name!r}")
        for key, value in ((_RATE, voice.rate), (_PITCH, voice.pitch), (_RANGE, voice.pitch_range), (_VOLUME, 100)):
            self.lib.espeak_SetParameter(key, value, 0)
        self._chunks, self._events = [], []
        if hasattr(self.lib, "espeak_ng_SetRandSeed"):  # breath noise uses rand(): fix its seed
            self.lib.espeak_ng_SetRandSeed(ctypes.c_long(1))
        buf = ctypes.create_string_buffer(text.encode())
        self.lib.espeak_Synth(buf, len(buf), 0, 1, 0, 0, None, None)
        self.lib.espeak_Synchronize()
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return audio.astype(np.float32) / 32768.0, list(self._events)


def synth_job(job: tuple[str, Voice]) -> tuple[np.ndarray, list[tuple[str, int]], int]:
    """Synthesise ``(text, voice)`` with this process's engine (run it in a fresh worker; see the module notes)."""
    engine = Espeak.get()
    audio, events = engine.synth(*job)
    return audio, events, engine.sample_rate


def synth_fresh(text: str, voice: Voice) -> tuple[np.ndarray, list[tuple[str, int]], int]:
    """Synthesise in a freshly forked single-use process, so this process never holds espeak-ng state (which
    would leak into later forks, e.g. the demo corpus's workers, and change their bytes).  Returns ``(audio,
    phoneme events, sample rate)``."""
    import multiprocessing as mp

    with mp.get_context("fork").Pool(processes=1, maxtasksperchild=1) as pool:
        return pool.apply(synth_job, ((text, voice),))
