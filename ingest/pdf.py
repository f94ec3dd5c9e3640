"""PDF pages read by their layout with pdfplumber: headings from font size and weight, tables as rows,
two-column pages column by column, running headers, footers and page numbers left out as page chrome.

pypdf opens the file first, only to tell encrypted and damaged files apart with a clear reason.
"""

from __future__ import annotations

import io
import logging
import re
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass

from ingest.document import Block, UnreadableDocument
from ingest.plaintext import is_boilerplate, is_page_number, join_wrapped, looks_like_heading
from ingest.tables import header_of, table_blocks

_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_SENTENCE_END = tuple(".!?:…\"”»")
_LIST_ITEM = re.compile(r"^(?:[•▪◦●■–\-*]\s|\d{1,2}[.)]\s)")
CHROME_ZONE = 0.12  # running headers and footers sit in the top and bottom 12 % of a page
MIN_GUTTER = 8.0  # points of white between two columns


@dataclass
class Line:
    text: str
    top: float
    bottom: float
    size: float
    bold: bool
    page: int
    jump: bool  # the reading order jumps here (a new page or column): not directly below the last line


@dataclass
class Table:
    rows: list[list[str]]
    header: bool | None  # whether the first row is a header (None: guess from the cells)
    page: int
    first_on_page: bool


@dataclass
class PdfText:
    blocks: list[Block]
    dropped: list[str]
    pages: int
    meta_title: str


