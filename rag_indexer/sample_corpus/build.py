"""The sample corpus: four marketing playbooks of the Google Merchandise Store as PDFs.

The indexer needs documents to index before anyone uploads one: `make run` indexes these
PDFs so the bot can quote a playbook out of the box, and the tests index them and measure
search recall with tests/data/rag_questions.jsonl, whose every question names the file and
the page holding its answer. The PDFs are committed next to this module; their sources
are the Markdown files in src/.

Rebuild after editing a source (and re-check the questions whose pages may have moved):

    .venv/bin/python -m rag_indexer.sample_corpus.build

The same sources give the same text on the same pages, and the same bytes. The renderer
understands only the Markdown the sources use: `#`/`##`/`###` headings, paragraphs, `-`
bullet lists, pipe tables and **bold**; anything else is an error rather than a surprise
in the PDF. Hangul is set in NanumGothic, the font the `koreanize_matplotlib` package
ships, so the build needs no system fonts.
"""

from __future__ import annotations

import html
import importlib.util
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymupdf

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"

PAGE = pymupdf.paper_rect("a4")  # 595 x 842 pt
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 68.0, 64.0, 68.0
BODY = pymupdf.Rect(MARGIN_X, MARGIN_TOP, PAGE.width - MARGIN_X, PAGE.height - MARGIN_BOTTOM)
FOOTER_BASELINE = PAGE.height - 34.0
FOOTER_SIZE = 8.0

REGULAR_FONT, BOLD_FONT = "NanumGothic.ttf", "NanumGothicBold.ttf"

# Headings are bold and at least 2 pt larger than the 10 pt body, so an extractor reading
# span sizes and flags (page.get_text("dict")) can tell them from the text. Two MuPDF
# quirks shape the rest: cells keep the default vertical-align (MuPDF passes a cell's
# `top` on to the inline elements inside it, which then sit below the line), and header
# cells have no background (MuPDF paints it again as a stray bar on later pages).
CSS = f"""
@font-face {{ font-family: Nanum; src: url({REGULAR_FONT}); }}
@font-face {{ font-family: Nanum; src: url({BOLD_FONT}); font-weight: bold; }}
* {{ font-family: Nanum; }}
body {{ margin: 0; font-size: 10pt; line-height: 1.5; color: #222222; }}
h1 {{ font-size: 20pt; font-weight: bold; margin: 0 0 12pt 0; color: #1a3d7c; }}
h2 {{ font-size: 15pt; font-weight: bold; margin: 16pt 0 6pt 0; color: #1a3d7c; }}
h3 {{ font-size: 12pt; font-weight: bold; margin: 10pt 0 4pt 0; color: #333333; }}
p {{ margin: 0 0 6pt 0; text-align: left; }}
ul {{ margin: 0 0 6pt 0; padding-left: 16pt; }}
li {{ margin: 0 0 2pt 0; }}
table {{ width: 100%; margin: 4pt 0 8pt 0; border-collapse: collapse; }}
th, td {{ font-size: 9pt; border: 0.5pt solid #8a8a8a; padding: 3pt 5pt; text-align: left; }}
th {{ font-weight: bold; color: #1a3d7c; }}
.k {{ white-space: nowrap; }}
"""

_HEADING = re.compile(r"^(#{1,3}) (\S.*)$")
_BULLET = re.compile(r"^- (\S.*)$")
_TABLE_RULE = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+$")
_BOLD = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_TAG = re.compile(r"(<[^>]+>)")
# NanumGothic maps one glyph to two code points (U+0020 and U+00A0, U+00B7 and U+30FB) and
# MuPDF writes the later one into the PDF's ToUnicode map, so every space would come out of
# a text extractor as a no-break space and every "·" as "・". These bfchar lines are set back.
_TO_UNICODE_FIXES = {"00a0": "0020", "30fb": "00b7"}
_BFCHAR = re.compile(r"^(<[0-9a-fA-F]{4}> <)(00[aA]0|30[fF][bB])>$", re.MULTILINE)
_NUMBERED = re.compile(r"^\d+\. ")
_KEPT_WORD = re.compile(r"[^\s<>]*(?:[\uac00-\ud7a3]|\w-\w)[^\s<>]*")


