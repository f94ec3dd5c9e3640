"""Structure in text without markup: headings, re-joined hard-wrapped lines, aligned tables, chrome removed.

Plain text (and text pulled out of PDF pages) has no heading markup. As in the culture plan's pages,
a heading is a short line that starts with a capital letter and has no closing punctuation, standing
on its own: at the start of a paragraph or after a line that ended a sentence. Every other line
break inside a paragraph is a hard wrap, and the lines are joined again.
"""

from __future__ import annotations

import re

from ingest.document import MINUTES_PARAGRAPH, Block
from ingest.tables import RULE_LINE, table_blocks

MAX_HEADING_CHARS = 90
MAX_HEADING_WORDS = 12
_CLOSING_PUNCTUATION = tuple(".,;:!?…)\"”»")
_SENTENCE_END = tuple(".!?:…\"”»")

# Lines of web-page chrome that are no part of the plan (matched on the whole line).
_BOILERPLATE = re.compile(
    r"^\s*(?:"
    r"hjälpte informationen på sidan dig\??|var informationen till hjälp\??|var sidan till hjälp\??"
    r"|dela sidan|dela på \w+|skriv ut(?: sidan)?|till toppen|tillbaka till toppen|läs upp"
    r"|senast (?:uppdaterad|ändrad|granskad)\b.*|sidan (?:uppdaterades|granskades)\b.*"
    r"|(?:vi|webbplatsen) använder (?:kakor|cookies)\b.*|acceptera (?:alla )?(?:kakor|cookies)"
    r"|hoppa till (?:innehållet|huvudinnehåll)|ja\s*/\s*nej|ja nej"
    r")\s*$",
    re.IGNORECASE,
)
# PDF page chrome: a page number on its own line ("3", "- 3 -", "Sida 3 av 12", "3 (12)", "3/12").
_PAGE_NUMBER = re.compile(
    r"^[\s\-–]*(?:(?:sida|sid\.?|s\.|page)\s*)?\d{1,4}(?:\s*(?:av|of|/)\s*\d{1,4}|\s*\(\d{1,4}\))?[\s\-–]*$",
    re.IGNORECASE,
)
# A sentence ends and the next begins inside the line ("för alla. I Ronneby"): running text, not a
# heading. Only after a lower-case letter, so that numbered headings ("1. Inledning") still count.
_SENTENCE_BREAK_INSIDE = re.compile(r"[a-zåäöé][.!?…]\s+[A-ZÅÄÖ]")
# A heading never ends in a conjunction, preposition or article; a line that does is a hard wrap in
# the middle of a sentence ("Regionteatern Blekinge Kronoberg och Musik i" / "Blekinge ...").
_UNFINISHED_ENDING = re.compile(
    r"\s(?:och|eller|samt|men|att|som|i|på|av|för|med|till|om|från|hos|vid|en|ett|den|det|de)$", re.IGNORECASE
)
_HYPHENATED_WORD = re.compile(r"[a-zåäöé]-$")
_KEEP_HYPHEN_BEFORE = ("och ", "eller ", "samt ", "som ")
# An explicit page marker in a text file ("Sida 1 (6)", "- 3 -"); a bare number there may be content.
_TEXT_PAGE_MARKER = re.compile(r"^[\s\-–]*(?:(?:sida|sid\.?|page)\s*\d{1,4}(?:\s*(?:av|of|/)\s*\d{1,4}|\s*\(\d{1,4}\))?|[\-–]\s*\d{1,4}\s*[\-–])[\s\-–]*$", re.IGNORECASE)
# Cells of a space-aligned row: runs of text separated by two or more spaces.
_CELL = re.compile(r"\S+(?: \S+)*")
_BULLET = ("-", "•", "*", "–", "▪")


def is_boilerplate(line: str) -> bool:
    return bool(_BOILERPLATE.match(line))


def looks_like_heading(line: str) -> bool:
    line = line.strip()
    if not line or len(line) > MAX_HEADING_CHARS or len(line.split()) > MAX_HEADING_WORDS:
        return False
    if line.endswith(_CLOSING_PUNCTUATION) or line.startswith(_BULLET):
        return False
    # Short lines wrapped out of narrow PDF columns would otherwise pass for headings.
    if _SENTENCE_BREAK_INSIDE.search(line) or _UNFINISHED_ENDING.search(line):
        return False
    # A heading has words: a bare number ("3", "2024") is a page number or a figure, not a title.
    if not any(ch.isalpha() for ch in line):
        return False
    return line[0].isupper() or line[0].isdigit() or line[0] == "§"


def is_page_number(line: str) -> bool:
    return bool(_PAGE_NUMBER.match(line))


