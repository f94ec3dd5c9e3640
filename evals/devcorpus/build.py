"""Build the fictional Blekinge development corpus (PDF, DOCX, HTML, MD, TXT) into OUTDIR.

Usage: python evals/devcorpus/build.py OUTDIR

Sources are UTF-8 Markdown-like texts in src/ (one paragraph per line; blank line between blocks).
Block syntax understood by the converters:
  # / ## / ###          headings (## starts a new page in PDFs built with chapter_pages=True)
  | a | b |  + |---|    pipe tables (first row is the header)
  - item                bullet list (every line of the block)
  1. item               numbered list (every line of the block)
  <!-- newpage -->      page break (PDF only)
  <!-- columns --> ... <!-- /columns -->   two-column text (PDF only)
  anything else         a paragraph; line breaks inside a block are kept (signatures, addresses)
Needs fpdf2, python-docx and the DejaVu fonts (/usr/share/fonts/truetype/dejavu/).
"""
from __future__ import annotations

import html
import re
import shutil
import sys
from pathlib import Path

from docx import Document
from docx.shared import Pt
from fpdf import FPDF
from fpdf.fonts import FontFace

SRC = Path(__file__).resolve().parent / "src"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

# (source, built file name, kind, options)
DOCUMENTS = [
    ("01_kulturplan_blekinge_2024_2027.md", "kulturplan_blekinge_2024_2027.pdf", "pdf",
     {"header": "Regional kulturplan för Blekinge 2024–2027", "chapter_pages": True}),
    ("02_kulturplan_blekinge_2020_2023.md", "kulturplan_blekinge_2020_2023.docx", "docx", {}),
    ("03_handlingsplan_kultur_2024_2025.md", "handlingsplan_kultur_blekinge_2024_2025.docx", "docx", {}),
    ("04_karlskrona_kulturprogram_2023_2026.md", "karlskrona_kulturprogram_2023_2026.pdf", "pdf",
     {"header": "Karlskrona kommun · Kulturprogram 2023–2026", "all_columns": True}),
    ("05_ronneby_kulturprogram.md", "ronneby_kulturprogram.html", "html",
     {"template": "_mall_ronneby.html", "title": "Kulturprogram för Ronneby kommun 2022–2026"}),
    ("06_karlshamn_kulturplan_2024_2028.md", "karlshamn_kulturplan_2024_2028.md", "md", {}),
    ("07_protokoll_run_2024-03-14.txt", "protokoll_regionala_utvecklingsnamnden_2024-03-14.txt", "txt",
     {"encoding": "cp1252"}),
    ("08_kulturplan_kronoberg_2024_2027.md", "kulturplan_kronoberg_2024_2027.pdf", "pdf",
     {"header": "Region Kronoberg – Regional kulturplan 2024–2027", "chapter_pages": True}),
    ("09_kulturplan_kalmar_lan_2023_2026.md", "kulturplan_kalmar_lan_2023_2026.docx", "docx", {}),
    ("10_nyhet_kulturpris_2024.md", "nyhet_kulturpris_2024.html", "html",
     {"template": "_mall_region.html", "title": "Textilkonstnären Elin Strand får Region Blekinges kulturpris 2024",
      "crumb": "Kulturpriset 2024", "meta": "Nyhet · Publicerad 22 mars 2024"}),
    ("11_bibliotek_i_blekinge.md", "bibliotek_i_blekinge.md", "md", {}),
    ("12_kulturstod_2024.txt", "sok_kulturstod_2024.txt", "txt", {"encoding": "utf-8"}),
    ("13_olofstrom_kultur_och_fritid.md", "olofstrom_kulturpolitiskt_program_2023_2027.docx", "docx", {}),
    ("14_uppfoljning_kulturplan_2023.md", "uppfoljning_kulturplan_blekinge_2023.pdf", "pdf",
     {"header": "Uppföljning av regional kulturplan för Blekinge 2020–2023 · Rapport 2024"}),
    ("15_kulturtrappan_for_skolor.md", "kulturtrappan_information_till_skolor.html", "html",
     {"template": "_mall_region.html", "title": "Kulturtrappan – kultur i skolan i Blekinge",
      "crumb": "Kulturtrappan", "meta": "Sidan uppdaterades 15 augusti 2024"}),
    ("16_solvesborg_kulturstrategi_forslag.md", "solvesborg_kulturstrategi_remissforslag.md", "md", {}),
    ("17_blekinge_museum_verksamhet_2023.txt", "blekinge_museum_verksamheten_2023.txt", "txt", {"encoding": "utf-8"}),
    ("18_skane_kulturplan_utdrag.md", "kulturplan_skane_2024_2027_utdrag.docx", "docx", {}),
    ("19_protokoll_kulturnamnden_karlskrona_2024-05-22.txt", "protokoll_kulturnamnden_karlskrona_2024-05-22.txt", "txt",
     {"encoding": "cp1252"}),
]