@dataclass(frozen=True)
class Block:
    """One block of a source: its tag (h1, h2, h3, p, ul or table) and inner HTML."""

    tag: str
    inner: str

    @property
    def is_heading(self) -> bool:
        return self.tag in ("h1", "h2", "h3")


@dataclass(frozen=True)
class Playbook:
    """What a source becomes: its `#` title and its blocks."""

    title: str
    blocks: tuple[Block, ...]

    @property
    def html(self) -> str:
        """The HTML body; block i has the id "b{i}", row j of a table "b{i}.{j}"."""
        parts = []
        for i, block in enumerate(self.blocks):
            rows = block.inner.split("<tr>")
            inner = rows[0] + "".join(f'<tr id="b{i}.{j}">{row}' for j, row in enumerate(rows[1:]))
            parts.append(f'<{block.tag} id="b{i}">{inner}</{block.tag}>')
        return "<body>" + "\n".join(parts) + "</body>"

    @property
    def text(self) -> str:
        """The text of every block, as a reader gets it, without the markup."""
        return "\n".join(html.unescape(_TAG.sub(" ", block.inner)) for block in self.blocks)


def font_dir() -> Path:
    """The folder holding koreanize_matplotlib's NanumGothic TTFs.

    Found through the import system without importing the package, which would import
    matplotlib and change its global settings as a side effect.
    """
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("koreanize_matplotlib is not installed; run `make setup`")
    folder = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    for name in (REGULAR_FONT, BOLD_FONT):
        if not (folder / name).is_file():
            raise RuntimeError(f"{folder / name} is missing from koreanize_matplotlib")
    return folder


# -- Markdown -----------------------------------------------------------------------


def _keep_words(fragment: str) -> str:
    """Lines break between words only, as Korean documents do.

    MuPDF breaks Hangul between any two syllables (it ignores `word-break: keep-all`) and
    English after a hyphen, so a word split over two lines would come out of the text
    extractor as two. Words holding Hangul or a hyphen are kept whole.
    """
    return "".join(
        part if part.startswith("<") else _KEPT_WORD.sub(r'<span class="k">\g<0></span>', part)
        for part in _TAG.split(fragment)
    )


def _inline(text: str, where: str) -> str:
    out = _BOLD.sub(r"<b>\1</b>", html.escape(text.strip(), quote=False))
    if "**" in out or "`" in out:
        raise ValueError(f"{where}: unsupported inline Markdown in {text.strip()!r}")
    return _keep_words(out)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table(rows: Sequence[tuple[int, str]], name: str) -> str:
    (first, header), *rest = rows
    if not rest or not _TABLE_RULE.match(rest[0][1].replace(" ", "")):
        raise ValueError(f"{name}:{first}: a table needs a header row and a |---| row")
    width = len(_cells(header))
    out = ["<tr>"]
    out += [f"<th>{_inline(cell, f'{name}:{first}')}</th>" for cell in _cells(header)]
    out.append("</tr>")
    for number, line in rest[1:]:
        cells = _cells(line)
        if len(cells) != width:
            raise ValueError(f"{name}:{number}: {len(cells)} cells, the header has {width}")
        out.append("<tr>")
        out += [f"<td>{_inline(cell, f'{name}:{number}')}</td>" for cell in cells]
        out.append("</tr>")
    return "".join(out)


def _starts_block(line: str) -> bool:
    return bool(_HEADING.match(line) or _BULLET.match(line) or line.startswith("|"))


