"""Readers, one per format, registered by file extension.

Each reader turns a file's bytes into a `ParsedDocument`, or raises `UnreadableDocument` with a
short reason. Parsing is done by well-kept libraries: pypdf, python-docx, trafilatura (main content
of web pages), markdown-it-py and charset-normalizer.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from abc import ABC, abstractmethod
from html.parser import HTMLParser
from pathlib import Path

from ingest.document import Block, ParsedDocument, UnreadableDocument
from ingest.plaintext import blocks_from_text, is_boilerplate
from ingest.tables import table_blocks
from kulturplan.registry import Registry, UnknownBackend

# Readers by file extension (".pdf"); plugins register through the "kulturplan.readers" entry points.
READERS: Registry["Reader"] = Registry("reader", entry_point_group="kulturplan.readers")


class Reader(ABC):
    format: str
    extensions: tuple[str, ...]

    @abstractmethod
    def read(self, data: bytes, path: Path) -> ParsedDocument:
        """Parse `data` (the bytes of `path`)."""


def register(reader: Reader) -> Reader:
    for extension in reader.extensions:
        READERS.register(extension, reader)
    return reader


def supported_extensions() -> tuple[str, ...]:
    return tuple(sorted(READERS.names()))


def read_document(path: Path, data: bytes) -> ParsedDocument:
    try:
        reader = READERS.get(path.suffix.lower())
    except UnknownBackend:
        raise UnreadableDocument(
            f"unsupported format {path.suffix or '(no extension)'} (supported: {', '.join(supported_extensions())})"
        )
    if not data.strip():
        raise UnreadableDocument("the file is empty")
    document = reader.read(data, path)
    document.dropped += [b.text for b in document.blocks if b.text.strip() and is_boilerplate(b.text)]
    document.blocks = [b for b in document.blocks if b.text.strip() and not is_boilerplate(b.text)]
    if not document.has_text:
        raise UnreadableDocument("no text could be extracted")
    return document


def _title_from(blocks: list[Block], path: Path) -> tuple[str, list[Block]]:
    """The document title: a leading heading if there is one, else the file name."""
    if blocks and blocks[0].kind == "heading":
        return blocks[0].text, blocks[1:]
    return path.stem.replace("_", " ").replace("-", " ").strip().capitalize(), blocks


# --- text -----------------------------------------------------------------------------------------
def decode_text(data: bytes) -> str:
    """UTF-8 when it is; otherwise the legacy encoding charset-normalizer finds (cp1252, latin-1)."""
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableDocument("binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few stray bytes (a pasted cp1252 "é" or "’") is still UTF-8: charset-normalizer
    # rejected such files as binary, or decoded all of their å/ä/ö as mojibake ("pÃ¥").
    lenient = data.decode("utf-8-sig", errors="replace")
    broken = lenient.count("\ufffd")
    if sum(ord(ch) > 0x7F for ch in lenient) - broken > broken:  # more valid multi-byte chars than bad bytes
        return lenient
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["cp1252", "latin_1", "utf_16", "mac_roman", "cp850"]).best()
    if best is None:
        raise UnreadableDocument("binary file, not text")
    text = str(best)
    printable = sum(ch.isprintable() or ch.isspace() for ch in text)
    if printable < 0.95 * len(text):
        raise UnreadableDocument("binary file, not text")
    return text


class TextReader(Reader):
    format = "txt"
    extensions = (".txt",)

    def read(self, data: bytes, path: Path) -> ParsedDocument:
        dropped: list[str] = []
        title, blocks = _title_from(blocks_from_text(decode_text(data), dropped=dropped), path)
        return ParsedDocument(title=title, format=self.format, blocks=blocks, dropped=dropped)


class MarkdownReader(Reader):
    format = "md"
    extensions = (".md", ".markdown")

    def read(self, data: bytes, path: Path) -> ParsedDocument:
        title, blocks = _title_from(markdown_blocks(decode_text(data)), path)
        return ParsedDocument(title=title, format=self.format, blocks=blocks)


def markdown_blocks(text: str) -> list[Block]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks: list[Block] = []
    heading_level = 0
    row: list[str] | None = None  # the cells of the table row being read
    rows: list[list[str]] = []  # the rows of the table being read
    marker = ""  # the list item's marker ("1. ", "- "), given to the item's first paragraph
    for token in tokens:
        if token.type == "list_item_open":
            # A list keeps its numbers and bullets, so that chunking and answers know its items.
            marker = f"{token.info}{token.markup} " if token.info else "- "
        elif token.type == "heading_open":
            heading_level = int(token.tag[1:])
        elif token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            rows.append(row or [])
            row = None
        elif token.type == "table_close":
            # One block per row naming its column headers (HTML tables come this way too): a Markdown
            # table's first row is its header.
            blocks += table_blocks(rows, header=True)
        elif token.type == "inline":
            content = _plain_inline(token)
            if row is not None:
                row.append(content)
            elif heading_level:
                blocks.append(Block(content, kind="heading", level=heading_level))
            elif content:
                blocks.append(Block(marker + content))
                marker = ""
        elif token.type == "heading_close":
            heading_level = 0
    return blocks


def _plain_inline(token) -> str:
    """Inline text without markup (emphasis, links) and with soft line breaks re-joined."""
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


# --- HTML -----------------------------------------------------------------------------------------
class HtmlReader(Reader):
    format = "html"
    extensions = (".html", ".htm")

    def read(self, data: bytes, path: Path) -> ParsedDocument:
        import trafilatura

        html = decode_text(data)
        if _too_deep_for_lxml(html):
            # lxml (under trafilatura) stops building the tree at 256 levels, so trafilatura saw no main
            # content and the page's text was lost: take all its visible text instead.
            visible = _visible_html(html)
            if not visible.has_text:
                raise UnreadableDocument(
                    f"no text found in the HTML page: its elements are nested {visible.depth} levels deep "
                    "and it has no visible text outside scripts, menus and footers"
                )
            blocks = visible.blocks
            if blocks[0].kind == "heading":
                title, blocks = blocks[0].text, blocks[1:]
            else:
                title = visible.title or _title_from([], path)[0]
            return ParsedDocument(title=title, format=self.format, blocks=blocks)
        # Main content only: trafilatura drops navigation, cookie banners, footers and sidebars.
        try:
            markdown = trafilatura.extract(
                html, output_format="markdown", include_formatting=True, include_links=False,
                include_images=False, include_comments=False, include_tables=True, favor_precision=True,
            )  # fmt: skip
        except RecursionError:
            markdown = None
        if not markdown:
            if not _visible_html(html).has_text:
                raise UnreadableDocument(
                    "no main content found in the HTML page: it has no visible text outside scripts, "
                    "menus and footers (a page built by JavaScript?)"
                )
            raise UnreadableDocument(
                "no main content found in the HTML page: its text looks like menus, banners or page chrome only"
            )
        blocks = markdown_blocks(markdown)
        metadata = trafilatura.extract_metadata(html)
        page_title = (metadata.title if metadata else None) or ""
        if blocks and blocks[0].kind == "heading":
            title, blocks = blocks[0].text, blocks[1:]
        else:
            title = page_title or _title_from([], path)[0]
        return ParsedDocument(title=title, format=self.format, blocks=blocks)


def _too_deep_for_lxml(html: str) -> bool:
    """Whether libxml2, which lxml and so trafilatura use, gives up on the page's nesting: it stops
    building the tree at 256 levels (2048 with its "huge" option), and what lies deeper is dropped.
    Such pages are read by `_visible_html`, which builds no tree and so has no depth limit."""
    from lxml import etree

    parser = etree.HTMLParser()
    try:
        etree.fromstring(html, parser)
    except Exception:  # an empty page, an XML declaration in a str: not a question of depth
        pass
    return any(error.type_name == "ERR_RESOURCE_LIMIT" or "depth" in error.message for error in parser.error_log)
_HTML_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
}  # fmt: skip
_HTML_HIDDEN = {
    "script", "style", "noscript", "template", "head", "nav", "footer", "header", "aside", "form",
    "button", "select", "svg", "iframe", "object", "canvas",
}  # fmt: skip
_HTML_BLOCKS = {
    "address", "article", "blockquote", "body", "caption", "dd", "details", "dialog", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "html", "li",
    "main", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
}  # fmt: skip


class _VisibleHtml(HTMLParser):
    """The visible text of a page as blocks, by the standard library's event parser: no tree is built,
    so nesting depth costs nothing (a 10 000-level page is read like any other)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.hidden = 0  # open elements whose content is not shown (scripts, menus, footers)
        self.depth = 0  # deepest nesting seen
        self.blocks: list[Block] = []
        self.title = ""
        self._text: list[str] = []
        self._heading = 0
        self._title_done = False

    @property
    def has_text(self) -> bool:
        return any(block.kind == "paragraph" for block in self.blocks)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _HTML_VOID:
            if tag in ("br", "hr"):
                self._text.append(" " if tag == "br" else "")
                if tag == "hr":
                    self._flush()
            return
        if tag in _HTML_BLOCKS:
            self._flush()
        self.stack.append(tag)
        self.depth = max(self.depth, len(self.stack))
        if tag in _HTML_HIDDEN:
            self.hidden += 1
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456" and not self.hidden:
            self._heading = int(tag[1])

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):  # the matching open element, nearest first
            if self.stack[index] == tag:
                break
        else:
            return  # a stray end tag
        for closed in self.stack[index:]:
            self.hidden -= closed in _HTML_HIDDEN
        del self.stack[index:]
        self._title_done |= tag == "title"
        if tag in _HTML_BLOCKS:
            self._flush()
            if self._heading and tag[0] == "h" and tag[1:] == str(self._heading):
                self._heading = 0

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "title":
            if not self._title_done:  # the page's <title>, not an SVG's
                self.title += data
        elif not self.hidden:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._flush()
        self.title = " ".join(self.title.split())

    def _flush(self) -> None:
        text = " ".join("".join(self._text).split())
        self._text = []
        if text:
            kind = "heading" if self._heading else "paragraph"
            self.blocks.append(Block(text, kind=kind, level=self._heading or 1))