@contextmanager
def _quiet_pypdf():
    """pypdf logs what it repairs ("EOF marker not found") as warnings, which, with logging not set
    up, are printed to stderr between the CLI's one-line reports. What matters is raised instead."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check_with_pypdf(data: bytes) -> str:
    """Raise `UnreadableDocument` for encrypted or damaged files; return the metadata title."""
    from pypdf import PdfReader as PypdfReader
    from pypdf.errors import DependencyError, DeprecationError, FileNotDecryptedError, PyPdfError

    try:
        with _quiet_pypdf():
            pdf = PypdfReader(io.BytesIO(data))
            if pdf.is_encrypted and not pdf.decrypt(""):  # an empty user password opens many PDFs
                raise UnreadableDocument("the PDF is encrypted (password protected)")
            for page in pdf.pages:  # decoding every content stream finds the damaged ones
                page.get_contents()
            return ((pdf.metadata.title if pdf.metadata else None) or "").strip()
    except FileNotDecryptedError as error:
        raise UnreadableDocument("the PDF is encrypted (password protected)") from error
    except DependencyError as error:
        # AES-encrypted PDFs (often "owner password only", to block copying) need `cryptography`.
        raise UnreadableDocument(
            "the PDF is AES-encrypted; reading it needs the 'cryptography' package (pip install cryptography)"
        ) from error
    except (
        PyPdfError, DeprecationError, NotImplementedError, zlib.error, RecursionError,
        ValueError, KeyError, TypeError, IndexError, AttributeError, AssertionError,
    ) as error:  # fmt: skip
        # The error's text can hold raw bytes: name only its type.
        raise UnreadableDocument(
            f"the PDF is corrupt or truncated and cannot be parsed ({error.__class__.__name__})"
        ) from error


def read_pdf(data: bytes) -> PdfText:
    meta_title = _check_with_pypdf(data)
    import pdfplumber

    dropped: list[str] = []
    try:
        with pdfplumber.open(io.BytesIO(data), password="") as pdf:
            pages = [_page_content(page) for page in pdf.pages]
            chrome = _chrome(pdf.pages, pages)
            items: list[Line | Table] = []
            for number, (page, (words, tables)) in enumerate(zip(pdf.pages, pages), start=1):
                kept = [word for word in words if id(word) not in chrome]
                dropped += [" ".join(w["text"] for w in row) for row in _rows([w for w in words if id(w) in chrome])]
                items += _reading_order(kept, tables, float(page.width), number)
            page_count = len(pdf.pages)
    except UnreadableDocument:
        raise
    except Exception as error:  # pdfminer raises many kinds of errors on damaged files
        raise UnreadableDocument(
            f"the PDF is corrupt or truncated and cannot be parsed ({error.__class__.__name__})"
        ) from error
    return PdfText(_blocks(items, dropped), dropped, page_count, meta_title)


# --- words, tables and page chrome -------------------------------------------------------------------
def _page_content(page) -> tuple[list[dict], list[tuple[tuple, Table]]]:
    words = page.extract_words(extra_attrs=["size", "fontname"])
    tables = []
    if page.rects or page.lines or page.curves:
        for found in page.find_tables():
            rows = [[join_wrapped((cell or "").split("\n")) for cell in row] for row in found.extract()]
            if len(rows) < 2 or max(len(row) for row in rows) < 2:
                continue
            first = found.rows[0].bbox
            head = [w for w in words if _inside(w, first)]
            bold = bool(head) and all(_BOLD_FONT.search(w["fontname"]) for w in head)
            tables.append((found.bbox, Table(rows, True if bold else None, page.page_number, False)))
    in_tables = {id(w) for w in words for bbox, _ in tables if _inside(w, bbox)}
    return [w for w in words if id(w) not in in_tables], tables


def _inside(word: dict, bbox) -> bool:
    x, y = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


def _rows(words: list[dict]) -> list[list[dict]]:
    """Words on one baseline, left to right (both columns of a two-column page together)."""
    rows: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (w["bottom"], w["x0"])):
        if rows and abs(word["bottom"] - rows[-1][-1]["bottom"]) <= 2.0:
            rows[-1].append(word)
        else:
            rows.append([word])
    return [sorted(row, key=lambda w: w["x0"]) for row in rows]


def _chrome(pdf_pages, pages) -> set[int]:
    """Ids of the words of page chrome: a line repeated at the same height near the top or bottom of
    most pages (digits may differ: "Sida 3 av 24"), and page numbers there."""
    seen: Counter = Counter()
    candidates = []
    for page, (words, _) in zip(pdf_pages, pages):
        height = float(page.height)
        for row in _rows(words):
            top, bottom = row[0]["top"], row[0]["bottom"]
            if top > height * CHROME_ZONE and bottom < height * (1 - CHROME_ZONE):
                continue
            text = " ".join(w["text"] for w in row)
            key = (re.sub(r"\d+", "#", text.lower()), round(top / 6))
            candidates.append((key, text, row))
            seen[key] += 1
    repeated = max(2, (len(pages) + 1) // 2)
    chrome = set()
    for key, text, row in candidates:
        if (len(pages) > 1 and seen[key] >= repeated) or is_page_number(text) or is_boilerplate(text):
            chrome.update(id(w) for w in row)
    return chrome


# --- reading order -----------------------------------------------------------------------------------
def _gutter(rows: list[list[dict]], width: float) -> float | None:
    """The x of the white strip between two columns: the widest stretch of the page's middle that the
    fewest lines cover (justified text has wide gaps between words too, but not one below the other).
    None unless three or more lines are split there and both sides are full columns, not a label and
    its value."""
    if len(rows) < 3:
        return None
    start, stop = int(width * 0.25), int(width * 0.75)
    gap = int(MIN_GUTTER)
    cover = [0] * (stop - start)  # lines with a word in the strip [x, x + MIN_GUTTER]
    for row in rows:
        hit = bytearray(stop - start)
        for word in row:
            for x in range(max(start, int(word["x0"]) - gap), min(stop, int(word["x1"]) + 1)):
                hit[x - start] = 1
        for index, flag in enumerate(hit):
            cover[index] += flag
    least = min(cover)
    if least > 0.2 * len(rows):
        return None
    best, run_start = (0, 0), None
    for x, count in enumerate(cover + [least + 1]):
        if count == least and run_start is None:
            run_start = x
        elif count != least and run_start is not None:
            best = max(best, (x - run_start, run_start))
            run_start = None
    gutter = start + best[1] + best[0] / 2
    sides = [_side_of_row(row, gutter) for row in rows]
    lefts = [[w for w in r if w["x1"] <= gutter] for r, side in zip(rows, sides) if side in ("left", "split")]
    rights = [[w for w in r if w["x0"] >= gutter] for r, side in zip(rows, sides) if side in ("right", "split")]
    if len(lefts) < 3 or len(rights) < 3:
        return None
    left_edge = min(w["x0"] for row in lefts for w in row)
    right_edge = max(w["x1"] for row in rights for w in row)
    # Column lines fill their column: the median line is wider than 60 % of it.
    left = sorted(max(w["x1"] for w in r) - left_edge for r in lefts)[len(lefts) // 2]
    right = sorted(right_edge - min(w["x0"] for w in r) for r in rights)[len(rights) // 2]
    return gutter if left > 0.6 * (gutter - left_edge) and right > 0.6 * (right_edge - gutter) else None


def _side_of_row(row: list[dict], gutter: float) -> str:
    if any(w["x0"] < gutter < w["x1"] for w in row):
        return "cross"
    left = any(w["x1"] <= gutter for w in row)
    right = any(w["x0"] >= gutter for w in row)
    return "split" if left and right else "left" if left else "right"


def _reading_order(words: list[dict], tables, width: float, page: int) -> list[Line | Table]:
    """The page's lines and tables in reading order: top to bottom, and in a two-column stretch the
    left column before the right one."""
    rows = _rows(words)
    gutter = _gutter(rows, width)
    # Segments between full-width lines and tables, top to bottom.
    events: list[tuple[float, str, object]] = [(row[0]["bottom"], "row", row) for row in rows]
    events += [(bbox[1], "table", table) for bbox, table in tables]
    events.sort(key=lambda event: event[0])
    items: list[Line | Table] = []
    segment: list[list[dict]] = []

    def flush() -> None:
        if not segment:
            return
        sides = [_side_of_row(row, gutter) for row in segment] if gutter else []
        two_columns = sum(side != "right" for side in sides) >= 2 and sum(side != "left" for side in sides) >= 2
        if two_columns:
            left = [[w for w in row if w["x1"] <= gutter] for row in segment]
            right = [[w for w in row if w["x0"] >= gutter] for row in segment]
            items.extend(_lines([row for row in left if row], page, jump=not items))
            items.extend(_lines([row for row in right if row], page, jump=True))
        else:
            items.extend(_lines(segment, page, jump=not items))
        segment.clear()

    for _, kind, payload in events:
        if kind == "table":
            flush()
            payload.first_on_page = not items
            items.append(payload)
        elif gutter and _side_of_row(payload, gutter) == "cross":
            flush()
            items.extend(_lines([payload], page, jump=not items))
        else:
            segment.append(payload)
    flush()
    return items


def _lines(rows: list[list[dict]], page: int, jump: bool) -> list[Line]:
    lines = []
    for row in rows:
        sizes: Counter = Counter()
        for word in row:
            sizes[round(word["size"] * 2) / 2] += len(word["text"])
        lettered = [w for w in row if any(ch.isalnum() for ch in w["text"])] or row
        lines.append(
            Line(
                text=" ".join(w["text"] for w in row),
                top=min(w["top"] for w in row),
                bottom=max(w["bottom"] for w in row),
                size=sizes.most_common(1)[0][0],
                bold=all(_BOLD_FONT.search(w["fontname"]) for w in lettered),
                page=page,
                jump=jump and not lines,
            )
        )
    return lines


# --- blocks ------------------------------------------------------------------------------------------
def _levels(lines: list[Line], body: float) -> dict[float, int]:
    """Heading level by font size: the largest size is level 1; sizes within 1.2 pt share a level."""
    sizes = sorted({line.size for line in lines if _heading_size(line, body)}, reverse=True)
    levels: dict[float, int] = {}
    level, previous = 0, None
    for size in sizes:
        if previous is None or previous - size > 1.2:
            level += 1
        levels[size] = level
        previous = size
    return levels


def _heading_size(line: Line, body: float) -> bool:
    return (line.bold and line.size > body + 0.25) or line.size >= body + 2


def _blocks(items: list[Line | Table], dropped: list[str]) -> list[Block]:
    lines = [item for item in items if isinstance(item, Line)]
    sizes: Counter = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    levels = _levels(lines, body)
    low_level = max(levels.values(), default=0) + 1
    normal_gap = _normal_gaps(lines)

    blocks: list[Block] = []
    paragraph: list[Line] = []
    heading: list[Line] = []
    last_table: Table | None = None
    header: list[str] | None = None

    def flush_paragraph() -> None:
        if paragraph:
            blocks.append(Block(join_wrapped([line.text for line in paragraph]), page=paragraph[0].page))
            paragraph.clear()

    def flush_heading() -> None:
        if heading:
            text = join_wrapped([line.text for line in heading])
            level = levels.get(heading[0].size, low_level)
            blocks.append(Block(text, kind="heading", level=level, page=heading[0].page))
            heading.clear()

    previous: Line | Table | None = None
    for index, item in enumerate(items):
        if isinstance(item, Table):
            flush_paragraph()
            flush_heading()
            carried = None
            if previous is not None and previous is last_table and item.first_on_page and header:
                if len(item.rows[0]) == len(header):  # the table goes on from the previous page
                    carried = header
                    if item.rows[0] == header:
                        dropped.append(" | ".join(c for c in header if c))  # its header, repeated
                        item.rows = item.rows[1:]
            header = carried or header_of(item.rows, item.header)
            blocks += table_blocks(item.rows, header=item.header, page=item.page, header_row=carried)
            last_table = previous = item
            continue
        following = items[index + 1] if index + 1 < len(items) else None
        continues_heading = heading and item.size == heading[-1].size and item.bold == heading[-1].bold
        close = not item.jump and item.top - heading[-1].bottom < 0.8 * item.size if heading else False
        continues_heading = continues_heading and (close or (item.jump and item.text[:1].islower()))
        if continues_heading or _is_heading(item, body, following):
            flush_paragraph()
            if not continues_heading:
                flush_heading()
            heading.append(item)
        else:
            flush_heading()
            if paragraph and not _continues(paragraph[-1], item, normal_gap):
                flush_paragraph()
            paragraph.append(item)
        previous = item
    flush_paragraph()
    flush_heading()
    return blocks


def _is_heading(line: Line, body: float, following: Line | Table | None) -> bool:
    if len(line.text) > 200 or not any(ch.isalpha() for ch in line.text):
        return False
    if _heading_size(line, body):
        return True
    # A bold line of body size standing alone (not the start of a bold paragraph) is a low-level heading.
    alone = not (isinstance(following, Line) and following.bold and following.size == line.size and not following.jump)
    return line.bold and abs(line.size - body) <= 0.5 and alone and looks_like_heading(line.text)


def _normal_gaps(lines: list[Line]) -> dict[float, float]:
    """The usual white between two lines of a paragraph, per font size."""
    gaps: dict[float, Counter] = {}
    for a, b in zip(lines, lines[1:]):
        if not b.jump and a.size == b.size and -1 < b.top - a.bottom < 1.2 * a.size:
            gaps.setdefault(a.size, Counter())[round(b.top - a.bottom)] += 1
    return {size: counter.most_common(1)[0][0] for size, counter in gaps.items()}


def _continues(previous: Line, line: Line, normal_gap: dict[float, float]) -> bool:
    """Whether `line` goes on with the paragraph that `previous` ends."""
    if _LIST_ITEM.match(line.text) or abs(line.size - previous.size) > 1 or line.bold != previous.bold:
        return False
    if line.jump:  # a new page or column: only a sentence left unfinished goes on
        return not previous.text.endswith(_SENTENCE_END)
    gap = line.top - previous.bottom
    usual = normal_gap.get(line.size, 0.3 * line.size)
    return -1 < gap <= usual + max(0.3 * line.size, 2.0)