def _blocks(lines: Sequence[str], name: str) -> Iterator[Block]:
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        where = f"{name}:{i + 1}"
        if not line.strip():
            i += 1
        elif heading := _HEADING.match(line):
            yield Block(f"h{len(heading.group(1))}", _inline(heading.group(2), where))
            i += 1
        elif line.startswith("|"):
            rows: list[tuple[int, str]] = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append((i + 1, lines[i].rstrip()))
                i += 1
            yield Block("table", _table(rows, name))
        elif _BULLET.match(line):
            items: list[tuple[str, str]] = []
            while i < len(lines) and lines[i].strip():
                current = lines[i].rstrip()
                if bullet := _BULLET.match(current):
                    items.append((f"{name}:{i + 1}", bullet.group(1)))
                elif current.startswith("  ") and items:  # the item above, continued
                    items[-1] = (items[-1][0], f"{items[-1][1]} {current.strip()}")
                else:
                    break
                i += 1
            yield Block("ul", "".join(f"<li>{_inline(text, at)}</li>" for at, text in items))
        elif line.startswith((" ", "\t", "#", ">", "```", "* ", "+ ")) or _NUMBERED.match(line):
            raise ValueError(f"{where}: unsupported Markdown: {line!r}")
        else:
            text: list[str] = []
            while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
                text.append(lines[i].strip())
                i += 1
            yield Block("p", _inline(" ".join(text), where))


def parse(markdown: str, name: str = "<markdown>") -> Playbook:
    """The blocks of a source, which must begin with its one `#` title."""
    blocks = tuple(_blocks(markdown.splitlines(), name))
    tags = [block.tag for block in blocks]
    if not blocks or tags[0] != "h1" or tags.count("h1") != 1:
        raise ValueError(f"{name}: a source starts with its one `# title`")
    title = html.unescape(_TAG.sub("", blocks[0].inner))
    return Playbook(title=title, blocks=blocks)


# -- PDF ------------------------------------------------------------------------------


def _lay_out(
    playbook: Playbook, fonts: Path, bottoms: dict[int, float]
) -> tuple[bytes, dict[int, float]]:
    """The pages as PDF bytes, the text of page i ending above `bottoms[i]` if given; and
    the pages to end higher in the next pass, with the bottom each needs.

    A page must end higher when it ends in a stranded block (a heading, or a table of
    which only the header row fits): above that block and the headings right over it.
    It must also when MuPDF overflows it: a block that begins exactly on the bottom edge
    is taken as fitting, and everything after it is laid out below the page, unseen.
    """
    story = pymupdf.Story(html=playbook.html, user_css=CSS, archive=pymupdf.Archive(str(fonts)))
    buffer = io.BytesIO()
    writer = pymupdf.DocumentWriter(buffer)
    # (block, table row or -1) -> top, of each block and table row begun on the page
    begun: dict[tuple[int, int], float] = {}

    def record(position: Any) -> None:  # pymupdf's ad-hoc position object
        if position.open_close & 1 and position.id.startswith("b"):
            block, _, row = position.id[1:].partition(".")
            begun[(int(block), int(row) if row else -1)] = position.rect[1]

    higher: dict[int, float] = {}
    more, number = True, 0
    while more:
        begun.clear()
        bottom = bottoms.get(number, BODY.y1)
        device = writer.begin_page(PAGE)
        more, _ = story.place(pymupdf.Rect(BODY.tl, (BODY.x1, bottom)))
        story.element_positions(record)
        story.draw(device)
        writer.end_page()
        if any(top >= bottom - 0.01 for top in begun.values()):
            higher[number] = bottom - 2
        elif more and begun:
            (block, row), _ = max(begun.items(), key=lambda item: (item[1], item[0]))
            if playbook.blocks[block].is_heading or row == 0:
                while (block - 1, -1) in begun and playbook.blocks[block - 1].is_heading:
                    block -= 1
                higher[number] = begun[(block, -1)] - 1
        number += 1
    writer.close()
    return buffer.getvalue(), higher


def _paginate(playbook: Playbook, fonts: Path) -> bytes:
    """Lay out again, ending pages higher, until no page is overflowed or ends stranded.

    MuPDF ignores `page-break-after: avoid`, and its `page-break-before` loses the text
    before the break when that text does not fit the page; a shorter page is safe. Each
    pass leaves the pages before the first change as they were, so the passes settle.
    """
    bottoms: dict[int, float] = {}
    for _ in range(30):
        data, higher = _lay_out(playbook, fonts, bottoms)
        if not higher:
            return data
        bottoms |= higher
    raise RuntimeError(f"{playbook.title}: the pages did not settle in 30 layouts")