def _visible_html(html: str) -> _VisibleHtml:
    parser = _VisibleHtml()
    parser.feed(html)
    parser.close()
    return parser


# --- PDF ------------------------------------------------------------------------------------------
# Titles that PDF producers write into the metadata on their own: not the document's title.
_GENERATED_PDF_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel) - .*|untitled|namnlös|dokument\d*|document\d*"
    r"|.*\.(?:docx?|pdf|indd|pptx?))$",
    re.IGNORECASE,
)


class PdfReader(Reader):
    format = "pdf"
    extensions = (".pdf",)

    def read(self, data: bytes, path: Path) -> ParsedDocument:
        from ingest.pdf import read_pdf

        pdf = read_pdf(data)
        blocks = pdf.blocks
        if not any(b.kind != "heading" for b in blocks):
            raise UnreadableDocument("the PDF has no text layer (scanned images?)")
        meta_title = pdf.meta_title
        if meta_title and not _GENERATED_PDF_TITLE.match(meta_title):
            # The first heading stays a section heading unless it merely repeats the title: it used to
            # be dropped whenever the metadata title won, and page 1 lost its heading path.
            if blocks[0].kind == "heading" and blocks[0].text == meta_title:
                blocks = blocks[1:]
            title = meta_title
        else:
            title, blocks = _title_from(blocks, path)
        return ParsedDocument(title=title, format=self.format, blocks=blocks, pages=pdf.pages, dropped=pdf.dropped)


