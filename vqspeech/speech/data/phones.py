"""Phone sets: the fold of any phone label to the 39 CMU ARPAbet phones plus ``sil``, and the table from
espeak-ng's English phoneme names to ARPAbet.  Both tables live here and nowhere else.

The fold (documented in the README):
1. strip surrounding space, upper-case, drop ARPAbet stress digits (``AH0`` -> ``AH``);
2. ``sil``, ``sp``, ``spn``, ``pau``, ``<eps>``, ``h#`` and the empty label -> ``sil``;
3. TIMIT-style extras fold to their CMU phone: ``AX``/``AX-H`` -> ``AH``, ``IX`` -> ``IH``, ``AXR`` -> ``ER``,
   ``UX`` -> ``UW``, ``EL`` -> ``L``, ``EM`` -> ``M``, ``EN`` -> ``N``, ``ENG``/``NX`` -> ``NG``/``N``,
   ``HV`` -> ``HH``, ``DX`` -> ``T``, ``Q`` -> ``T``, closures (``BCL`` ...) and ``EPI`` -> ``sil``;
4. anything else is not a phone (:func:`fold_phone` raises ``KeyError``).
"""

from __future__ import annotations

ARPABET = (
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH"
).split()
PHONES = (*ARPABET, "sil")  # the 40 labels phoneme-eval scores against
SILENCE_LABELS = {"", "SIL", "SP", "SPN", "PAU", "<EPS>", "H#", "EPI", "PAUSE", "#"}
EXTRA_FOLD = {
    "AX": "AH", "AX-H": "AH", "IX": "IH", "AXR": "ER", "UX": "UW", "EL": "L", "EM": "M", "EN": "N",
    "ENG": "NG", "NX": "N", "HV": "HH", "DX": "T", "Q": "T",
    "BCL": "sil", "DCL": "sil", "GCL": "sil", "PCL": "sil", "TCL": "sil", "KCL": "sil",
}


def fold_phone(label: str) -> str:
    """Fold one label to ARPAbet-39 + ``sil``; ``KeyError`` when it is not a phone."""
    s = label.strip().upper().rstrip("012")
    if s in SILENCE_LABELS:
        return "sil"
    if s in ARPABET:
        return s
    if s in EXTRA_FOLD:
        return EXTRA_FOLD[s]
    raise KeyError(label)


def is_phone(label: str) -> bool:
    """True when :func:`fold_phone` accepts ``label``."""
    try:
        fold_phone(label)
    except KeyError:
        return False
    return True


# espeak-ng English (en-us) phoneme mnemonics -> ARPAbet.  A tuple splits the phone's interval evenly
# (r-coloured vowels become vowel + R).  Stress marks (' , %) are stripped before lookup.
# ";" is the linking glide espeak inserts between "the" and a following vowel; it is heard as /y/.
ESPEAK_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # vowels
    "a": ("AE",), "aa": ("AE",), "a#": ("AE",), "A:": ("AA",), "A": ("AA",), "0": ("AA",), "A@": ("AA", "R"),
    "aI": ("AY",), "aI@": ("AY", "ER"), "aI3": ("AY", "ER"), "aU": ("AW",), "aU@": ("AW", "ER"),
    "@": ("AH",), "@2": ("AH",), "@5": ("AH",), "@L": ("AH", "L"), "V": ("AH",), "a2": ("AH",),
    "3": ("ER",), "3:": ("ER",), "@r": ("ER",), "e": ("EH",), "E": ("EH",), "e@": ("EH", "R"),
    "eI": ("EY",), "i": ("IY",), "i:": ("IY",), "i@": ("IH", "R"), "i@3": ("IH", "R"),
    "I": ("IH",), "I#": ("IH",), "I2": ("IH",), "O:": ("AO",), "O": ("AO",), "O@": ("AO", "R"),
    "o@": ("AO", "R"), "O2": ("AO",), ";": ("Y",),
    "oU": ("OW",), "oU#": ("OW",), "OI": ("OY",), "u:": ("UW",), "u": ("UW",),
    "U": ("UH",), "U@": ("UH", "R"), "0@": ("AA", "R"),
    # consonants
    "p": ("P",), "b": ("B",), "t": ("T",), "t#": ("T",), "t2": ("T",), "*": ("T",), "?": ("T",), "d": ("D",),
    "d#": ("D",), "k": ("K",), "g": ("G",), "f": ("F",), "v": ("V",), "T": ("TH",), "D": ("DH",), "s": ("S",),
    "z": ("Z",), "S": ("SH",), "Z": ("ZH",), "h": ("HH",), "x": ("HH",), "m": ("M",), "m-": ("M",),
    "n": ("N",), "n-": ("N",), "N": ("NG",), "l": ("L",), "l-": ("L",), "L": ("L",), "r": ("R",), "r-": ("R",),
    "w": ("W",), "j": ("Y",), "tS": ("CH",), "dZ": ("JH",), "W": ("W",),
    # pauses
    "_": ("sil",), "_:": ("sil",), "_!": ("sil",), "_|": ("sil",), "_^_": ("sil",),
}


def espeak_to_arpabet(name: str) -> tuple[str, ...]:
    """Map one espeak-ng phoneme name (stress marks allowed) to one or more ARPAbet phones / ``sil``."""
    key = name.lstrip("',%=")
    if key in ESPEAK_TO_ARPABET:
        return ESPEAK_TO_ARPABET[key]
    if key.startswith("_"):
        return ("sil",)
    raise KeyError(name)
