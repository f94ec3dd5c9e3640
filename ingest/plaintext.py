"""Structure in text without markup: headings, re-joined hard-wrapped lines, page chrome removed.

Plain text (and text pulled out of PDF pages) has no heading markup. As in the culture plan's pages,
a heading is a short line that starts with a capital letter and has no closing punctuation, standing
on its own: at the start of a paragraph or after a line that ended a sentence. Every other line
break inside a paragraph is a hard wrap, and the lines are joined again.
"""

from __future__ import annotations

import re

from ingest.document import Block

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


def is_boilerplate(line: str) -> bool:
    return bool(_BOILERPLATE.match(line))


def looks_like_heading(line: str) -> bool:
    line = line.strip()
    if not line or len(line) > MAX_HEADING_CHARS or len(line.split()) > MAX_HEADING_WORDS:
        return False
    if line.endswith(_CLOSING_PUNCTUATION) or line.startswith(("-", "•", "*", "–")):
        return False
    # Short lines wrapped out of narrow PDF columns would otherwise pass for headings.
    if _SENTENCE_BREAK_INSIDE.search(line) or _UNFINISHED_ENDING.search(line):
        return False
    # A heading has words: a bare number ("3", "2024") is a page number or a figure, not a title.
    if not any(ch.isalpha() for ch in line):
        return False
    return line[0].isupper() or line[0].isdigit()


def is_page_number(line: str) -> bool:
    return bool(_PAGE_NUMBER.match(line))


def join_wrapped(lines: list[str]) -> str:
    """Re-join hard-wrapped lines, undoing end-of-line hyphenation of a split word."""
    text = ""
    for line in lines:
        line = line.strip()
        if not text:
            text = line
        elif _HYPHENATED_WORD.search(text) and line[:1].islower() and not line.startswith(_KEEP_HYPHEN_BEFORE):
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return re.sub(r"[ \t]+", " ", text)


def _paragraphs(text: str, drop_page_numbers: bool = False) -> list[list[str]]:
    paragraphs, current = [], []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            if current:
                paragraphs.append(current)
            current = []
        elif not is_boilerplate(line) and not (drop_page_numbers and is_page_number(line)):
            current.append(line)
    if current:
        paragraphs.append(current)
    return paragraphs


def blocks_from_text(text: str, page: int | None = None) -> list[Block]:
    """Headings and re-joined paragraphs of a plain text; with `page`, the text of one PDF page."""
    blocks: list[Block] = []
    # A page's header or footer number ("Sida 2 av 12") is chrome; left in, it became a heading
    # that replaced the real section in the heading path of everything on the next page.
    for lines in _paragraphs(text, drop_page_numbers=page is not None):
        body: list[str] = []
        after_heading = False
        for index, line in enumerate(lines):
            # A line after a heading starts afresh too: PDF text has no blank lines, so a section
            # heading right below the title (or a chapter heading) was glued to the paragraph.
            starts_fresh = index == 0 or after_heading or lines[index - 1].endswith(_SENTENCE_END)
            # A heading-like line directly followed by a lower-case line is a wrapped sentence.
            next_continues = index + 1 < len(lines) and lines[index + 1][:1].islower()
            after_heading = starts_fresh and looks_like_heading(line) and not next_continues
            if after_heading:
                if body:
                    blocks.append(Block(join_wrapped(body), page=page))
                    body = []
                blocks.append(Block(line, kind="heading", page=page))
            else:
                body.append(line)
        if body:
            blocks.append(Block(join_wrapped(body), page=page))
    return blocks