# --- parsing ---------------------------------------------------------------------------------------
def blocks(text: str):
    """Yield (kind, payload) pairs for the Markdown-like source."""
    for raw in re.split(r"\n\s*\n", text.strip()):
        block = raw.strip("\n")
        if not block.strip():
            continue
        first = block.lstrip()
        if first.startswith("<!--"):
            yield "directive", first.strip("<!-> ").strip()
        elif first.startswith("### "):
            yield "h3", first[4:].strip()
        elif first.startswith("## "):
            yield "h2", first[3:].strip()
        elif first.startswith("# "):
            yield "h1", first[2:].strip()
        elif first.startswith("|"):
            rows = []
            for line in block.splitlines():
                line = line.strip()
                if re.fullmatch(r"\|[\s:|-]+\|", line):
                    continue
                rows.append([c.strip() for c in line.strip("|").split("|")])
            yield "table", rows
        elif all(line.startswith("- ") for line in block.splitlines()):
            yield "bullets", [line[2:].strip() for line in block.splitlines()]
        elif all(re.match(r"\d+\. ", line) for line in block.splitlines()):
            yield "numbers", [line.strip() for line in block.splitlines()]
        else:
            yield "para", block


# --- PDF -------------------------------------------------------------------------------------------
class Pdf(FPDF):
    def __init__(self, header_text: str):
        super().__init__(format="A4")
        self.header_text = header_text
        self.add_font("dv", "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("dv", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font("dv", "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
        self.set_auto_page_break(True, margin=22)
        self.set_margins(20, 22, 20)

    def header(self):
        self.set_y(10)
        self.set_font("dv", "I", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.header_text, align="R")
        self.line(20, 16, 190, 16)
        self.set_text_color(0, 0, 0)
        self.set_y(22)

    def footer(self):
        self.set_y(-15)
        self.set_font("dv", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 8, f"Sida {self.page_no()} av {{nb}}", align="C")
        self.set_text_color(0, 0, 0)


def _pdf_table(pdf: Pdf, rows):
    ncols = max(len(r) for r in rows)
    lengths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(ncols)]
    weights = [min(max(n, 6), 40) for n in lengths]
    pdf.set_font("dv", "", 8.5)
    numeric = [all(re.fullmatch(r"[\d  ,%–-]+", r[i]) for r in rows[1:] if i < len(r)) for i in range(ncols)]
    align = tuple("RIGHT" if numeric[i] else "LEFT" for i in range(ncols))
    with pdf.table(col_widths=tuple(weights), text_align=align, line_height=5,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(225, 232, 240))) as table:
        for r in rows:
            row = table.row()
            for i in range(ncols):
                row.cell(r[i] if i < len(r) else "")
    pdf.ln(4)


def _pdf_block(pdf: Pdf, kind, payload, chapter_pages: bool):
    if kind == "h1":
        pdf.set_font("dv", "B", 20)
        pdf.multi_cell(0, 10, payload, align="L")
        pdf.ln(3)
    elif kind == "h2":
        if chapter_pages and pdf.get_y() > 40:
            pdf.add_page()
        pdf.set_font("dv", "B", 14)
        pdf.multi_cell(0, 8, payload, align="L")
        pdf.ln(2)
    elif kind == "h3":
        if pdf.get_y() > 250:
            pdf.add_page()
        pdf.ln(1)
        pdf.set_font("dv", "B", 11.5)
        pdf.multi_cell(0, 7, payload, align="L")
        pdf.ln(1)
    elif kind == "table":
        _pdf_table(pdf, payload)
    elif kind in ("bullets", "numbers"):
        pdf.set_font("dv", "", 10.5)
        for item in payload:
            if kind == "bullets":
                mark, text = "•", item
            else:
                mark, text = item.split(" ", 1)
            pdf.set_x(pdf.l_margin + 4)
            pdf.cell(6, 5.5, mark)
            pdf.multi_cell(0, 5.5, text)
            pdf.ln(0.8)
        pdf.ln(2)
    else:
        pdf.set_font("dv", "", 10.5)
        pdf.multi_cell(0, 5.5, payload)
        pdf.ln(2.5)


def _pdf_columns(pdf: Pdf, items):
    with pdf.text_columns(ncols=2, gutter=8, text_align="J", line_height=1.25) as cols:
        for kind, payload in items:
            if kind in ("h1", "h2", "h3"):
                size = {"h1": 16, "h2": 13, "h3": 11}[kind]
                pdf.set_font("dv", "B", size)
                with cols.paragraph(text_align="L", top_margin=2, bottom_margin=1.5) as par:
                    par.write(payload)
            elif kind in ("bullets", "numbers"):
                pdf.set_font("dv", "", 9.5)
                for item in payload:
                    with cols.paragraph(text_align="L", bottom_margin=1) as par:
                        par.write(("• " + item) if kind == "bullets" else item)
                cols.ln()
            elif kind == "table":  # tables are not supported inside columns: render rows as lines
                pdf.set_font("dv", "", 9)
                for r in payload:
                    with cols.paragraph(text_align="L") as par:
                        par.write(" – ".join(r))
                cols.ln()
            else:
                pdf.set_font("dv", "", 9.5)
                with cols.paragraph(bottom_margin=2) as par:
                    par.write(payload)


