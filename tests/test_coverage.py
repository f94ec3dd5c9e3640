"""Nothing read is lost: every content line of a document, in every format, reaches some chunk's text.

Each test builds a small document (PDF with a table, running header and footer, page numbers, a
two-column page and signature lines; DOCX with a table; HTML; Markdown with a table; text with
space-aligned columns) and checks that its words are in the chunks, that what was dropped is exactly
the page chrome, that table rows name their column headers and that headings lead their chunks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fakes import FakeEmbedder
from ingest.chunking import chunk_document
from ingest.document import ParsedDocument
from ingest.readers import read_document
from kulturplan.chunks import Chunk

HEADER = "Kulturplan för Testlänet 2024-2027"
TITLE = "Regional kulturplan för Testlänet"
INTRO = (
    "Kulturplanen beskriver hur regionen och kommunerna tillsammans utvecklar kulturlivet. Planen "
    "gäller för perioden 2024 till 2027 och följs upp varje år av kulturnämnden."
)
SIGNATURES = ["Anna Andersson", "Regionstyrelsens ordförande", "Bertil Berg", "Kulturnämndens ordförande"]
TABLE_HEADING = "Budget 2024 per verksamhet"
TABLE = [
    ["Verksamhet", "Statligt stöd (kr)", "Regionalt stöd (kr)"],
    ["Länsmuseet", "11 480 000", "19 250 000"],
    ["Konstresurscentrum", "1 200 000", "2 650 000"],
    ["Länsteatern", "8 950 000", "16 300 000"],
]
AFTER_TABLE = "Utöver stödet i tabellen fördelar regionen projektbidrag till föreningar och kulturskapare."
COLUMNS_HEADING = "Kultur i hela länet"
LEFT = (
    "Vänsterspalten handlar om biblioteken i länet. Folkbiblioteken är öppna mötesplatser där alla kan "
    "låna böcker, läsa tidningar och delta i språkcaféer och författarbesök under hela året."
)
RIGHT = (
    "Högerspalten handlar om musiken i länet. Musikverksamheten arrangerar skolkonserter, "
    "sommarkonserter i skärgården och kammarmusik i kyrkor runt om i alla kommunerna."
)


def read(path: Path) -> ParsedDocument:
    return read_document(path, path.read_bytes())


def chunks_of(document: ParsedDocument, max_tokens: int = 60) -> list[Chunk]:
    return chunk_document(document, "doc", "hash", max_tokens, FakeEmbedder().tokenize)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def squash(text: str) -> str:
    return " ".join(text.split())


def assert_every_line_reaches_a_chunk(lines: list[str], document: ParsedDocument, chunks: list[Chunk]) -> None:
    """Every word of every source line is in the chunk texts (or the title), in order within its line."""
    texts = [squash(c.text) for c in chunks] + [squash(document.title)]
    found = set(words(" ".join(texts)))
    for line in lines:
        missing = [w for w in words(line) if w not in found]
        assert not missing, f"{line!r}: {missing} not in any chunk"


# --- PDF --------------------------------------------------------------------------------------------
def write_pdf(path: Path) -> Path:
    from fpdf import FPDF

    class Plan(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", "I", 8)
            self.cell(0, 8, HEADER, align="R", new_x="LMARGIN", new_y="NEXT")
            self.ln(4)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 8, f"Sida {self.page_no()} av {{nb}}", align="C")

    pdf = Plan(format="A4")
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.multi_cell(0, 10, TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, INTRO, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    for line in SIGNATURES:
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 9, TABLE_HEADING, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    with pdf.table(col_widths=(40, 30, 30)) as table:
        for cells in TABLE:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(4)
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, AFTER_TABLE, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 9, COLUMNS_HEADING, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    with pdf.text_columns(ncols=2, gutter=10, text_align="L") as columns:
        columns.write(LEFT)
        columns.new_column()
        columns.write(RIGHT)
    path.write_bytes(bytes(pdf.output()))
    return path


@pytest.fixture
def pdf(tmp_path) -> ParsedDocument:
    return read(write_pdf(tmp_path / "plan.pdf"))


def test_pdf_every_content_line_reaches_a_chunk(pdf):
    lines = [TITLE, INTRO, *SIGNATURES, TABLE_HEADING, *(" ".join(row) for row in TABLE), AFTER_TABLE,
             COLUMNS_HEADING, LEFT, RIGHT]  # fmt: skip
    assert_every_line_reaches_a_chunk(lines, pdf, chunks_of(pdf))


def test_pdf_drops_exactly_the_page_chrome(pdf):
    expected = [HEADER, "Sida 1 av 3", HEADER, "Sida 2 av 3", HEADER, "Sida 3 av 3"]
    assert sorted(pdf.dropped) == sorted(expected)
    text = " ".join(b.text for b in pdf.blocks)
    assert "Sida" not in text and HEADER not in text


def test_pdf_signature_lines_are_kept_as_text(pdf):
    chunk = next(c for c in chunks_of(pdf) if SIGNATURES[0] in c.text)
    assert all(line in chunk.text for line in SIGNATURES)


def test_pdf_table_rows_name_their_column_headers(pdf):
    chunks = chunks_of(pdf)
    header, *rows = TABLE
    for row in rows:
        chunk = next(c for c in chunks if row[0] in c.text)
        expected = f"{row[0]} – {header[1]}: {row[1]}; {header[2]}: {row[2]}"
        assert expected in chunk.text
        assert chunk.heading_path[-1] == TABLE_HEADING and chunk.text.startswith(TABLE_HEADING)
    assert all(b.kind == "row" for b in pdf.blocks if "Länsmuseet" in b.text)


def test_pdf_two_column_page_is_read_column_by_column(pdf):
    text = squash(" ".join(b.text for b in pdf.blocks))
    assert squash(LEFT) in text and squash(RIGHT) in text  # neither is interleaved with the other
    assert text.index(squash(LEFT)) < text.index(squash(RIGHT))
    assert [b.page for b in pdf.blocks if LEFT[:30] in b.text] == [3]


def test_pdf_headings_lead_their_chunks(pdf):
    for chunk in chunks_of(pdf, max_tokens=30):
        if chunk.heading_path:
            assert chunk.text.startswith(chunk.heading_path[-1])


# --- DOCX -------------------------------------------------------------------------------------------
ACTIONS = [
    ["Nr", "Åtagande", "Ansvarig", "År"],
    ["1", "Starta sångstunder på särskilda boenden", "Musik i Testlänet", "2024"],
    ["2", "Digitalisera tiotusen föremål ur samlingarna", "Länsmuseet", "2025"],
    ["3", "Arrangera en läsfestival för unga", "Regionbiblioteket", "2024–2025"],
]


def test_docx_every_line_reaches_a_chunk_and_rows_name_their_headers(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Handlingsplan för kulturplanen", level=0)
    document.add_heading("Kultur och hälsa", level=1)
    document.add_paragraph(INTRO)
    table = document.add_table(rows=len(ACTIONS), cols=4)
    for row, cells in zip(table.rows, ACTIONS):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    document.add_paragraph(AFTER_TABLE)
    path = tmp_path / "handlingsplan.docx"
    document.save(path)
    parsed = read(path)
    chunks = chunks_of(parsed)
    assert_every_line_reaches_a_chunk([INTRO, AFTER_TABLE, *(" ".join(r) for r in ACTIONS)], parsed, chunks)
    row = next(c for c in chunks if "Musik i Testlänet" in c.text)
    assert "1 – Åtagande: Starta sångstunder på särskilda boenden; Ansvarig: Musik i Testlänet; År: 2024" in row.text
    assert row.text.startswith("Kultur och hälsa") and parsed.dropped == []


# --- HTML, Markdown, text -----------------------------------------------------------------------------
def test_html_every_line_reaches_a_chunk(tmp_path):
    body = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in TABLE[1:])
    page = f"""<!DOCTYPE html><html lang="sv"><head><title>{TITLE}</title></head><body>