def join_wrapped(lines: list[str]) -> str:
    """Re-join hard-wrapped lines, undoing end-of-line hyphenation of a split word."""
    text = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not text:
            text = line
        elif _HYPHENATED_WORD.search(text) and line[:1].islower() and not line.startswith(_KEEP_HYPHEN_BEFORE):
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return re.sub(r"\s+", " ", text)


def _paragraphs(text: str, dropped: list[str], pdf_page: bool) -> list[list[str]]:
    """Blank-line separated paragraphs of raw lines (right-stripped, indentation kept); rule lines
    separate paragraphs, boilerplate and page markers are left out and recorded in `dropped`."""
    paragraphs, current = [], []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n").split("\n"):
        line = raw.expandtabs(8).rstrip()
        stripped = line.strip()
        if not stripped:
            if current:
                paragraphs.append(current)
            current = []
        elif is_boilerplate(stripped) or (is_page_number(stripped) if pdf_page else _TEXT_PAGE_MARKER.match(stripped)):
            dropped.append(stripped)
        else:  # rule lines are kept: they mark a table's header, or end running text
            current.append(line)
    if current:
        paragraphs.append(current)
    return paragraphs


def _cells(line: str) -> list[tuple[int, str]]:
    """(column, text) of each cell of a line: split at `|`, or at runs of two or more spaces."""
    if "|" in line.strip().strip("|"):
        parts = line.strip().strip("|").split("|")
        return [(index, part.strip()) for index, part in enumerate(parts)]
    return [(match.start(), match.group()) for match in _CELL.finditer(line)]


def _spans(line: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _CELL.finditer(line)]


def _column_of(span: tuple[int, int], columns: list[tuple[int, int]]) -> int | None:
    """The column a cell sits in: the one it overlaps; None when it overlaps none or several."""
    overlaps = [min(span[1], end) - max(span[0], start) for start, end in columns]
    hits = [index for index, size in enumerate(overlaps) if size > 0]
    return hits[0] if len(hits) == 1 else None


def _table_run(lines: list[str], start: int) -> tuple[int, list[list[str]], bool]:
    """An aligned table from `lines[start]`: (lines used, rows, whether a rule marks the header).
    Two or more rows of the same number (2+) of cells; cells wrapped onto a line of their own and
    rows with empty cells are placed by the columns they stand in. (0, [], False) when no table."""
    line = lines[start]
    if RULE_LINE.match(line.strip()) or len(_cells(line)) < 2:
        return 0, [], False
    if "|" in line.strip().strip("|"):
        width, end, rows = len(_cells(line)), start, []
        while end < len(lines) and (RULE_LINE.match(lines[end].strip()) or len(_cells(lines[end])) == width):
            if not RULE_LINE.match(lines[end].strip()):
                rows.append([cell for _, cell in _cells(lines[end])])
            end += 1
        return (end - start, rows, True) if len(rows) >= 2 else (0, [], False)
    columns = _spans(line)
    rule_next = start + 1 < len(lines) and RULE_LINE.match(lines[start + 1].strip())
    if rule_next and len(_spans(lines[start + 1])) == len(columns):
        columns = [(min(a[0], b[0]), max(a[1], b[1])) for a, b in zip(columns, _spans(lines[start + 1]))]
    rows = [[text for _, text in _cells(line)]]
    end, full_rows = start + 1, 1
    while end < len(lines):
        line = lines[end]
        if RULE_LINE.match(line.strip()):
            end += 1
            continue
        spans = _spans(line)
        places = [_column_of(span, columns) for span in spans]
        if None in places or len(set(places)) != len(places):
            break
        cells = [line[a:b] for a, b in spans]
        if len(spans) == len(columns):
            rows.append(cells)
            full_rows += 1
            columns = [(min(c[0], s[0]), max(c[1], s[1])) for c, s in zip(columns, spans)]
        elif places[0] == 0:  # a row with empty cells
            row = [""] * len(columns)
            for place, cell in zip(places, cells):
                row[place] = cell
            rows.append(row)
        else:  # the wrapped end of the previous row's cells
            for place, cell in zip(places, cells):
                rows[-1][place] = join_wrapped([rows[-1][place], cell])
        end += 1
    while end > start and RULE_LINE.match(lines[end - 1].strip()):
        end -= 1
    if full_rows < 2:
        return 0, [], False
    return end - start, rows, bool(rule_next)


def _key_value_run(lines: list[str], start: int) -> int:
    """A label and its value, then lines indented to the value's column ("Beslutande   Anna A" /
    "             Per P"): the number of lines, or 0."""
    first = _cells(lines[start])
    if len(first) != 2 or "|" in lines[start] or RULE_LINE.match(lines[start].strip()):
        return 0
    if len(lines) == 1 and re.search(r"\S {4,}\S", lines[0]) and len(first[0][1].split()) <= 4:
        return 1  # "Plats och tid     Stadsbiblioteket, sal Aspö": a paragraph of one label and value
    column, end = first[1][0], start + 1
    while end < len(lines) and len(lines[end]) - len(lines[end].lstrip()) == column:
        end += 1
    return end - start if end - start >= 2 else 0


