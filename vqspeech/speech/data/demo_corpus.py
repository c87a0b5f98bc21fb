"""The embedded demo corpus: multi-speaker English synthesised offline by espeak-ng, with exact phone
alignments, written in the generic layout (``OUT/<speaker>/<speaker>_<NNN>.{wav,txt,TextGrid}``)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import time
from pathlib import Path

import numpy as np

from vqspeech.errors import InputError
from vqspeech.progress import say
from vqspeech.speech.data.alignments import Interval, write_textgrid
from vqspeech.speech.data.audio import resample, save_wav
from vqspeech.speech.data.espeak import Espeak, Voice, synth_job
from vqspeech.speech.data.phones import espeak_to_arpabet

SAMPLE_RATE = 16000
PAD_SECONDS = 0.15  # silence added before and after every utterance

# Eight clearly different voices: espeak variant, speaking rate (wpm), pitch and pitch range.
DEMO_SPEAKERS: list[tuple[str, Voice]] = [
    ("f1", Voice("en-us+f1", rate=150, pitch=60, pitch_range=60)),
    ("f2", Voice("en-us+f2", rate=175, pitch=75, pitch_range=40)),
    ("f3", Voice("en-us+f3", rate=140, pitch=45, pitch_range=80)),
    ("f4", Voice("en-us+f4", rate=165, pitch=85, pitch_range=55)),
    ("f5", Voice("en-us+f5", rate=185, pitch=55, pitch_range=30)),
    ("m3", Voice("en-us+m3", rate=155, pitch=30, pitch_range=50)),
    ("m7", Voice("en-us+m7", rate=135, pitch=20, pitch_range=70)),
    ("croak", Voice("en-us+croak", rate=170, pitch=40, pitch_range=45)),
]

# Sentences written for this project; together they cover all 39 ARPAbet phones many times.
SENTENCES = """\
The young boy enjoyed measuring the azure beige garage.
Thick fog rolled over the church tower at dawn.
She should judge the show with genuine pleasure.
Those three thin thieves thought about the weather.
A huge cowboy was choosing a noisy toy for his nephew.
The cook took a good look at the wooden book.
Nobody knew why the blue moon looked so strange.
Bright lights flashed while the ship sailed through the harbor.
My father owns a small yacht in the north bay.
We watched the television vision of a hungry king singing.
Join the voyage of the oyster boat at noon.
Her usual treasure was a yellow pearl in a jar.
Cheap cheese and fresh fish were sold at the shop.
The quick brown fox jumps over the lazy dog.
Please fetch the heavy hammer from the shed.
Urgent words were heard in the early morning.
Which way should the wagon go through the valley?
A curious mouse found a round house in the south.
The zebra and the giraffe zigzag across the zoo.
Put the sugar in the cup and push the bush aside.
I think the orange thing belongs to that other girl.
Every evening the ivy grows near the old wall.
The judge paused because the lawyer caused a delay.
Joy and envy are ordinary feelings for boys.
How loud the crowd became when the clown bowed!
Ten tiny turtles tried to climb the tall tree.
Go get a big bag of green grapes from the garden.
Vivid violet velvet covered the vast oval room.
Sharp shells shine on the shore in the sunshine.
Lions roared and bears growled in the dark forest.
Why would you wait while the white whale swims away?
Mother bathed the baby with a smooth cloth.
The engine hummed as the plane climbed higher.
Could you bring the ring to the wedding this spring?
Few people knew the rule about the huge music room.
Each child chose a peach and a chunk of chocolate.
The pilot thought the weather was not ideal.
Paul saw a tall dog walk along the lawn.
A rare bird perched on the pear tree near the stairs.
The sailor measured the depth with a leisurely motion.
Keep the key in the deep pocket of your jeans.
Good books could change the way we think.
Eight gray trains waited in the rain at the station.
The poet wrote about the ocean and the open road.
Fine rice and spicy pies arrived by nine.
Is this the house where the mouse was found?
Ask the jury whether the major issue is over.
Frogs hop, ducks quack, and owls hoot at night.
"""

WORDS = {
    "det": ["the", "a", "every", "one", "this", "that"],
    "adj": ["red", "calm", "quiet", "happy", "tiny", "shiny", "rough", "smooth", "yellow", "azure", "noisy",
            "thin", "huge", "beige", "cheap", "young", "wooden", "sharp", "brave", "gentle"],
    "noun": ["cat", "judge", "boat", "chair", "garage", "thing", "voice", "house", "book", "river", "window",
             "engine", "father", "sheep", "bird", "toy", "mouth", "zebra", "vision", "king", "pearl", "wagon"],
    "verb": ["finds", "watches", "pushes", "joins", "measures", "chooses", "throws", "follows", "loves",
             "paints", "breathes near", "thinks about", "sings to", "waits for", "looks at"],
    "adv": ["quickly", "slowly", "at noon", "in the morning", "near the shore", "with joy", "every day",
            "through the fog", "by the church", "under the bridge", "again", "all year"],
}


def demo_sentences(count: int, seed: int) -> list[str]:
    """``count`` sentences: the hand-written ones in a seeded order, then seeded generated ones."""
    rng = random.Random(seed)
    base = SENTENCES.strip().splitlines()
    rng.shuffle(base)
    out = base[:count]
    while len(out) < count:
        w = {k: rng.choice(v) for k, v in WORDS.items()}
        w2 = rng.choice(WORDS["noun"])
        out.append(f"{w['det'].capitalize()} {w['adj']} {w['noun']} {w['verb']} the {w2} {w['adv']}.")
    return out


def _intervals(
    events: list[tuple[str, int]], n_samples: int, sr: int, pad: float
) -> tuple[list[Interval], list[Interval]]:
    """Phone intervals (folded ARPAbet) and raw espeak intervals from phoneme start samples."""
    total = n_samples / sr + 2 * pad
    raw: list[Interval] = []
    starts = [(name, s / sr + pad) for name, s in events if 0 <= s <= n_samples]
    bounds = [t for _, t in starts] + [n_samples / sr + pad]
    raw.append(Interval(0.0, starts[0][1] if starts else total, "_"))
    pending: list[str] = []  # zero-length phones (e.g. /l/ after a vowel) wait to split their neighbour
    for (name, t0), t1 in zip(starts, bounds[1:], strict=True):
        if t1 <= t0 + 1e-9:
            if not name.lstrip("',%").startswith("_"):
                pending.append(name)
            continue
        if pending and raw and raw[-1].label not in ("_", "_:"):
            # split the previous phone evenly with the zero-length ones
            prev = raw.pop()
            names = [prev.label, *pending]
            step = (prev.end - prev.start) / len(names)
            raw += [Interval(prev.start + i * step, prev.start + (i + 1) * step, n) for i, n in enumerate(names)]
        pending = []
        raw.append(Interval(t0, t1, name))
    raw.append(Interval(bounds[-1], total, "_"))
    phones: list[Interval] = []
    for iv in raw:
        parts = espeak_to_arpabet(iv.label)
        step = (iv.end - iv.start) / len(parts)
        for i, p in enumerate(parts):
            a, b = iv.start + i * step, iv.start + (i + 1) * step
            if phones and phones[-1].label == p == "sil":
                phones[-1] = Interval(phones[-1].start, b, "sil")
            else:
                phones.append(Interval(a, b, p))
    return phones, raw


def build_demo_corpus(out: str | Path, *, speakers: int = 8, utterances: int = 40, seed: int = 0) -> dict:
    """Synthesise the demo corpus into ``out`` (generic layout).  Deterministic for a seed.

    Returns a summary ``{"speakers", "utterances", "seconds", "build_seconds"}`` (also in ``OUT/corpus.json``).
    """
    if not 1 <= speakers <= len(DEMO_SPEAKERS):
        raise InputError(f"--speakers must be between 1 and {len(DEMO_SPEAKERS)}, not {speakers}")
    if utterances < 1:
        raise InputError(f"--utterances must be at least 1, not {utterances}")
    out = Path(out)
    Espeak.check_available()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    seconds = 0.0
    pad = np.zeros(int(PAD_SECONDS * SAMPLE_RATE), np.float32)
    jobs = [(spk, n, text, voice) for k, (spk, voice) in enumerate(DEMO_SPEAKERS[:speakers])
            for n, text in enumerate(demo_sentences(utterances, seed * 1000 + k))]
    for spk, _ in DEMO_SPEAKERS[:speakers]:
        (out / spk).mkdir(exist_ok=True)
    # espeak-ng keeps internal state (pitch flutter) across utterances, even over re-initialisation, so each
    # utterance is synthesised in a freshly forked worker: the same text and voice always give the same bytes.
    ctx = mp.get_context("fork")
    with ctx.Pool(processes=min(2, os.cpu_count() or 1), maxtasksperchild=1) as pool:
        results = pool.imap(synth_job, [(text, voice) for _, _, text, voice in jobs], chunksize=1)
        for (spk, n, text, _), (audio, events, engine_sr) in zip(jobs, results, strict=True):
            phones, raw = _intervals(events, len(audio), engine_sr, PAD_SECONDS)
            audio = resample(audio, engine_sr, SAMPLE_RATE)
            wav = np.concatenate([pad, audio, pad])
            duration = len(wav) / SAMPLE_RATE
            phones[-1] = Interval(phones[-1].start, duration, phones[-1].label)
            raw[-1] = Interval(raw[-1].start, duration, raw[-1].label)
            stem = out / spk / f"{spk}_{n:03d}"
            save_wav(stem.with_suffix(".wav"), wav, SAMPLE_RATE)
            stem.with_suffix(".txt").write_text(text + "\n")
            write_textgrid(stem.with_suffix(".TextGrid"), duration, {"phones": phones, "espeak": raw})
            seconds += duration
    summary = {"speakers": speakers, "utterances": speakers * utterances, "seconds": round(seconds, 1),
               "sample_rate": SAMPLE_RATE, "seed": seed, "build_seconds": round(time.time() - t0, 1)}
    (out / "corpus.json").write_text(json.dumps({k: v for k, v in summary.items() if k != "build_seconds"}) + "\n")
    say(f"demo corpus: {summary['utterances']} utterances from {speakers} speakers, "
        f"{seconds / 60:.1f} min of audio, built in {summary['build_seconds']} s -> {out}")
    return summary