<nav><ul><li><a href="/">Start</a></li><li><a href="/kultur">Kultur och fritid</a></li></ul></nav>
<main><article><h1>{TITLE}</h1><p>{INTRO}</p><h2>{TABLE_HEADING}</h2>
<table><thead><tr><th>{TABLE[0][0]}</th><th>{TABLE[0][1]}</th><th>{TABLE[0][2]}</th></tr></thead>
<tbody>{body}</tbody></table><p>{AFTER_TABLE}</p><h2>{COLUMNS_HEADING}</h2><p>{LEFT}</p><p>{RIGHT}</p>
</article></main><footer><p>Kontakta oss</p></footer></body></html>"""
    path = tmp_path / "sida.html"
    path.write_text(page, encoding="utf-8")
    parsed = read(path)
    chunks = chunks_of(parsed)
    lines = [INTRO, TABLE_HEADING, *(" ".join(r) for r in TABLE), AFTER_TABLE, COLUMNS_HEADING, LEFT, RIGHT]
    assert_every_line_reaches_a_chunk(lines, parsed, chunks)
    row = next(c for c in chunks if "Konstresurscentrum" in c.text)
    assert "Konstresurscentrum – Statligt stöd (kr): 1 200 000; Regionalt stöd (kr): 2 650 000" in row.text


def test_markdown_table_rows_name_their_headers_and_every_line_is_kept(tmp_path):
    table = "\n".join(["| " + " | ".join(r) + " |" for r in TABLE[:1]] + ["|---|---:|---:|"]
                      + ["| " + " | ".join(r) + " |" for r in TABLE[1:]])  # fmt: skip
    path = tmp_path / "plan.md"
    path.write_text(f"# {TITLE}\n\n{INTRO}\n\n## {TABLE_HEADING}\n\n{table}\n\n{AFTER_TABLE}\n", encoding="utf-8")
    parsed = read(path)
    chunks = chunks_of(parsed)
    assert_every_line_reaches_a_chunk([INTRO, TABLE_HEADING, *(" ".join(r) for r in TABLE), AFTER_TABLE], parsed, chunks)
    row = next(c for c in chunks if "Länsteatern" in c.text)
    assert "Länsteatern – Statligt stöd (kr): 8 950 000; Regionalt stöd (kr): 16 300 000" in row.text
    assert row.heading_path == (TABLE_HEADING,) and row.text.startswith(TABLE_HEADING)


MINUTES = """KULTURNÄMNDEN                                  PROTOKOLL
Sammanträde                                    2024-05-22
                                               Sida 1 (2)

