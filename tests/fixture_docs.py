"""Small plan documents in every supported format, generated at test time.

Each generator writes one file and returns its path. The texts are module constants, so tests can
assert against the same specification the file was made from instead of hard-coding results.
Swedish text with å, ä and ö is used throughout: it is what the real corpus looks like.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

# Files carry the time they were made: a fixed one makes the same document the same bytes (and hash).
PDF_CREATED = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)

# --- PDF -------------------------------------------------------------------------------------------
# (heading, paragraphs) per page; each page starts with a heading line.
PDF_TITLE = "Kulturplan för Blekinge"
PDF_PAGES: list[tuple[str, list[str]]] = [
    (
        PDF_TITLE,
        [
            "Kulturplanen beskriver hur Region Blekinge och länets fem kommuner tillsammans ska utveckla "
            "kulturlivet under planperioden. Planen bygger på dialog med kulturskapare, föreningar och "
            "invånare i hela länet.",
            "Målet är att alla som bor i Blekinge ska kunna ta del av ett rikt och öppet kulturliv, oavsett "
            "ålder, bakgrund eller bostadsort.",
        ],
    ),
    (
        "Bibliotek och läsfrämjande",
        [
            "Folkbiblioteken är viktiga mötesplatser för alla. I Ronneby har biblioteket utvecklat "
            "läsfrämjande verksamhet för små barn tillsammans med barnavårdscentralen och förskolorna.",
        ],
    ),
    (
        "Scenkonst och musik",
        [
            "Dansscenen i Karlshamn är en regional resurs för dansare och koreografer. Där erbjuds residens, "
            "föreställningar och workshoppar för unga från hela länet.",
            "Musik i Blekinge når varje år tusentals elever genom skolkonserter i samverkan med kommunerna.",
        ],
    ),
]
# A heading in the middle of page 2, after a paragraph that ends a sentence.
PDF_MID_PAGE_HEADING = "Läsfrämjande för de yngsta"
PDF_MID_PAGE_PARAGRAPH = (
    "Språkstegen är ett samarbete mellan bibliotek, barnavårdscentraler och logopeder som främjar små "
    "barns språkutveckling. Arbetet har spridits från Olofström till övriga kommuner."
)


def write_pdf(
    path: Path,
    pages: list[tuple[str, list[str]]] = PDF_PAGES,
    *,
    page_numbers: bool = True,
    metadata_title: str | None = None,
) -> Path:
    """A text PDF, one page per (heading, paragraphs), with a "Sida N av M" footer like real plans.

    fpdf2's core fonts (Helvetica) encode text as latin-1/cp1252, which covers å, ä and ö.
    """
    from fpdf import FPDF

    class PlanPdf(FPDF):
        def footer(self) -> None:
            if page_numbers:
                self.set_y(-15)
                self.set_font("Helvetica", size=9)
                self.cell(0, 10, f"Sida {self.page_no()} av {{nb}}", align="C")

    pdf = PlanPdf(format="A4")
    pdf.set_creation_date(PDF_CREATED)
    pdf.set_auto_page_break(auto=False)
    if metadata_title:
        pdf.set_title(metadata_title)
    for number, (heading, paragraphs) in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        if number == 2 and pages is PDF_PAGES:
            pdf.set_font("Helvetica", "B", 13)
            pdf.cell(0, 8, PDF_MID_PAGE_HEADING, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, PDF_MID_PAGE_PARAGRAPH, new_x="LMARGIN", new_y="NEXT")
    path.write_bytes(bytes(pdf.output()))
    return path


def write_pdf_without_text(path: Path, pages: int = 2) -> Path:
    """A PDF whose pages hold only vector graphics, like a scan: there is no text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(PDF_CREATED)
    for _ in range(pages):
        pdf.add_page()
        pdf.set_fill_color(120, 120, 120)
        pdf.rect(20, 20, 170, 40, style="F")
        pdf.line(20, 80, 190, 250)
    path.write_bytes(bytes(pdf.output()))
    return path


