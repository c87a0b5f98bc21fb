"""Static HTML pages of a run (``vqspeech report``): one self-contained page that opens from disk.

A :class:`Page` is written to ``OUT.html``; every file it shows is linked by a relative URL.  Files that lie
outside ``OUT.html``'s folder (a corpus wav, say) and files the page makes (spectrograms, curves) go into the
folder ``OUT_files/`` beside it, so the page and that folder can be moved or zipped together.  No scripts, no
fonts, nothing fetched: the browser only reads the page's own files.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

from vqspeech.io.atomic import atomic_write


class Raw(str):
    """Markup that :func:`cell` and :func:`table` insert as it is (plain ``str`` is escaped)."""


def esc(text: object) -> Raw:
    """``text`` escaped for HTML."""
    return Raw(html.escape(str(text)))


def cell(value: object) -> Raw:
    """A table cell or block: :class:`Raw` as it is, ``None`` as an en dash, anything else escaped."""
    if isinstance(value, Raw):
        return value
    return esc("–" if value is None else value)


def table(header: Sequence[object], rows: Iterable[Sequence[object]], cls: str = "") -> Raw:
    """An HTML table: ``header`` cells, then one ``<tr>`` per row."""
    head = "".join(f"<th>{cell(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return Raw(f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def para(text: object) -> Raw:
    """A paragraph of ``text`` (escaped unless :class:`Raw`)."""
    return Raw(f"<p>{cell(text)}</p>")


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1400px;padding:1rem 2rem;
color:#1b1b1f;background:#fff}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0}th,td{border:1px solid #d4d4d8;padding:.25rem .5rem;vertical-align:top;
text-align:left}th{background:#f4f4f5}td.num,th.num{text-align:right}
figure{margin:0 0 .4rem 0;display:inline-block}figcaption{font-size:.8rem;color:#52525b}
audio{width:230px;display:block}img.spec{width:230px;height:60px;display:block;image-rendering:auto}
img.fig{max-width:min(100%,900px)}img.px{image-rendering:pixelated}.scroll{overflow-x:auto}
.gifs td{text-align:center}nav a{margin-right:.8rem}code{background:#f4f4f5;padding:0 .2rem}
.note{color:#52525b;font-size:.9rem}
"""