Beslutande        Anna Andersson, ordförande
                  Bertil Berg
                  Cecilia Carlsson

§ 42  Uppföljning av kulturprogrammet

Sammanfattning
Förvaltningen redovisar uppföljningen av programmets första år.

  Mål                                 Utfall 2023   Mål 2026
  ----------------------------------  -----------   --------
  Kulturarrangemang i skärgården               52         70
  Barn i kö till kulturskolan                 310        190

Vid protokollet
Sofie Dahl
"""


def test_text_with_aligned_columns_keeps_rows_and_every_line(tmp_path):
    path = tmp_path / "protokoll.txt"
    path.write_bytes(MINUTES.replace("\n", "\r\n").encode("cp1252"))
    parsed = read(path)
    chunks = chunks_of(parsed)
    lines = [line for line in MINUTES.splitlines() if line.strip() and "Sida" not in line and "---" not in line]
    assert_every_line_reaches_a_chunk(lines, parsed, chunks)
    assert parsed.dropped == ["Sida 1 (2)"]
    row = next(c for c in chunks if "skärgården" in c.text)
    assert "Kulturarrangemang i skärgården – Utfall 2023: 52; Mål 2026: 70" in row.text
    # "Sammanfattning" is a heading of the paragraph "§ 42", which names what is summed up.
    assert row.heading_path == ("§ 42 Uppföljning av kulturprogrammet", "Sammanfattning")
    assert "Uppföljning av kulturprogrammet" in row.searchable_text
    assert any("Beslutande: Anna Andersson, ordförande; Bertil Berg; Cecilia Carlsson" in c.text for c in chunks)
    assert any("Vid protokollet" in c.text and "Sofie Dahl" in c.text for c in chunks)


def test_minutes_paragraphs_hold_their_headings_whichever_reader_found_them(tmp_path):
    # Minutes as Markdown (as a DOCX or PDF reader may give them): "§ 14", "Sammanfattning" and
    # "Beslut" are headings of one level; the paragraph still names what its rows are about.
    path = tmp_path / "protokoll.md"
    path.write_text(
        "# Protokoll kulturnämnden\n\n## § 14 Verksamhetsbidrag 2023\n\n## Sammanfattning\n\n"
        "| Verksamhet | Beviljat 2023 |\n|---|---|\n| Blekinge museum | 18 700 000 |\n\n"
        "## Beslut\n\nNämnden beslutar enligt förslaget.\n\n## § 15 Kulturpris\n\n"
        "## Sammanfattning\n\nPriset delas ut i maj.\n",
        encoding="utf-8",
    )
    paths = {c.heading_path[-1]: c.heading_path for c in chunks_of(read(path))}
    assert [c for c in chunks_of(read(path)) if "18 700 000" in c.text][0].heading_path == (
        "§ 14 Verksamhetsbidrag 2023",
        "Sammanfattning",
    )
    assert paths["Beslut"] == ("§ 14 Verksamhetsbidrag 2023", "Beslut")
    # The next paragraph closes the one before: its summary is not the first paragraph's.
    assert [c for c in chunks_of(read(path)) if "maj" in c.text][0].heading_path == ("§ 15 Kulturpris", "Sammanfattning")


def test_a_table_is_not_split_from_its_rows_when_it_fits(tmp_path):
    rows = "\n".join(f"| Verksamhet {n} | {n * 1000} | {n * 2000} |" for n in range(1, 5))
    prose = " ".join(["Regionen samverkar med kommunerna kring kulturen i hela länet."] * 4)
    path = tmp_path / "plan.md"
    path.write_text(f"# Plan\n\n## Budget\n\n{prose}\n\n| Namn | 2024 | 2025 |\n|---|---|---|\n{rows}\n", encoding="utf-8")
    chunks = chunks_of(read(path), max_tokens=80)
    holding = [c for c in chunks if "Verksamhet" in c.text]
    assert len(holding) == 1 and all(f"Verksamhet {n} –" in holding[0].text for n in range(1, 5))