def build_pdf(src: Path, out: Path, header: str, chapter_pages=False, all_columns=False):
    pdf = Pdf(header)
    pdf.alias_nb_pages()
    pdf.add_page()
    items = list(blocks(src.read_text(encoding="utf-8")))
    in_columns, buffer = False, []
    for kind, payload in items:
        if kind == "directive":
            if payload == "newpage":
                pdf.add_page()
            elif payload == "columns":
                in_columns, buffer = True, []
            elif payload == "/columns":
                _pdf_columns(pdf, buffer)
                in_columns = False
                pdf.ln(3)
            continue
        if all_columns and kind != "h1" and kind != "table" and not in_columns:
            buffer.append((kind, payload))
            continue
        if in_columns:
            buffer.append((kind, payload))
            continue
        if all_columns and buffer:
            _pdf_columns(pdf, buffer)
            buffer = []
        _pdf_block(pdf, kind, payload, chapter_pages)
    if buffer:
        _pdf_columns(pdf, buffer)
    pdf.output(str(out))


# --- DOCX ------------------------------------------------------------------------------------------
def build_docx(src: Path, out: Path):
    doc = Document()
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(11)
    for kind, payload in blocks(src.read_text(encoding="utf-8")):
        if kind == "directive":
            continue
        if kind == "h1":
            doc.add_heading(payload, level=0)
        elif kind == "h2":
            doc.add_heading(payload, level=1)
        elif kind == "h3":
            doc.add_heading(payload, level=2)
        elif kind == "table":
            ncols = max(len(r) for r in payload)
            table = doc.add_table(rows=0, cols=ncols)
            table.style = "Table Grid"
            for n, r in enumerate(payload):
                cells = table.add_row().cells
                for i in range(ncols):
                    cells[i].text = r[i] if i < len(r) else ""
                    if n == 0:
                        for run in cells[i].paragraphs[0].runs:
                            run.bold = True
            doc.add_paragraph()
        elif kind == "bullets":
            for item in payload:
                doc.add_paragraph(item, style="List Bullet")
        elif kind == "numbers":
            for item in payload:
                doc.add_paragraph(item.split(" ", 1)[1], style="List Number")
        else:
            paragraph = doc.add_paragraph()
            for i, line in enumerate(payload.splitlines()):
                run = paragraph.add_run(line)
                if i < len(payload.splitlines()) - 1:
                    run.add_break()
    doc.save(str(out))


# --- HTML ------------------------------------------------------------------------------------------
def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\[(.+?)\]\((.+?)\)", r'<a href="\2">\1</a>', text)


def md_to_html(text: str) -> str:
    parts = []
    for kind, payload in blocks(text):
        if kind == "directive":
            continue
        if kind in ("h1", "h2", "h3"):
            level = {"h1": 1, "h2": 2, "h3": 3}[kind]
            parts.append(f"<h{level}>{_inline(payload)}</h{level}>")
        elif kind == "table":
            head = "".join(f"<th>{_inline(c)}</th>" for c in payload[0])
            body = "\n".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in payload[1:])
            parts.append(f'<table class="table">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>')
        elif kind == "bullets":
            parts.append("<ul>\n" + "\n".join(f"<li>{_inline(i)}</li>" for i in payload) + "\n</ul>")
        elif kind == "numbers":
            parts.append("<ol>\n" + "\n".join(f"<li>{_inline(i.split(' ', 1)[1])}</li>" for i in payload) + "\n</ol>")
        else:
            parts.append("<p>" + "<br>\n".join(_inline(line) for line in payload.splitlines()) + "</p>")
    return "\n".join(parts)


def build_html(src: Path, out: Path, template: str, title: str, crumb: str = "", meta: str = ""):
    page = (SRC / template).read_text(encoding="utf-8")
    page = page.replace("{{title}}", html.escape(title)).replace("{{crumb}}", html.escape(crumb)).replace("{{meta}}", html.escape(meta)).replace("{{content}}", md_to_html(src.read_text(encoding="utf-8")))
    out.write_text(page, encoding="utf-8")


# --- main ------------------------------------------------------------------------------------------
def build(outdir) -> list[Path]:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    built = []
    for source, name, kind, options in DOCUMENTS:
        src, target = SRC / source, out / name
        if kind == "pdf":
            build_pdf(src, target, options["header"], options.get("chapter_pages", False), options.get("all_columns", False))
        elif kind == "docx":
            build_docx(src, target)
        elif kind == "html":
            build_html(src, target, options["template"], options["title"], options.get("crumb", ""), options.get("meta", ""))
        elif kind == "md":
            shutil.copy(src, target)
        elif kind == "txt":
            text = src.read_text(encoding="utf-8")
            encoding = options.get("encoding", "utf-8")
            if encoding == "cp1252":  # as exported by an old Windows tool: CRLF line endings
                target.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
            else:
                target.write_text(text, encoding=encoding)
        built.append(target)
    return built


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for path in build(sys.argv[1]):
        print(f"{path.stat().st_size / 1024:8.1f} KB  {path.name}")