class Page:
    """An HTML page being assembled: ``add`` sections, then ``write``.  ``out``: the ``.html`` file."""

    def __init__(self, out: str | Path, title: str) -> None:
        self.out = Path(out)
        self.title = title
        self.root = self.out.resolve().parent
        self.assets = self.root / f"{self.out.stem}_files"
        self.sections: list[tuple[str, str, str]] = []
        self._copied: dict[Path, Path] = {}

    # -- files ---------------------------------------------------------------------------------------------------

    def asset(self, name: str) -> Path:
        """A path under ``OUT_files/`` for a file the page makes (its folders are created)."""
        p = self.assets / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def link(self, path: str | Path) -> str:
        """The relative URL of ``path`` from the page; a file outside the page's folder is copied into
        ``OUT_files/`` first (so the page never points above its own folder)."""
        p = Path(path).resolve()
        if not p.is_relative_to(self.root):
            if p not in self._copied:
                parts = [x for x in p.parts[-3:-1] if x not in ("/", "")]
                dest = self.asset("/".join(["src", *parts, p.name]))
                shutil.copyfile(p, dest)
                self._copied[p] = dest
            p = self._copied[p]
        return quote(os.path.relpath(p, self.root).replace(os.sep, "/"))

    # -- elements ------------------------------------------------------------------------------------------------

    def img(self, path: str | Path, alt: str, cls: str = "fig", width: int | None = None) -> Raw:
        """An ``<img>`` of the file ``path`` (linked, see :meth:`link`)."""
        w = f' width="{width}"' if width else ""
        return Raw(f'<img class="{cls}" src="{self.link(path)}" alt="{esc(alt)}"{w}>')

    def audio(self, path: str | Path, caption: str = "", spectrogram: str | Path | None = None) -> Raw:
        """An ``<audio controls>`` player (with its spectrogram image under it when given) in a figure."""
        spec = self.img(spectrogram, f"spectrogram of {caption or Path(path).name}", "spec") if spectrogram else ""
        cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
        return Raw(f'<figure><audio controls preload="metadata" src="{self.link(path)}"></audio>{spec}{cap}'
                   "</figure>")

    def figure(self, path: str | Path, caption: str, cls: str = "fig") -> Raw:
        """An image with a caption under it."""
        return Raw(f"<figure>{self.img(path, caption, cls)}<figcaption>{esc(caption)}</figcaption></figure>")

    def markdown(self, text: str, base: str | Path) -> Raw:
        """The markdown the commands write (pipe tables, paragraphs, headings, ``**bold**``, ``code``, images and
        links, relative to the folder ``base``) as HTML."""
        return markdown_to_html(text, lambda src: self.link(Path(base) / src))

    # -- the page ------------------------------------------------------------------------------------------------

    def add(self, title: str, *parts: str) -> None:
        """A section ``<h2>title</h2>`` followed by ``parts`` (markup)."""
        anchor = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or f"s{len(self.sections)}"
        self.sections.append((anchor, title, "\n".join(parts)))

    def render(self, intro: str = "") -> str:
        """The whole page: title, ``intro`` (markup), a link to each section, the sections."""
        nav = " ".join(f'<a href="#{a}">{esc(t)}</a>' for a, t, _ in self.sections)
        body = "\n".join(f'<section id="{a}"><h2>{esc(t)}</h2>\n{b}\n</section>' for a, t, b in self.sections)
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{esc(self.title)}</title><style>{STYLE}</style></head>\n<body><h1>{esc(self.title)}</h1>"
                f"{intro}<nav>{nav}</nav>\n{body}\n</body></html>\n")

    def write(self, intro: str = "") -> Path:
        """Write the page atomically; returns its path."""
        text = self.render(intro)
        atomic_write(self.out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return self.out


_INLINE = re.compile(r"!\[([^\]]*)\]\(([^)]+)\)|\[([^\]]+)\]\(([^)]+)\)|\*\*(.+?)\*\*|`([^`]+)`")


def _inline(text: str, resolve: Callable[[str], str]) -> str:
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        if m.group(2) is not None:
            out.append(f'<img class="fig" src="{resolve(m.group(2))}" alt="{html.escape(m.group(1))}">')
        elif m.group(4) is not None:
            href = m.group(4)
            url = href if re.match(r"^[a-z]+:|^#", href) else resolve(href)
            out.append(f'<a href="{html.escape(url)}">{html.escape(m.group(3))}</a>')
        elif m.group(5) is not None:
            out.append(f"<strong>{_inline(m.group(5), resolve)}</strong>")
        else:
            out.append(f"<code>{html.escape(m.group(6))}</code>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def markdown_to_html(text: str, resolve: Callable[[str], str] = quote) -> Raw:
    """The small markdown subset the commands' ``--md`` reports use -> HTML.  ``resolve(src)``: a link's URL."""
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            i += 1
            continue
        if line.lstrip().startswith("|"):
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            head, body = rows[0], rows[1:]
            blocks.append(table([Raw(_inline(c, resolve)) for c in head],
                               [[Raw(_inline(c, resolve)) for c in r] for r in body]))
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", line)
        if m:
            level = min(6, len(m.group(1)) + 2)
            blocks.append(f"<h{level}>{_inline(m.group(2), resolve)}</h{level}>")
            i += 1
            continue
        par = []
        while i < len(lines) and lines[i].strip() and not lines[i].lstrip().startswith(("|", "#")):
            par.append(lines[i].strip())
            i += 1
        blocks.append(f"<p>{_inline(' '.join(par), resolve)}</p>")
    return Raw("\n".join(blocks))


def line_plot(series: list[tuple[str, list[float], list[float], int]], out: str | Path, ylabels: Sequence[str],
              xlabel: str = "step") -> Path | None:
    """Curves on ``len(ylabels)`` side-by-side axes: each series ``(label, x, y, axis index)``.  Returns ``out``,
    or ``None`` when there is nothing to plot."""
    series = [s for s in series if s[1]]
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ylabels), figsize=(5.5 * len(ylabels), 3.8), squeeze=False)
    for label, x, y, ax in series:
        axes[0, ax].plot(x, y, "o-" if len(x) < 12 else "-", lw=0.9, ms=3, label=label)
    for ax, ylabel in zip(axes[0], ylabels, strict=True):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def find_recorded(path: str | Path | None, run: Path) -> Path | None:
    """A path a run recorded (a checkpoint in ``evaluate.json``, a corpus root in ``config.yaml``), relative to where
    the command ran: as given, else from the run dir's grandparent (``runs/NAME/..``, where the demos run); ``None``
    when neither exists."""
    if not path:
        return None
    p = Path(path)
    for cand in (p, run.resolve().parents[1] / p) if not p.is_absolute() else (p,):
        if cand.exists():
            return cand
    return None


def read_tsv_pairs(path: Path) -> list[tuple[str, str]]:
    """``name<TAB>value`` lines (the demos' ``timings.tsv``); missing file -> ``[]``."""
    if not path.is_file():
        return []
    return [tuple(x.split("\t", 1)) for x in path.read_text().splitlines() if "\t" in x]  # type: ignore[misc]


__all__ = ["Page", "Raw", "cell", "esc", "find_recorded", "line_plot", "markdown_to_html", "para", "read_tsv_pairs",
           "table"]
