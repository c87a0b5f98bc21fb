"""``vqspeech phoneme-eval``: how phonetic are the codes?  Each code frame gets the phone at its centre time
(trim offset applied); the codes are then scored against the phones (the paper's unsupervised phoneme
analysis: 49.3 % many-to-one accuracy vs 7.2 % for the majority phone, 128 codes at 25 Hz, 41 phones)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.errors import InputError
from vqspeech.speech.data.alignments import frame_labels, read_phones
from vqspeech.speech.data.corpora import index_textgrids
from vqspeech.speech.eval.abx import Distance, abx_report, triphone_items

Utt = tuple[np.ndarray, list[str]]  # codes [F] and the phone of each frame
SIL = "sil"


def _joint(utts: list[Utt]) -> tuple[np.ndarray, list[int], list[str]]:
    """Joint count matrix ``[codes, phones]`` with the code ids and phone labels of its rows/columns."""
    codes = sorted({int(c) for cs, _ in utts for c in cs})
    phones = sorted({p for _, ps in utts for p in ps})
    ci = {c: i for i, c in enumerate(codes)}
    pi = {p: i for i, p in enumerate(phones)}
    m = np.zeros((len(codes), len(phones)), np.int64)
    for cs, ps in utts:
        np.add.at(m, ([ci[int(c)] for c in cs], [pi[p] for p in ps]), 1)
    return m, codes, phones


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def many_to_one(fit: list[Utt], score: list[Utt]) -> float:
    """Map each code to its most frequent phone in ``fit``; accuracy of that map on ``score`` (codes unseen in
    ``fit`` map to ``fit``'s majority phone)."""
    pairs = Counter((int(c), p) for cs, ps in fit for c, p in zip(cs, ps, strict=True))
    best: dict[int, tuple[int, str]] = {}
    for (c, p), n in sorted(pairs.items()):
        if c not in best or n > best[c][0]:
            best[c] = (n, p)
    majority = Counter(p for _, ps in fit for p in ps).most_common(1)[0][0]
    hits = total = 0
    for cs, ps in score:
        for c, p in zip(cs, ps, strict=True):
            hits += best.get(int(c), (0, majority))[1] == p
            total += 1
    return hits / max(total, 1)


def compute_metrics(utts: list[Utt], frame_rate: float, fit_fraction: float = 0.5, seed: int = 0) -> dict[str, Any]:
    """All phoneme-eval metrics for utterances of (codes, phones-per-frame)."""
    if not utts:
        raise InputError("no frames to score")
    m, codes, phones = _joint(utts)
    n = m.sum()
    order = list(range(len(utts)))
    random.Random(seed).shuffle(order)
    k = min(max(1, round(len(utts) * fit_fraction)), len(utts) - 1) if len(utts) > 1 else 1
    fit, score = [utts[i] for i in order[:k]], [utts[i] for i in order[k:]]
    phone_counts, code_counts = m.sum(0), m.sum(1)
    h_phone, h_code, h_joint = _entropy(phone_counts), _entropy(code_counts), _entropy(m.ravel())
    mutual = h_phone + h_code - h_joint
    run_frames = sum(len(cs) for cs, _ in utts) / sum(1 + int(np.count_nonzero(np.diff(cs))) for cs, _ in utts)
    speech = Counter(p for _, ps in utts for p in ps if p != SIL)
    score_speech = [(cs[keep], [ps[i] for i in keep]) for cs, ps in score
                    if len(keep := [i for i, p in enumerate(ps) if p != SIL])]
    out = {
        "utterances": len(utts), "frames": int(n), "frame_rate": frame_rate, "phones": len(phones),
        "accuracy_heldout": many_to_one(fit, score) if score else float("nan"),
        "accuracy_same_set": float(m.max(1).sum() / n),  # = phone purity
        "majority_baseline": float(phone_counts.max() / n),
        "majority_phone": phones[int(phone_counts.argmax())],
        "accuracy_heldout_nonsil": many_to_one(fit, score_speech) if score_speech else float("nan"),
        "majority_baseline_nonsil": speech.most_common(1)[0][1] / max(sum(speech.values()), 1) if speech else 0.0,
        "majority_phone_nonsil": speech.most_common(1)[0][0] if speech else "",
        "phone_purity": float(m.max(1).sum() / n),
        "cluster_purity": float(m.max(0).sum() / n),
        "pnmi": float(mutual / h_phone) if h_phone > 0 else 0.0,
        "codes_used": len(codes),
        "code_entropy_bits": h_code,
        "bitrate_bits_per_s": h_code * frame_rate,
        "mean_run_length_frames": run_frames,
        "mean_run_length_ms": run_frames / frame_rate * 1000,
        "fit_utterances": len(fit), "scored_utterances": len(score),
    }
    return out


def mfcc_features(audios: list[np.ndarray], sample_rate: int, hop: int) -> list[np.ndarray]:
    """MFCC + delta frames ``[ceil(T/hop), 26]`` per audio ``[T]`` at the codes' frame rate (frame ``f`` centred at
    ``(f + 1/2) * hop``), standardised over all the audios together (librosa)."""
    import librosa

    n_fft = max(512, 2 ** int(np.ceil(np.log2(2 * hop))))
    feats = []
    for a in audios:
        frames = -(-len(a) // hop)
        y = np.pad(a, (0, frames * hop - len(a)))[hop // 2 :]
        m = librosa.feature.mfcc(y=y, sr=sample_rate, n_mfcc=13, n_fft=n_fft, hop_length=hop, n_mels=40)
        m = np.pad(m, ((0, 0), (0, max(0, frames - m.shape[1]))), mode="edge")[:, :frames]
        d = librosa.feature.delta(m, width=min(9, max(3, (frames // 2) * 2 - 1))) if frames >= 3 else np.zeros_like(m)
        feats.append(np.concatenate([m, d]).T)
    x = np.concatenate(feats)
    mean, std = x.mean(0), x.std(0) + 1e-8
    return [(f - mean) / std for f in feats]


def kmeans_codes(feats: list[np.ndarray], num_codes: int, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Seeded k-means (scikit-learn) over frames ``[F_i, d]``: the cluster id of each frame and the centroids
    ``[K, d]``."""
    try:
        from sklearn.cluster import MiniBatchKMeans
    except ImportError:
        raise InputError("--baseline needs scikit-learn: pip install 'vqspeech[image]' or scikit-learn") from None
    x = np.concatenate(feats)
    km = MiniBatchKMeans(n_clusters=min(num_codes, len(x)), random_state=seed, n_init=3, batch_size=4096).fit(x)
    return _split(km.labels_, [len(f) for f in feats]), km.cluster_centers_


def mfcc_kmeans_codes(audios: list[np.ndarray], sample_rate: int, hop: int, num_codes: int, seed: int = 0
                      ) -> list[np.ndarray]:
    """A baseline that learns nothing about speech: k-means (``num_codes`` clusters, seeded) on MFCC + delta
    features at the codes' frame rate (:func:`mfcc_features`).  Returns codes ``[ceil(T/hop)]`` per audio ``[T]``."""
    return kmeans_codes(mfcc_features(audios, sample_rate, hop), num_codes, seed)[0]


def _split(labels: np.ndarray, lengths: list[int]) -> list[np.ndarray]:
    return list(np.split(labels.astype(np.int64), np.cumsum(lengths)[:-1]))


def gather(rows: list[dict[str, Any]], alignments: Path, sample_rate: int, hop: int) -> tuple[list[Utt], list[str]]:
    """Pair each token row with its TextGrid by utterance id (speaker + stem: two speakers' ``utt1.TextGrid``
    never collide); returns (utts, problems)."""
    aligned, problems = align_rows(rows, alignments, sample_rate, hop)
    return [(np.asarray(r["codes"], np.int64)[keep], labels) for r, keep, labels in aligned], problems


def align_rows(rows: list[dict[str, Any]], alignments: Path, sample_rate: int, hop: int
               ) -> tuple[list[tuple[dict[str, Any], list[int], list[str]]], list[str]]:
    """``([(row, kept frame indices, phone of each kept frame)], problems)`` for token rows and TextGrids matched
    by utterance id; rows without a usable TextGrid are listed in ``problems``."""
    grids, clashes = index_textgrids(alignments)
    utts, problems = [], []
    for r in rows:
        grid = grids.get(r["id"])
        if r["id"] in clashes:
            problems.append(f"{r['id']}: several TextGrids in {alignments} claim this utterance id")
            continue
        if grid is None:
            problems.append(f"{r['id']}: no TextGrid in {alignments}")
            continue
        try:
            phones = read_phones(grid)
        except InputError as exc:
            problems.append(str(exc))
            continue
        codes = np.asarray(r["codes"], np.int64)
        offset = int(r.get("trim_offset") or 0)
        end = (offset + int(r.get("num_samples") or len(codes) * hop)) / sample_rate
        tol = max(0.05, 2 * hop / sample_rate)
        if phones[-1].end < end - tol or (offset == 0 and phones[-1].end > end + tol):
            problems.append(f"{grid}: spans {phones[-1].end:.2f} s but the audio has {end:.2f} s")
            continue
        labels = frame_labels(phones, len(codes), hop, sample_rate, offset)
        keep = [i for i, lab in enumerate(labels) if lab is not None]
        utts.append((r, keep, [labels[i] for i in keep]))
    return utts, problems


def abx_of(aligned: list[tuple[dict[str, Any], list[int], list[str]]], frames: list[np.ndarray],
           distance: Distance, seed: int = 0) -> dict[str, Any]:
    """ABX (within and across speakers) of per-frame representations ``frames[i]: [F_i, d]`` or ``[F_i]`` of the
    rows of :func:`align_rows` (each row's ``speaker`` groups its items)."""
    feats = [f[keep] for (_, keep, _), f in zip(aligned, frames, strict=True)]
    labels = [lab for _, _, lab in aligned]
    speakers = [str(r.get("speaker") or "") for r, _, _ in aligned]
    return abx_report(triphone_items(feats, labels, speakers), distance, seed)


def plot_heatmap(utts: list[Utt], path: str | Path) -> None:
    """Code x phone heat map of P(phone | code), codes grouped by their most frequent phone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vqspeech.speech.data.phones import PHONES

    m, codes, phones = _joint(utts)
    cols = [p for p in PHONES if p in phones] + [p for p in phones if p not in PHONES]
    m = m[:, [phones.index(p) for p in cols]]
    cond = m / np.maximum(m.sum(1, keepdims=True), 1)
    rank = sorted(range(len(codes)), key=lambda i: (int(cond[i].argmax()), -cond[i].max()))
    fig, ax = plt.subplots(figsize=(10, 7))
    ax.imshow(cond[rank], aspect="auto", cmap="magma", interpolation="nearest", vmin=0, vmax=1)
    ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
    ax.set_xlabel("phone")
    ax.set_ylabel(f"code ({len(codes)} used, grouped by their most frequent phone)")
    ax.set_title("P(phone | code)")
    fig.colorbar(ax.images[0], ax=ax, fraction=0.03)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def format_table(metrics: dict[str, Any]) -> str:
    """The metrics as an aligned table; with a ``baseline`` entry, a second column for the MFCC k-means codes."""
    base = metrics.get("baseline")

    def pct(key: str) -> str:
        return f"{100 * metrics[key]:.1f} %" + (f"   | {100 * base[key]:.1f} %" if base else "")

    def num(key: str, fmt: str) -> str:
        return format(metrics[key], fmt) + (f"   | {format(base[key], fmt)}" if base else "")

    def abx(dist: str, side: str) -> str:
        def one(m: dict[str, Any] | None, name: str) -> str:
            v = ((m or {}).get("abx") or {}).get(name, {}).get(side)
            return "-" if v is None or v != v else f"{100 * v:.1f} %"
        return one(metrics, dist) + (f"   | {one(base, dist)}" if base else "")

    rows = [
        ("utterances scored", f"{metrics['utterances']} ({metrics['fit_utterances']} fit / "
                              f"{metrics['scored_utterances']} held out)"),
        ("frames", f"{metrics['frames']} at {metrics['frame_rate']:g} Hz"),
    ]
    if base:
        rows.append(("", "codes     | MFCC k-means baseline (same K, same rate)"))
    rows += [
        ("many-to-one accuracy (held out)", pct("accuracy_heldout")),
        ("  on speech frames only", pct("accuracy_heldout_nonsil")),
        ("many-to-one accuracy (same set)", pct("accuracy_same_set")),
        ("cluster purity", pct("cluster_purity")),
        ("PNMI", num("pnmi", ".3f")),
        ("codes used", num("codes_used", "d")),
        ("code entropy (bits)", num("code_entropy_bits", ".2f")),
        ("bitrate (bits/s)", num("bitrate_bits_per_s", ".0f")),
        ("mean code run length (frames)", num("mean_run_length_frames", ".2f")),
        ("ABX error within speaker (embeddings)", abx("angular", "within")),
        ("ABX error across speakers (embeddings)", abx("angular", "across")),
        ("ABX error within speaker (code ids)", abx("equal", "within")),
        ("ABX error across speakers (code ids)", abx("equal", "across")),
    ]
    if base and "mfcc_angular" in (base.get("abx") or {}):
        m = base["abx"]["mfcc_angular"]
        rows.append(("ABX error of raw MFCC frames", f"within {100 * m['within']:.1f} %, across "
                                                      f"{100 * m['across']:.1f} %"))
    rows += [
        ("majority-phone baseline", f"{100 * metrics['majority_baseline']:.1f} % ({metrics['majority_phone']})"),
        ("  on speech frames only", f"{100 * metrics['majority_baseline_nonsil']:.1f} % "
                                    f"({metrics['majority_phone_nonsil']})"),
        ("phones", f"{metrics['phones']}"),
    ]
    w = max(len(a) for a, _ in rows)
    return "\n".join(f"{a:<{w}}  {b}" for a, b in rows)


__all__ = ["abx_of", "align_rows", "compute_metrics", "format_table", "gather", "kmeans_codes", "many_to_one",
           "mfcc_features", "plot_heatmap"]