def write_encrypted_pdf(path: Path, user_password: str = "hemligt") -> Path:
    """A text PDF that needs a password to open (RC4-128, which pypdf encrypts without extras)."""
    from pypdf import PdfReader, PdfWriter

    source = write_pdf(path)
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=user_password, owner_password="ägarlösen", algorithm="RC4-128")
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def write_aes_encrypted_pdf(path: Path) -> Path:
    """A PDF that opens without a password but whose content is AES-encrypted ("owner password only").

    This is how many published PDFs restrict printing or copying. pypdf can only write AES with the
    `cryptography` package, so the file is made from an RC4 one by an incremental update (PDF spec
    7.5.6) that redefines the encryption dictionary as AESV2, revision 4. For revision 4 the /O and /U
    values are computed as for revision 3, so the empty user password still opens the file; the
    content streams themselves are then only decryptable with an AES implementation.
    """
    write_encrypted_pdf(path, user_password="")
    original = path.read_bytes()
    number = int(re.search(rb"/Encrypt (\d+) 0 R", original).group(1))
    dictionary = re.search(rb"\n%d 0 obj\s*(<<.*?>>)\s*endobj" % number, original, re.S).group(1)
    aes = dictionary.replace(b"/V 2", b"/V 4").replace(b"/R 3", b"/R 4")
    aes = aes[:-2] + b"/CF << /StdCF << /CFM /AESV2 /AuthEvent /DocOpen /Length 16 >> >>\n"
    aes += b"/StmF /StdCF\n/StrF /StdCF\n>>"
    trailer = re.findall(rb"trailer\s*(<<.*?>>)\s*startxref\s*(\d+)", original, re.S)[-1]
    offset = len(original)
    update = b"%d 0 obj\n" % number + aes + b"\nendobj\n"
    xref_at = offset + len(update)
    update += b"xref\n%d 1\n%010d 00000 n \ntrailer\n" % (number, offset)
    update += trailer[0][:-2] + b"/Prev %s\n>>\nstartxref\n%d\n%%%%EOF\n" % (trailer[1], xref_at)
    path.write_bytes(original + update)
    return path


def write_truncated_pdf(path: Path) -> Path:
    """The first half of a valid PDF, as left by an interrupted download."""
    data = write_pdf(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


# --- DOCX ------------------------------------------------------------------------------------------
DOCX_TITLE = "Kulturplan för Blekinge 2024"
DOCX_INTRO = "Denna plan beskriver hur regionen och kommunerna samverkar kring kulturen."
DOCX_CHAPTER = "Kapitel"
DOCX_CHAPTER_TEXT = "Karlskrona är residensstad och har flera regionala kulturinstitutioner."
DOCX_SUBSECTION = "Underavsnitt"
DOCX_SUBSECTION_TEXT = "I Olofström fortsätter arbetet med en litterär nod i Harry Martinsons anda."
DOCX_TABLE = [("Kommun", "Verksamhet"), ("Sölvesborg", "Konsthall i hamnen"), ("Ronneby", "Konstresurscentrum")]
DOCX_NEXT_CHAPTER = "Nästa kapitel"
DOCX_NEXT_CHAPTER_TEXT = "Uppföljning sker årligen tillsammans med kulturråden i länets kommuner."


def write_docx(path: Path, *, core_title: str | None = None) -> Path:
    """Title, Heading 1 / Heading 2 sections and a table inside the subsection."""
    import docx

    document = docx.Document()
    if core_title is not None:
        document.core_properties.title = core_title
    document.add_heading(DOCX_TITLE, level=0)  # the "Title" style
    document.add_paragraph(DOCX_INTRO)
    document.add_heading(DOCX_CHAPTER, level=1)
    document.add_paragraph(DOCX_CHAPTER_TEXT)
    document.add_heading(DOCX_SUBSECTION, level=2)
    document.add_paragraph(DOCX_SUBSECTION_TEXT)
    table = document.add_table(rows=len(DOCX_TABLE), cols=2)
    for row, cells in zip(table.rows, DOCX_TABLE):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    document.add_heading(DOCX_NEXT_CHAPTER, level=1)
    document.add_paragraph(DOCX_NEXT_CHAPTER_TEXT)
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_with_fixed_zip_dates(buffer.getvalue()))
    return path


