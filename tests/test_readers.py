"""Every reader on small documents generated at test time, and on the real seed document.

The fixtures come from `fixture_docs`; the assertions are derived from the same constants the files
were generated from, so they check behaviour (structure, text, pages, metadata), not stored output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import fixture_docs as docs
from ingest.chunking import SENTENCE_STRETCH, chunk_document, sections
from ingest.document import Block, ParsedDocument
from ingest.plaintext import is_boilerplate
from ingest.readers import decode_text, read_document
from kulturplan.chunks import Chunk
from kulturplan.region import load_profile

MUNICIPALITIES = load_profile().municipalities

from fakes import FakeEmbedder
from conftest import SEED

FEEDBACK_LINE = "Hjälpte informationen på sidan dig?"


def read(path: Path) -> ParsedDocument:
    return read_document(path, path.read_bytes())


def chunk(document: ParsedDocument, source: str = "doc", max_tokens: int = 120) -> list[Chunk]:
    return chunk_document(document, source, "hash", max_tokens, FakeEmbedder().tokenize)


def squash(text: str) -> str:
    """Whitespace-insensitive form: PDF extraction decides where lines break."""
    return re.sub(r"\s+", " ", text).strip()


def headings(document: ParsedDocument) -> list[str]:
    return [b.text for b in document.blocks if b.kind == "heading"]


def paragraph_with(document: ParsedDocument, words: str) -> Block:
    found = [b for b in document.blocks if b.kind == "paragraph" and words in b.text]
    assert len(found) == 1, f"{words!r} is in {len(found)} paragraphs"
    return found[0]


def chunk_with(chunks: list[Chunk], words: str) -> Chunk:
    found = [c for c in chunks if words in c.text]
    assert len(found) == 1, f"{words!r} is in {len(found)} chunks"
    return found[0]


def first_words(text: str, n: int = 6) -> str:
    return " ".join(text.split()[:n])


# --- PDF -------------------------------------------------------------------------------------------
@pytest.fixture
def pdf(tmp_path) -> ParsedDocument:
    return read(docs.write_pdf(tmp_path / "plan.pdf"))


def test_pdf_counts_its_pages_and_keeps_the_page_of_every_block(pdf):
    assert pdf.format == "pdf" and pdf.pages == len(docs.PDF_PAGES) >= 3
    for number, (_, paragraphs) in enumerate(docs.PDF_PAGES, start=1):
        for paragraph in paragraphs:
            assert paragraph_with(pdf, first_words(paragraph)).page == number
    assert all(block.page is not None for block in pdf.blocks)


def test_pdf_text_with_swedish_letters_survives_extraction(pdf):
    text = squash(" ".join(b.text for b in pdf.blocks))
    source = [p for _, paragraphs in docs.PDF_PAGES for p in paragraphs] + [docs.PDF_MID_PAGE_PARAGRAPH]
    for paragraph in source:
        assert squash(paragraph) in text
    swedish = {letter for letter in "".join(source) if letter in "åäöÅÄÖ"}
    assert {"å", "ä", "ö"} <= swedish and all(letter in text for letter in swedish)


def test_pdf_headings_are_detected_and_the_first_becomes_the_title(pdf):
    assert pdf.title == docs.PDF_TITLE
    expected = [heading for heading, _ in docs.PDF_PAGES[1:]]
    expected.insert(1, docs.PDF_MID_PAGE_HEADING)  # the heading in the middle of page 2
    assert headings(pdf) == expected


def test_pdf_page_numbers_are_page_chrome_not_headings(pdf):
    # Every page has a "Sida N av M" footer; it must neither be a heading nor end up in the text.
    assert not any(re.search(r"\bSida \d", block.text) for block in pdf.blocks)
    chunks = chunk(pdf)
    for number, (heading, paragraphs) in enumerate(docs.PDF_PAGES[1:], start=2):
        found = chunk_with(chunks, first_words(paragraphs[0]))
        assert found.page == number and found.heading_path == (heading,)


def test_pdf_chunks_carry_page_and_heading_path(pdf):
    chunks = chunk(pdf)
    assert {c.page for c in chunks} == set(range(1, len(docs.PDF_PAGES) + 1))
    assert all(c.page_end == c.page for c in chunks)  # every section sits on one page here
    assert all(c.doc_pages == len(docs.PDF_PAGES) for c in chunks)
    mid = chunk_with(chunks, first_words(docs.PDF_MID_PAGE_PARAGRAPH))
    # The mid-page heading is set smaller than the page's heading: a subsection of it.
    assert mid.page == 2 and mid.heading_path == (docs.PDF_PAGES[1][0], docs.PDF_MID_PAGE_HEADING)
    first = chunk_with(chunks, first_words(docs.PDF_PAGES[0][1][0]))
    assert first.page == 1 and first.heading_path == ()
    assert "Ronneby" in chunk_with(chunks, "I Ronneby").municipalities


def test_pdf_metadata_title_wins_but_the_first_heading_stays_in_the_text(tmp_path):
    title = "Regional kulturplan för Blekinge 2024-2027"
    document = read(docs.write_pdf(tmp_path / "plan.pdf", metadata_title=title))
    assert document.title == title
    assert headings(document)[0] == docs.PDF_TITLE
    page_one = chunk_with(chunk(document), first_words(docs.PDF_PAGES[0][1][0]))
    assert page_one.heading_path == (docs.PDF_TITLE,)


def test_pdf_metadata_title_made_by_the_producer_is_ignored(tmp_path):
    document = read(docs.write_pdf(tmp_path / "plan.pdf", metadata_title="Microsoft Word - plan_v3.docx"))
    assert document.title == docs.PDF_TITLE


def test_pdf_narrow_column_lines_are_not_mistaken_for_headings(tmp_path):
    document = read(docs.write_narrow_column_pdf(tmp_path / "broschyr.pdf"))
    assert document.title == docs.NARROW_PDF_TITLE
    assert headings(document) == [heading for heading, _ in docs.NARROW_PDF_SECTIONS]
    text = squash(" ".join(b.text for b in document.blocks if b.kind == "paragraph"))
    for _, paragraphs in docs.NARROW_PDF_SECTIONS:
        for paragraph in paragraphs:
            assert squash(paragraph) in text


# --- DOCX ------------------------------------------------------------------------------------------
@pytest.fixture
def docx_doc(tmp_path) -> ParsedDocument:
    return read(docs.write_docx(tmp_path / "plan.docx"))


def test_docx_title_style_is_the_title(docx_doc):
    assert docx_doc.format == "docx" and docx_doc.title == docs.DOCX_TITLE
    assert not any(block.text == docs.DOCX_TITLE for block in docx_doc.blocks)


def test_docx_heading_styles_become_levels(docx_doc):
    found = [(b.text, b.level) for b in docx_doc.blocks if b.kind == "heading"]
    assert found == [(docs.DOCX_CHAPTER, 1), (docs.DOCX_SUBSECTION, 2), (docs.DOCX_NEXT_CHAPTER, 1)]


def test_docx_heading_levels_become_the_heading_path_of_chunks(docx_doc):
    chunks = chunk(docx_doc)
    assert chunk_with(chunks, docs.DOCX_INTRO).heading_path == ()
    assert chunk_with(chunks, docs.DOCX_CHAPTER_TEXT).heading_path == (docs.DOCX_CHAPTER,)
    assert chunk_with(chunks, docs.DOCX_SUBSECTION_TEXT).heading_path == (docs.DOCX_CHAPTER, docs.DOCX_SUBSECTION)
    # A new level-1 heading closes the level-2 section.
    assert chunk_with(chunks, docs.DOCX_NEXT_CHAPTER_TEXT).heading_path == (docs.DOCX_NEXT_CHAPTER,)


def table_rows(table) -> list[str]:
    """The header row, then each row named by its column headers (see `ingest.tables`)."""
    header, *rows = table
    return [" | ".join(header)] + [f"{row[0]} – " + "; ".join(f"{h}: {c}" for h, c in zip(header[1:], row[1:])) for row in rows]


def test_docx_table_text_is_kept_row_by_row_in_its_section(docx_doc):
    rows = table_rows(docs.DOCX_TABLE)
    texts = [b.text for b in docx_doc.blocks]
    assert all(row in texts for row in rows)
    table_chunk = chunk_with(chunk(docx_doc), rows[1])
    assert table_chunk.heading_path == (docs.DOCX_CHAPTER, docs.DOCX_SUBSECTION)
    assert all(row in table_chunk.text for row in rows)
    assert {"Sölvesborg", "Ronneby"} <= set(table_chunk.municipalities)


def test_docx_visible_title_wins_over_a_stale_core_property(tmp_path):
    document = read(docs.write_docx(tmp_path / "plan.docx", core_title="Mall för rapporter"))
    assert document.title == docs.DOCX_TITLE
    assert not any(block.text == docs.DOCX_TITLE for block in document.blocks)


def test_docx_list_paragraphs_keep_the_markers_word_shows(tmp_path):
    """python-docx leaves a list's numbers and bullets out of the text; the reader puts them back, so
    a numbered list stays a list in the chunk ("Planen har fyra mål:" with its four goals)."""
    import docx

    document = docx.Document()
    document.add_paragraph("Planen har två mål:")
    document.add_paragraph("Kultur för alla.", style="List Number")
    document.add_paragraph("Barn och unga först.", style="List Number")
    document.add_paragraph("Insatser:")
    document.add_paragraph("Ett nytt residens.", style="List Bullet")
    document.add_table(rows=1, cols=2).rows[0].cells[0].text = "Mål"
    document.add_paragraph("Ett andra mål efter tabellen.", style="List Number")
    # A heading with outline numbering stays the heading it is, without a list's marker.
    heading = document.add_heading("Inledning", level=1)
    num_pr = heading._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_numId().val, num_pr.get_or_add_ilvl().val = 1, 0
    document.add_paragraph("Text under rubriken.")
    document.save(tmp_path / "plan.docx")

    blocks = read(tmp_path / "plan.docx").blocks
    texts = [block.text for block in blocks if block.kind == "paragraph"]
    assert texts == [
        "Planen har två mål:",
        "1. Kultur för alla.",
        "2. Barn och unga först.",
        "Insatser:",
        "- Ett nytt residens.",
        "1. Ett andra mål efter tabellen.",  # a run of list paragraphs restarts after any other block
        "Text under rubriken.",
    ]
    assert [block.text for block in blocks if block.kind == "heading"] == ["Inledning"]


# --- HTML ------------------------------------------------------------------------------------------
@pytest.fixture
def html_doc(tmp_path) -> ParsedDocument:
    return read(docs.write_html(tmp_path / "sida.html"))


def test_html_h1_is_the_title_and_h2_sections_are_headings(html_doc):
    assert html_doc.format == "html" and html_doc.title == docs.HTML_TITLE
    expected = [heading for heading, _ in docs.HTML_SECTIONS if heading]
    assert headings(html_doc) == expected
    assert all(b.level == 2 for b in html_doc.blocks if b.kind == "heading")


def test_html_main_content_is_kept(html_doc):
    paragraphs = [b.text for b in html_doc.blocks if b.kind == "paragraph"]
    assert paragraphs == [p for _, section in docs.HTML_SECTIONS for p in section]
    chunks = chunk(html_doc)
    for heading, section in docs.HTML_SECTIONS:
        for paragraph in section:
            assert chunk_with(chunks, paragraph).heading_path == ((heading,) if heading else ())


def test_html_boilerplate_is_in_no_block_and_no_chunk(html_doc):
    texts = [b.text for b in html_doc.blocks] + [c.text for c in chunk(html_doc)] + [html_doc.title]
    for boilerplate in docs.HTML_BOILERPLATE:
        assert not any(boilerplate in text for text in texts), boilerplate


def test_html_boilerplate_is_really_on_the_page(tmp_path):
    # Guards the test above: the boilerplate is in the file, so its absence is the reader's doing.
    page = docs.html_page()
    assert all(boilerplate in page for boilerplate in docs.HTML_BOILERPLATE)
    assert "<nav" in page and "<footer" in page and "cookie" in page


# --- plain text: encodings ----------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-8", "utf-8-sig", "utf-16"])
def test_text_in_legacy_and_unicode_encodings_is_decoded(tmp_path, encoding):
    document = read(docs.write_text(tmp_path / "kultur.txt", encoding=encoding))
    assert document.title == docs.LEGACY_TEXT_TITLE
    assert [b.text for b in document.blocks] == [docs.LEGACY_TEXT_PARAGRAPH]


def test_cp1252_only_characters_are_decoded(tmp_path):
    # The en dash and curly quotes exist in cp1252 but not in latin-1.
    paragraph = "Kulturrådets bidrag – ”Kultur för alla” – når föreningar i Karlshamn och Sölvesborg."
    document = read(docs.write_text(tmp_path / "kultur.txt", f"Bidrag\n\n{paragraph}\n", encoding="cp1252"))
    assert [b.text for b in document.blocks] == [paragraph]


def test_utf8_with_one_stray_legacy_byte_stays_utf8():
    text = "Kulturplan för Blekinge\n\nÅrets satsning på läsfrämjande når äldre i Sölvesborg.\n"
    data = text.encode("utf-8") + b"Caf\xe9 Kultur i Ronneby.\n"  # one cp1252 byte pasted in
    decoded = decode_text(data)
    assert decoded.startswith(text)  # å, ä, ö intact, not mojibake
    assert "Kultur i Ronneby." in decoded


def test_plain_text_structure_and_offsets(tmp_path):
    text = (
        "Kulturplan\n\nInledning\n\nRegionen samverkar med kommunerna kring kulturen och\n"
        "biblioteken i hela länet.\n\n1. Mål och strategi\n\nMålet är ett kulturliv för alla.\n"
    )
    document = read(docs.write_text(tmp_path / "plan.txt", text))
    assert document.title == "Kulturplan"
    assert headings(document) == ["Inledning", "1. Mål och strategi"]
    assert "kulturen och biblioteken i hela länet." in paragraph_with(document, "Regionen").text


# --- Markdown --------------------------------------------------------------------------------------
@pytest.fixture
def markdown_doc(tmp_path) -> ParsedDocument:
    return read(docs.write_markdown(tmp_path / "plan.md"))


def test_markdown_headings_and_levels(markdown_doc):
    assert markdown_doc.format == "md" and markdown_doc.title == docs.MARKDOWN_TITLE
    found = [(b.text, b.level) for b in markdown_doc.blocks if b.kind == "heading"]
    assert found == [(docs.MARKDOWN_SECTION, 2), (docs.MARKDOWN_SUBSECTION, 3)]
    chunks = chunk(markdown_doc)
    sub = chunk_with(chunks, docs.MARKDOWN_SUBSECTION_TEXT)
    assert sub.heading_path == (docs.MARKDOWN_SECTION, docs.MARKDOWN_SUBSECTION)


def test_markdown_soft_wrapped_lines_are_one_paragraph_without_markup(markdown_doc):
    source = " ".join(docs.MARKDOWN_WRAPPED_LINES)
    plain = re.sub(r"\[([^]]+)\]\([^)]+\)", r"\1", re.sub(r"\*([^*]+)\*", r"\1", source))
    paragraph = paragraph_with(markdown_doc, first_words(source))
    assert paragraph.text == plain
    assert "*" not in paragraph.text and "](" not in paragraph.text and "\n" not in paragraph.text


def test_markdown_table_rows_stay_together(tmp_path):
    rows = docs.DOCX_TABLE
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    table = "\n".join([lines[0], "|---|---|", *lines[1:]])
    path = tmp_path / "tabell.md"
    path.write_text(f"# Verksamheter\n\n{table}\n", encoding="utf-8")
    document = read(path)
    assert [b.text for b in document.blocks] == table_rows(rows)
    assert all(b.kind == "row" for b in document.blocks)


def test_markdown_lists_keep_their_numbers_and_bullets(tmp_path):
    path = tmp_path / "mal.md"
    path.write_text("# Mål\n\nTre mål:\n\n1. Fler deltagare.\n2. Bättre villkor.\n\n- En punkt.\n", encoding="utf-8")
    assert [b.text for b in read(path).blocks] == ["Tre mål:", "1. Fler deltagare.", "2. Bättre villkor.", "- En punkt."]


def test_a_list_stays_whole_with_its_introduction_rather_than_losing_items_to_the_next_chunk():
    filler = "Regionen samverkar med kommunerna om kulturen i hela länet varje år. " * 5
    items = [f"{n}. Mål nummer {n} gäller deltagande och villkor för kulturskapare i länet." for n in range(1, 9)]
    blocks = [Block("Mål", "heading"), Block(filler), Block("Regionen har åtta mål:"), *map(Block, items), Block(filler)]
    chunks = chunk_document(ParsedDocument("Plan", "md", blocks), "plan.md", "h", 80, str.split)
    holding = [c for c in chunks if "åtta mål:" in c.text]
    assert len(holding) == 1 and all(item in holding[0].text for item in items)
    assert filler.strip() not in holding[0].text  # the list began a chunk of its own
    assert len(str.split(holding[0].text)) > 80  # stretched beyond the budget to stay whole


def test_a_short_table_stays_whole_with_its_introduction_and_a_long_one_fills_chunk_after_chunk():
    filler = "Regionen samverkar med kommunerna om kulturen i hela länet varje år. " * 5
    intro = "I januari 2024 fanns meröppna bibliotek på fem orter:"

    def rows(count):
        return [Block(f"Ort {n} – Meröppet bibliotek: Bibliotek nummer {n} i länet; Meröppet sedan: 2021", "row") for n in range(count)]

    def chunked(table):
        blocks = [Block("Bibliotek", "heading"), Block(filler), Block(intro), *table, Block(filler)]
        return chunk_document(ParsedDocument("Plan", "md", blocks), "plan.md", "h", 80, str.split)

    short = rows(5)
    holding = [c for c in chunked(short) if intro in c.text]
    assert len(holding) == 1 and all(row.text in holding[0].text for row in short)
    assert filler.strip() not in holding[0].text  # the table began a chunk of its own, led by its introduction
    long = rows(20)
    chunks = chunked(long)
    with_rows = [c for c in chunks if "Meröppet sedan" in c.text]
    assert len(with_rows) > 2 and all(len(str.split(c.text)) <= 80 for c in with_rows)
    assert intro in with_rows[0].text and all(any(row.text in c.text for c in with_rows) for row in long)


def test_rows_of_a_table_in_a_later_chunk_are_searched_with_the_paragraph_that_introduces_it():
    # The survey's year and name stand in the paragraph above the table, not in its rows.
    intro = "Region Blekinge genomförde hösten 2022 en kulturvaneundersökning. Tabellen visar andelen som deltagit."
    rows = [Block(f"Aktivitet {n} – Andel av invånarna: {n} %; Skillnad stad–landsbygd: {n} procentenheter", "row") for n in range(12)]
    blocks = [Block("Kulturvanor", "heading"), Block(intro), *rows, Block("Deltagandet är lägre på landsbygden.")]
    chunks = chunk_document(ParsedDocument("Plan", "md", blocks), "plan.md", "h", 40, str.split)
    with_rows = [c for c in chunks if "Andel av invånarna" in c.text]
    later = [c for c in with_rows if intro not in c.text]
    assert later and all(c.context == intro and "kulturvaneundersökning" in c.searchable_text for c in later)
    assert all(intro not in c.text for c in later)  # searched with it, not quoted as the chunk's text
    assert all(c.context == "" for c in chunks if c not in later)
    assert all(Chunk.from_metadata(c.text, c.to_metadata()) == c for c in chunks)


def test_a_section_lists_its_subsections_after_its_first_chunk_and_the_answer_gives_them_whole(tmp_path):
    # A plan names its areas as subsection headings below a sentence that only counts them.
    path = tmp_path / "program.md"
    path.write_text(
        "# Kulturprogram\n\nInledning om programmet och kommunen.\n\n## Fokusområden\n\n"
        "Programmet har tre fokusområden med mål.\n\n### Världsarvet för alla\n\nText om världsarvet.\n\n"
        "### Barn och unga\n\nText om barn och unga.\n\n### Konst i offentlig miljö\n\nText om konsten.\n",
        encoding="utf-8",
    )
    chunks = chunk(read(path))
    areas = chunk_with(chunks, "tre fokusområden")
    assert "Fokusområden\n\nFokusområden:\n- Världsarvet för alla\n- Barn och unga\n- Konst i offentlig miljö\n\nProgrammet" in areas.text
    # The document's top level is no list of its sections, and no other chunk got one.
    assert sum(":\n- " in c.text for c in chunks) == 1
    # A heading with no text of its own: its list stands below the headings of its first subsection's
    # chunk, before that subsection's text (which may go on in the next chunk).
    path.write_text("# Program\n\nInledning.\n\n## Fyra fokusområden\n\n### 1. Kultur i hela kommunen\n\nText ett.\n\n"
                    "### 2. Unga skapar\n\nText två.\n", encoding="utf-8")  # fmt: skip
    first = chunk_with(chunk(read(path)), "Text ett")
    assert first.text.endswith("Fyra fokusområden:\n- 1. Kultur i hela kommunen\n- 2. Unga skapar\n\nText ett.")

    from assistant.evidence import EvidenceScorer
    from assistant.selection import select_sentences
    from assistant.types import Passage

    question = "Vilka fokusområden har kulturprogrammet?"
    ranked = EvidenceScorer().score(question, [Passage(areas, 1.0, dense=0.6)], lambda term: 1.0)
    answer = [s.text for s in select_sentences(ranked, 0.08, 3, question)]
    assert [t for t in answer if t.startswith("- ")] == ["- Världsarvet för alla", "- Barn och unga", "- Konst i offentlig miljö"]


# --- the real seed document -------------------------------------------------------------------------
SEED_SECTIONS = [
    "Samverkansinitiativ",
    "Blekingemodellen",
    "Kultur i vården och Kultur i omsorgen",
    "Blekinge museum - Blekinges länsmuseum",
    "Regionala kulturverksamheterna",
]


@pytest.fixture(scope="module")
def seed() -> ParsedDocument:
    return read(SEED)


def test_seed_title_and_sections(seed):
    assert seed.title == "Samverkan med kommunerna"
    found = headings(seed)
    assert all(section in found for section in SEED_SECTIONS)
    # In the order of the document.
    assert [h for h in found if h in SEED_SECTIONS] == SEED_SECTIONS
    assert all(len(h) <= 90 and not h.endswith(".") for h in found)


def test_seed_hard_wrapped_lines_are_rejoined(seed):
    raw = SEED.read_text(encoding="utf-8")
    assert "kulturverksamheter,\nsåsom Berättarkraft" in raw  # the source really is hard-wrapped
    assert "folkbibliotekens\nutvecklingsarbete" in raw
    assert "regionala kulturverksamheter, såsom Berättarkraft" in paragraph_with(seed, "Berättarkraft").text
    assert "folkbibliotekens utvecklingsarbete" in paragraph_with(seed, "folkbibliotekens").text
    assert not any("\n" in block.text for block in seed.blocks)


def test_seed_page_chrome_is_dropped(seed):
    assert FEEDBACK_LINE in SEED.read_text(encoding="utf-8")
    assert not any(FEEDBACK_LINE in block.text for block in seed.blocks)
    assert not any(is_boilerplate(block.text) for block in seed.blocks)


def test_seed_every_line_of_text_is_kept(seed):
    text = squash(" ".join([seed.title] + [b.text for b in seed.blocks]))
    for line in SEED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not is_boilerplate(line):
            assert squash(line) in text, line


# --- chunk metadata ----------------------------------------------------------------------------------
def test_municipalities_are_detected_per_chunk(seed):
    chunks = chunk(seed, SEED.name)
    ronneby = [c for c in chunks if "Ronneby" in c.text]
    assert ronneby and all("Ronneby" in c.municipalities for c in ronneby)
    assert "Olofström" in chunk_with(chunks, "Harry Martinson").municipalities
    for c in chunks:
        searchable = " ".join((*c.heading_path, c.text))
        for name in c.municipalities:
            assert name in MUNICIPALITIES and name.lower()[:6] in searchable.lower()
    nameless = chunk_with(chunks, "samordnar också utbudet")
    assert nameless.municipalities == ()


def test_chunk_ids_are_stable_across_two_chunkings_of_the_same_bytes(tmp_path):
    first = chunk(read_document(SEED, SEED.read_bytes()), SEED.name)
    copy = tmp_path / SEED.name
    copy.write_bytes(SEED.read_bytes())
    second = chunk(read_document(copy, copy.read_bytes()), SEED.name)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first)
    assert [c.position for c in first] == list(range(len(first)))


@pytest.mark.parametrize("max_tokens", [120, 32])
def test_chunk_offsets_point_at_their_text(seed, max_tokens):
    chunks = chunk(seed, SEED.name, max_tokens=max_tokens)
    full_text = sections(seed)[1]
    for c in chunks:
        assert 0 <= c.start < c.end <= len(full_text)
        assert_points_at_text(c, full_text)
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))  # in order, no overlap


def test_pdf_chunk_offsets_point_at_their_text(pdf):
    full_text = sections(pdf)[1]
    for c in chunk(pdf, max_tokens=32):
        assert_points_at_text(c, full_text)


def assert_points_at_text(c: Chunk, full_text: str) -> None:
    """A chunk's span is its text; a later chunk of a section has its heading as a lead-in before it;
    a section's first chunk may list its subsections' headings below its own (the one derived text)."""
    span = full_text[c.start : c.end]
    text = c.text
    for heading in c.heading_path:
        start = text.find(f"\n\n{heading}:\n- ")
        if start >= 0:
            end = text.find("\n\n", start + 2)
            text = text[:start] + (text[end:] if end >= 0 else "")
    assert text == span or text == f"{c.heading_path[-1]}\n\n{span}", c.text[:80]


def test_a_sentence_longer_than_the_budget_stays_whole_and_text_without_full_stops_is_still_cut():
    areas = ", ".join(f"regional verksamhet nummer {n}" for n in range(1, 12))
    long_sentence = f"Sju områden kan få stöd enligt förordningen: {areas} samt främjande av hemslöjd."
    short = "Region Blekinge har valt att ge stöd inom samtliga områden."
    paragraph = f"{short} {long_sentence} {short}"
    document = ParsedDocument("Plan", "md", [Block("Modellen", "heading"), Block(paragraph)])
    chunks = chunk_document(document, "plan.md", "h", 30, str.split)
    holding = [c for c in chunks if "Sju områden" in c.text]
    assert len(str.split(long_sentence)) > 30  # over the budget ...
    assert len(holding) == 1 and long_sentence in holding[0].text  # ... and whole, in one chunk
    assert all(c.text.rstrip().endswith(".") for c in chunks)  # every chunk ends a sentence
    _, full = sections(document)
    assert all(full[c.start : c.end] in c.text for c in chunks)  # offsets still point at the text

    # Words without any full stop over SENTENCE_STRETCH budgets are no sentence: cut to the budget.
    run_on = " ".join(f"namn{n}" for n in range(200))
    cut = chunk_document(ParsedDocument("Plan", "md", [Block("Namn", "heading"), Block(run_on)]), "plan.md", "h", 30, str.split)
    assert len(cut) > 1 and all(len(str.split(c.text)) <= 30 * SENTENCE_STRETCH for c in cut)