def _fix_to_unicode(doc: pymupdf.Document) -> None:
    """Point the glyphs of _TO_UNICODE_FIXES back at the code points the sources use."""
    for xref in range(1, doc.xref_length()):
        kind, value = doc.xref_get_key(xref, "ToUnicode")
        if kind != "xref":
            continue
        stream = int(value.split()[0])
        cmap = doc.xref_stream(stream).decode("latin-1")
        fixed = _BFCHAR.sub(lambda m: f"{m[1]}{_TO_UNICODE_FIXES[m[2].lower()]}>", cmap)
        if fixed != cmap:
            doc.update_stream(stream, fixed.encode("latin-1"))


def render(playbook: Playbook, fonts: Path) -> bytes:
    """The PDF of a playbook: A4, laid out by pymupdf.Story, numbered in the footer."""
    doc = pymupdf.open("pdf", _paginate(playbook, fonts))
    total = doc.page_count
    for index, page in enumerate(doc):
        label = f"{index + 1} / {total}"
        width = pymupdf.get_text_length(label, fontname="helv", fontsize=FOOTER_SIZE)
        page.insert_text(
            ((PAGE.width - width) / 2, FOOTER_BASELINE),
            label,
            fontname="helv",
            fontsize=FOOTER_SIZE,
            color=(0.45, 0.45, 0.45),
        )
    doc.subset_fonts()  # the TTFs are 4.6 MB each; a subset keeps the committed PDFs small
    _fix_to_unicode(doc)
    doc.set_metadata(
        {
            "title": playbook.title,
            "author": "Commercy sample corpus",
            "subject": "Google Merchandise Store marketing playbook (sample)",
            "creator": "rag_indexer.sample_corpus.build",
            "producer": f"PyMuPDF {pymupdf.VersionBind}",
            # No dates: the same sources must give the same bytes.
            "creationDate": "",
            "modDate": "",
        }
    )
    data = doc.tobytes(garbage=4, deflate=True, no_new_id=True)
    doc.close()
    return data


def _check_text(data: bytes, playbook: Playbook, source: str, name: str) -> None:
    """The PDF's text must be the playbook's, whole and in order, in characters its source
    holds and in NanumGothic: a font mapping, a missing glyph or a layout that loses text
    fails the build, not the tests."""
    with pymupdf.open("pdf", data) as doc:
        pages = [page.get_text() for page in doc]
        fonts = {font[3].partition("+")[2] or font[3] for page in doc for font in page.get_fonts()}
    # A glyph NanumGothic lacks is drawn from one of MuPDF's fallback fonts: use another
    # character instead (U+2212 minus, for one, is missing; "-" is not).
    if fallback := fonts - {"NanumGothic Regular", "NanumGothic Bold", "Helvetica"}:
        raise RuntimeError(f"{name}: glyphs missing from NanumGothic, set in {sorted(fallback)}")
    unexpected = set("".join(pages)) - set(source) - set("•/0123456789 \n")
    if unexpected:
        found = ", ".join(f"U+{ord(c):04X}" for c in sorted(unexpected))
        raise RuntimeError(f"{name}: the PDF's text holds characters the source lacks: {found}")
    body = "".join(
        text.rstrip().removesuffix(f"{number} / {len(pages)}")
        for number, text in enumerate(pages, start=1)
    )
    if re.sub(r"[\s•]", "", body) != re.sub(r"\s", "", playbook.text):
        raise RuntimeError(f"{name}: the PDF's text is not the source's (text lost in layout?)")


def build(sources: Path = SOURCES, out: Path = HERE) -> list[Path]:
    """Render every src/*.md to out/<stem>.pdf; the paths written, in name order."""
    fonts = font_dir()
    written = []
    for source in sorted(sources.glob("*.md")):
        markdown = source.read_text(encoding="utf-8")
        playbook = parse(markdown, source.name)
        data = render(playbook, fonts)
        _check_text(data, playbook, markdown, source.name)
        target = out / f"{source.stem}.pdf"
        target.write_bytes(data)
        written.append(target)
    return written


def main() -> None:
    for path in build():
        with pymupdf.open(path) as doc:
            print(f"{path.name}: {doc.page_count} pages, {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