def _with_fixed_zip_dates(data: bytes) -> bytes:
    """The zip members re-stamped with one date: zip entries carry the time they were written (to two
    seconds), so the same document saved twice would otherwise differ in bytes and hash."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            stamped = zipfile.ZipInfo(item.filename, date_time=PDF_CREATED.timetuple()[:6])
            stamped.compress_type = item.compress_type
            archive.writestr(stamped, source.read(item.filename))
    return target.getvalue()


def write_truncated_docx(path: Path) -> Path:
    data = write_docx(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_docx_with_broken_xml(path: Path) -> Path:
    """A valid zip container whose word/document.xml is cut off (not well-formed XML)."""
    original = write_docx(path).read_bytes()
    source = zipfile.ZipFile(io.BytesIO(original))
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = data[: len(data) // 2]
            archive.writestr(item, data)
    path.write_bytes(target.getvalue())
    return path


def write_docx_with_corrupt_stream(path: Path) -> Path:
    """A zip whose central directory is intact but whose compressed document.xml is damaged."""
    original = write_docx(path).read_bytes()
    info = zipfile.ZipFile(io.BytesIO(original)).getinfo("word/document.xml")
    # The member's data starts after its 30-byte local header, name and extra field.
    header = original[info.header_offset : info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    damaged = bytearray(original)
    for index in range(start + 8, start + info.compress_size - 8, 7):
        damaged[index] ^= 0x5A
    path.write_bytes(bytes(damaged))
    return path


# The magic number of an OLE2 compound file: an old binary .doc, or an encrypted Office document.
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def write_password_protected_docx(path: Path) -> Path:
    """Word saves a password-protected .docx as an OLE2 compound file holding an EncryptedPackage."""
    filler = random.Random(7).randbytes(4096)
    path.write_bytes(OLE2_MAGIC + bytes(24) + b"\x3e\x00\x03\x00\xfe\xff" + filler)
    return path


# --- HTML ------------------------------------------------------------------------------------------
HTML_TITLE = "Kulturens infrastruktur i Blekinge"
HTML_SECTIONS: list[tuple[str | None, list[str]]] = [
    (
        None,
        [
            "Kulturen i Blekinge bärs av ett nätverk av institutioner, föreningar och fria kulturskapare. "
            "Regionen samverkar med länets fem kommuner för att ge alla invånare tillgång till ett rikt "
            "kulturliv, oavsett var de bor.",
            "Under planperioden ska samverkan fördjupas, särskilt när det gäller barn och unga, äldre och "
            "personer som av olika skäl har svårt att ta del av kulturutbudet.",
        ],
    ),
    (
        "Bibliotek och läsfrämjande",
        [
            "Folkbiblioteken i Karlskrona, Ronneby, Karlshamn, Olofström och Sölvesborg är viktiga "
            "mötesplatser. Biblioteksutveckling Blekinge Kronoberg stödjer deras arbete med digital "
            "delaktighet och läsfrämjande insatser för små barn.",
            "Språkstegen är ett samarbete mellan bibliotek, barnavårdscentraler och logopeder som främjar "
            "små barns språkutveckling i hela länet.",
        ],
    ),
    (
        "Scenkonst och musik",
        [
            "Regionteatern Blekinge Kronoberg och Musik i Blekinge når varje år tusentals elever genom "
            "Blekingemodellen. Alla barn får möta professionell scenkonst och musik i skolan.",
            "Dansscenen i Karlshamn är en regional resurs för dansare och koreografer, och erbjuder residens, "
            "föreställningar och workshoppar för unga.",
        ],
    ),
]
HTML_NAV = ["Startsida", "Kultur och fritid", "Kollektivtrafik", "Hälsa och vård", "Kontakta oss"]
HTML_COOKIE_TEXT = "Vi använder kakor för att förbättra webbplatsen. Läs mer om hur vi hanterar personuppgifter."
HTML_COOKIE_BUTTON = "Acceptera alla kakor"
HTML_FEEDBACK = "Hjälpte informationen på sidan dig?"
HTML_FOOTER = ["Region Blekinge, 371 81 Karlskrona. Telefon 0455-73 70 00.", "Tillgänglighetsredogörelse"]
HTML_BOILERPLATE = [*HTML_NAV, HTML_COOKIE_TEXT, HTML_COOKIE_BUTTON, HTML_FEEDBACK, *HTML_FOOTER]


NARROW_PDF_TITLE = "Kultur i hela Blekinge"
# Paragraphs whose wrapped lines, at 10 pt in an 8 cm column, include lines that look like headings
# on their own: "Folkbiblioteken är viktiga mötesplatser för alla. I" after a sentence end, and
# "Regionteatern Blekinge Kronoberg och Musik i" followed by a capitalised line.
NARROW_PDF_SECTIONS: list[tuple[str, list[str]]] = [
    ("Mål för planperioden", [*PDF_PAGES[0][1], *PDF_PAGES[1][1]]),
    ("Barn och unga", [HTML_SECTIONS[1][1][1], HTML_SECTIONS[2][1][0], HTML_SECTIONS[2][1][1]]),
]


def write_narrow_column_pdf(path: Path) -> Path:
    """One page set in an 8 cm column, as in designed plan brochures: most lines are short."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(PDF_CREATED)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(80, 8, NARROW_PDF_TITLE, new_x="LMARGIN", new_y="NEXT")
    for heading, paragraphs in NARROW_PDF_SECTIONS:
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(80, 7, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for paragraph in paragraphs:
            pdf.multi_cell(80, 5, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    path.write_bytes(bytes(pdf.output()))
    return path


def html_page() -> str:
    """A region web page: cookie banner, header menu, the article, a feedback widget and a footer."""
    article = [f"<h1>{HTML_TITLE}</h1>"]
    for heading, paragraphs in HTML_SECTIONS:
        if heading:
            article.append(f"<h2>{heading}</h2>")
        article += [f"<p>{paragraph}</p>" for paragraph in paragraphs]
    menu = "".join(f'<li><a href="/{i}">{item}</a></li>' for i, item in enumerate(HTML_NAV))
    footer = "".join(f"<p>{line}</p>" for line in HTML_FOOTER)
    return f"""<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>{HTML_TITLE} - Region Blekinge</title></head>
<body>
<div id="cookie-banner" class="cookie-consent"><p>{HTML_COOKIE_TEXT}</p><button>{HTML_COOKIE_BUTTON}</button></div>
<header><nav class="main-menu" aria-label="Huvudmeny"><ul>{menu}</ul></nav></header>
<main id="main"><article>
{chr(10).join(article)}
<div class="feedback"><p>{HTML_FEEDBACK}</p><button>Ja</button><button>Nej</button></div>
</article></main>
<footer class="site-footer">{footer}</footer>
</body></html>
"""


def write_html(path: Path) -> Path:
    path.write_text(html_page(), encoding="utf-8")
    return path


# --- plain text and Markdown ----------------------------------------------------------------------
LEGACY_TEXT_TITLE = "Kultur i Blekinge"
LEGACY_TEXT_PARAGRAPH = (
    "Årets satsning på läsfrämjande i Sölvesborg och Olofström gör att fler barn läser böcker. "
    "Även äldre på särskilda boenden får besök av författare."
)
LEGACY_TEXT = f"{LEGACY_TEXT_TITLE}\r\n\r\n{LEGACY_TEXT_PARAGRAPH}\r\n"


def write_text(path: Path, text: str = LEGACY_TEXT, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


MARKDOWN_TITLE = "Kulturplan för Blekinge"
MARKDOWN_SECTION = "Samverkan med kommunerna"
MARKDOWN_WRAPPED_LINES = [
    "Region Blekinge och kommunerna samverkar kring",
    "kulturskolor, bibliotek och *studiecirklar*, och",
    "arbetet följs upp av [kulturråden](https://example.org) varje år.",
]
MARKDOWN_SUBSECTION = "Dansscenen i Karlshamn"
MARKDOWN_SUBSECTION_TEXT = "Dansscenen är en regional resurs för dansare och koreografer."


def markdown_text() -> str:
    wrapped = "\n".join(MARKDOWN_WRAPPED_LINES)
    return (
        f"# {MARKDOWN_TITLE}\n\n## {MARKDOWN_SECTION}\n\n{wrapped}\n\n"
        f"### {MARKDOWN_SUBSECTION}\n\n{MARKDOWN_SUBSECTION_TEXT}\n"
    )


def write_markdown(path: Path) -> Path:
    path.write_text(markdown_text(), encoding="utf-8")
    return path


# --- other bad inputs ------------------------------------------------------------------------------
def write_binary(path: Path, size: int = 2048) -> Path:
    """Random bytes with NULs, as when an image or archive is saved under a text name."""
    data = bytearray(random.Random(42).randbytes(size))
    data[::16] = bytes(len(data[::16]))  # NUL bytes throughout
    path.write_bytes(bytes(data))
    return path


def write_xlsx(path: Path) -> Path:
    """A minimal spreadsheet container (a format the ingester does not read)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
    return path