# --- DOCX -----------------------------------------------------------------------------------------
_HEADING_STYLE = re.compile(r"^(?:heading|rubrik)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLES = {"title", "rubrik"}


# An OLE2 compound file: Word stores a password-protected .docx this way, and it is also the format of
# an old binary .doc renamed to .docx.
_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


class DocxReader(Reader):
    format = "docx"
    extensions = (".docx",)

    def read(self, data: bytes, path: Path) -> ParsedDocument:
        from docx.opc.exceptions import PackageNotFoundError
        from lxml.etree import XMLSyntaxError

        if data.startswith(_OLE2_MAGIC):
            raise UnreadableDocument(
                "the DOCX is password protected (encrypted), or an old binary .doc file renamed to .docx"
            )
        try:
            return self._parse(data, path)
        except (zipfile.BadZipFile, EOFError) as error:
            raise UnreadableDocument("the DOCX is corrupt or truncated (not a valid zip archive)") from error
        except zlib.error as error:
            # A damaged compressed part; zlib's error used to escape and crash the run.
            raise UnreadableDocument("the DOCX is corrupt (damaged compressed data)") from error
        except XMLSyntaxError as error:
            # The zip opens but a part's XML is cut off or malformed; lxml's error used to escape.
            raise UnreadableDocument(f"the DOCX is corrupt (malformed XML: {error.msg})") from error
        except (PackageNotFoundError, KeyError, ValueError, AttributeError, TypeError) as error:
            # Well-formed XML of the wrong shape (a broken namespace, a relationship without a
            # target) surfaces from python-docx as AttributeError or TypeError.
            raise UnreadableDocument(
                "the DOCX is corrupt or not a Word document (a required part is missing)"
            ) from error

    def _parse(self, data: bytes, path: Path) -> ParsedDocument:
        import docx
        from docx.table import Table

        # Called inside read()'s try: opening and walking the parts both raise on a damaged file.
        document = docx.Document(io.BytesIO(data))
        visible_title = ""
        blocks: list[Block] = []
        markers = _ListMarkers(document)
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                markers.interrupt()
                rows, bold_header = _table_rows(item)
                blocks += table_blocks(rows, header=True if bold_header else None)
                continue
            text = item.text.strip()
            style = (item.style.name if item.style is not None else "").strip()
            if not text:
                continue
            # Body paragraphs only take a list marker: a heading style's outline numbering counts
            # across the sections, which the run-by-run numbers of lists would get wrong.
            if style.lower() in _TITLE_STYLES and not visible_title:
                markers.interrupt()
                visible_title = text
            elif match := _HEADING_STYLE.match(style):
                markers.interrupt()
                blocks.append(Block(text, kind="heading", level=int(match.group(1))))
            else:
                blocks.append(Block(markers.marker(item) + text))
        # The Title paragraph the reader sees wins over the hidden core property, which is often stale
        # (left from a template); before, with a core title set, the Title paragraph became body text.
        title = visible_title or (document.core_properties.title or "").strip()
        if not title:
            title, blocks = _title_from(blocks, path)
        return ParsedDocument(title=title, format=self.format, blocks=blocks)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class _ListMarkers:
    """The marker Word shows before a list paragraph, which python-docx leaves out of its text:
    "1. " for a numbered level, "- " for a bullet. Without it a numbered list reads as loose
    paragraphs, and "Planen har fyra övergripande mål:" is answered without its four goals.

    A paragraph is in a list when it, or its style (Word's "List Number" carries its numbering in the
    style), has numbering properties; the level's format comes from the numbering part. Numbers
    count within a run of list paragraphs and restart after any other block, as HTML converters of
    Word files do (mammoth), where Word itself may continue one numbering across the document."""

    def __init__(self, document):
        self.formats: dict[tuple[str, str], tuple[str, int]] = {}  # (numId, ilvl) -> (numFmt, start)
        self.counts: dict[tuple[str, str], int] = {}
        try:
            numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError):  # a document without lists has no numbering part
            return
        levels = {
            abstract.get(f"{_W}abstractNumId"): {
                lvl.get(f"{_W}ilvl"): (_child_value(lvl, "numFmt") or "decimal", int(_child_value(lvl, "start") or 1))
                for lvl in abstract.findall(f"{_W}lvl")
            }
            for abstract in numbering.findall(f"{_W}abstractNum")
        }
        for num in numbering.findall(f"{_W}num"):
            for level, spec in levels.get(_child_value(num, "abstractNumId"), {}).items():
                self.formats[(num.get(f"{_W}numId"), level)] = spec

    def interrupt(self) -> None:
        self.counts.clear()

    def marker(self, paragraph) -> str:
        key = _numbering_of(paragraph)
        if key is None:
            self.interrupt()
            return ""
        number_format, start = self.formats.get(key, ("bullet", 1))
        if number_format in ("bullet", "none"):
            return "- "
        count = self.counts[key] = self.counts.get(key, start - 1) + 1
        return f"{count}. "