def _heading_level(line: str) -> int:
    """Numbered headings nest by their numbering ("3.1 Lärdomar" is level 2); others are level 1."""
    match = re.match(r"^(\d+(?:\.\d+)*)\.?\s", line)
    return min(match.group(1).count(".") + 1, 6) if match else 1


def blocks_from_text(text: str, page: int | None = None, dropped: list[str] | None = None) -> list[Block]:
    """Headings, re-joined paragraphs and table rows of a plain text; with `page`, the text of one
    PDF page. Lines left out as page chrome or boilerplate are appended to `dropped`."""
    dropped = dropped if dropped is not None else []
    blocks: list[Block] = []
    for lines in _paragraphs(text, dropped, pdf_page=page is not None):
        prose: list[str] = []
        heading_allowed = True  # whether the next prose line may be a heading
        prose_may_head = True
        index = 0
        while index < len(lines):
            line = lines[index]
            if MINUTES_PARAGRAPH.match(line.strip()) and looks_like_heading(" ".join(line.split())):
                # "§ 42  Uppföljning av ..." in minutes, its wrapped end indented below it.
                _flush_prose(prose, blocks, page, prose_may_head)
                heading, index = [line], index + 1
                while index < len(lines) and lines[index][:2] == "  " and lines[index].strip()[:1].islower():
                    heading.append(lines[index])
                    index += 1
                blocks.append(Block(join_wrapped(heading), kind="heading", page=page))
                heading_allowed = False
                continue
            run, rows, ruled = _table_run(lines, index)
            if run:
                _flush_prose(prose, blocks, page, prose_may_head)
                blocks += table_blocks(rows, header=True if ruled else None, page=page)
            elif run := _key_value_run(lines, index):
                _flush_prose(prose, blocks, page, prose_may_head)
                (label, value), rest = [c for _, c in _cells(line)], lines[index + 1 : index + run]
                blocks.append(Block(f"{label}: {_join_values([value, *rest])}", kind="row", page=page))
            elif RULE_LINE.match(line.strip()):
                _flush_prose(prose, blocks, page, prose_may_head)
                run = 1
            else:
                if not prose:
                    prose_may_head = heading_allowed
                prose.append(" ".join(line.split()))
                run = 1
            index += run
            heading_allowed = True
        _flush_prose(prose, blocks, page, prose_may_head)
    return blocks


def _join_values(values: list[str]) -> str:
    """Values listed one a line ("Anna A, ordförande" / "Per P"); a wrapped value is re-joined."""
    text = ""
    for value in (" ".join(v.split()) for v in values):
        if not text:
            text = value
        elif text.endswith((",", "-")) or value[:1].islower():
            text = join_wrapped([text, value])
        else:
            text = f"{text}; {value}"
    return text


def _flush_prose(lines: list[str], blocks: list[Block], page: int | None, heading_allowed: bool = True) -> None:
    """Headings and paragraphs of consecutive running-text lines; empties `lines`."""
    if not lines:
        return
    if not blocks and page is None and len(lines) >= 2 and looks_like_heading(lines[0]):
        # The first line of a text file is its title even above other short lines.
        blocks.append(Block(lines.pop(0), kind="heading", page=page))
    if len(lines) >= 2 and all(looks_like_heading(line) for line in lines):
        # Short lines together (a signature, an address, a list of names) are content, not a run of
        # headings that would replace each other in the heading path and vanish from the text.
        blocks.append(Block("; ".join(lines), page=page))
        lines.clear()
        return
    body: list[str] = []
    after_heading = False
    for index, line in enumerate(lines):
        # A line after a heading starts afresh too: PDF text has no blank lines, so a section
        # heading right below the title (or a chapter heading) was glued to the paragraph.
        starts_fresh = index == 0 or after_heading or lines[index - 1].endswith(_SENTENCE_END)
        # A heading-like line directly followed by a lower-case line is a wrapped sentence.
        next_continues = index + 1 < len(lines) and lines[index + 1][:1].islower()
        # The last line of a group is a heading only when it stands alone.
        last_of_many = index == len(lines) - 1 and index > 0
        after_heading = starts_fresh and looks_like_heading(line) and not next_continues and not last_of_many
        after_heading = after_heading and (heading_allowed or index > 0)
        if after_heading:
            if body:
                blocks.append(Block(join_wrapped(body), page=page))
                body = []
            blocks.append(Block(line, kind="heading", level=_heading_level(line), page=page))
        else:
            body.append(line)
    if body:
        blocks.append(Block(join_wrapped(body), page=page))
    lines.clear()
