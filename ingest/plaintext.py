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
    return line[0].isupper() or line[0].isdigit()


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


def _paragraphs(text: str) -> list[list[str]]:
    paragraphs, current = [], []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            if current:
                paragraphs.append(current)
            current = []
        elif not is_boilerplate(line):
            current.append(line)
    if current:
        paragraphs.append(current)
    return paragraphs


def blocks_from_text(text: str, page: int | None = None) -> list[Block]:
    """Headings and re-joined paragraphs of a plain text."""
    blocks: list[Block] = []
    for lines in _paragraphs(text):
        body: list[str] = []
        for index, line in enumerate(lines):
            starts_fresh = index == 0 or lines[index - 1].endswith(_SENTENCE_END)
            # A heading-like line directly followed by a lower-case line is a wrapped sentence.
            next_continues = index + 1 < len(lines) and lines[index + 1][:1].islower()
            if starts_fresh and looks_like_heading(line) and not next_continues:
                if body:
                    blocks.append(Block(join_wrapped(body), page=page))
                    body = []
                blocks.append(Block(line, kind="heading", page=page))
            else:
                body.append(line)
        if body:
            blocks.append(Block(join_wrapped(body), page=page))
    return blocks