def _child_value(element, tag: str) -> str | None:
    child = element.find(f"{_W}{tag}")
    return child.get(f"{_W}val") if child is not None else None


def _numbering_of(paragraph) -> tuple[str, str] | None:
    """(numId, ilvl) of a list paragraph, from its own properties or its style's (and their bases)."""
    properties = [paragraph._p.pPr]
    style = paragraph.style
    while style is not None:
        properties.append(style.element.pPr)
        style = style.base_style
    for ppr in properties:
        num_pr = ppr.find(f"{_W}numPr") if ppr is not None else None
        if num_pr is not None:
            num_id = _child_value(num_pr, "numId")
            # numId 0 switches off numbering a style would give.
            return None if num_id in (None, "0") else (num_id, _child_value(num_pr, "ilvl") or "0")
    return None


def _table_rows(table) -> tuple[list[list[str]], bool]:
    """The table's cells by row (a merged cell once, at its first column) and whether its first row
    is marked as a header: repeated on each page, or all bold."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            cells.append("" if id(cell._tc) in seen else cell.text.strip())
            seen.add(id(cell._tc))
        rows.append(cells)
    first = table.rows[0] if table.rows else None
    marked = False
    if first is not None:
        repeated = first._tr.trPr is not None and first._tr.trPr.find(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader"
        ) is not None
        runs = [run for cell in first.cells for p in cell.paragraphs for run in p.runs if run.text.strip()]
        marked = repeated or (bool(runs) and all(run.bold for run in runs))
    return rows, marked


for _reader in (TextReader(), MarkdownReader(), HtmlReader(), PdfReader(), DocxReader()):
    register(_reader)
