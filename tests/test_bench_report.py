"""What `make bench` writes besides its figures: the README's table, and how the concurrent local
chats read a page (no models)."""

from __future__ import annotations

import json

from evals.benchmark import README_END, README_START, answer_questions, baseline_documents, update_readme
from evals.local_chats import shows_text_or_place
from fixture_docs import (
    DOCX_SUBSECTION_TEXT, DOCX_TABLE, PDF_PAGES, write_docx, write_html, write_markdown, write_pdf, write_text,
)  # fmt: skip

RESULT = {
    "date": "2026-11-26 20:00 UTC", "machine": "2 CPU cores (Xeon), 24 GiB RAM, no GPU",
    "figures": {"total answer time p50, local": {"ours": 4000.0, "baseline": 5500.0, "ratio": 0.727, "unit": "ms", "note": "20 gold questions"}},
}  # fmt: skip


def test_the_readme_table_is_replaced_between_its_markers_and_nothing_else(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Titel\n\nFöre.\n\n{README_START}\nold table\n{README_END}\n\nEfter.\n", encoding="utf-8")
    assert update_readme(RESULT, readme)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Titel\n\nFöre.\n\n") and text.endswith(f"{README_END}\n\nEfter.\n")
    assert "old table" not in text and "2 CPU cores (Xeon), 24 GiB RAM, no GPU" in text
    assert "| total answer time p50, local | 4000.0 | 5500.0 | 0.727 | ms | 20 gold questions |" in text
    plain = tmp_path / "plain.md"
    plain.write_text("no markers", encoding="utf-8")
    assert not update_readme(RESULT, plain) and plain.read_text(encoding="utf-8") == "no markers"


def test_a_page_shows_text_or_a_place_but_not_while_only_the_question_is_there():
    waiting = '<article class="kp-exchange"><div class="kp-answer kp-streaming"><p class="kp-status">Svarar …</p></div>'
    queued = waiting.replace("Svarar …", "Du är nummer 2 i kön.")
    streaming = waiting.replace('kp-streaming"><p', 'kp-streaming"><p>Blekingemodellen [1]</p><p')
    assert not shows_text_or_place(waiting)
    assert shows_text_or_place(queued) and shows_text_or_place(streaming)
    earlier_answer = '<article class="kp-exchange"><div class="kp-answer"><p>Svar.</p></div></article>'
    assert not shows_text_or_place(earlier_answer + waiting)  # only the last exchange counts


def test_the_local_chats_percentiles_are_read_on_a_0_to_100_scale():
    from evals.local_chats import ChatsResult, Person

    result = ChatsResult([Person("q", first_ms=float(v)) for v in range(1, 21)] + [Person("q", error="x")])
    assert result.figure("first_ms", 50) in (10.0, 11.0) and result.figure("first_ms", 100) == 20.0
    assert result.figure("total_ms", 50) is None and result.errors == 1


def test_the_changed_copy_for_the_ingest_under_load_reads_a_cp1252_document(tmp_path):
    from evals.load import CHANGE_TEXT, write_changed_copy

    document = tmp_path / "grannar.txt"
    document.write_bytes("Region Kronoberg har en kulturplan för 2022–2024.\n".encode("cp1252"))
    changed = write_changed_copy(document, tmp_path / "copy")
    text = changed.read_text(encoding="utf-8")
    assert text.startswith("Region Kronoberg har en kulturplan för 2022–2024.") and CHANGE_TEXT in text


# --- what the answer figures are timed on ----------------------------------------------------------------
def test_the_timed_questions_are_answerable_standalone_and_spread_over_the_file(tmp_path):
    rows = [{"id": f"q{i}", "question": f"Fråga {i}?", "answerable": i % 4 != 3, "must_include": [["x"]] if i % 4 != 3 else [],
             "sources": [], "tags": []} for i in range(12)]  # fmt: skip
    rows[0]["history"] = [{"role": "user", "content": "Förra frågan"}]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows), encoding="utf-8")
    # Standalone and answerable: q1 q2 q4 q5 q6 q8 q9 q10; every second of them.
    assert answer_questions(4, path) == ["Fråga 1?", "Fråga 4?", "Fråga 6?", "Fråga 9?"]
    assert answer_questions(100, path) == [f"Fråga {i}?" for i in (1, 2, 4, 5, 6, 8, 9, 10)]


def test_the_baseline_reads_every_format_ours_reads(tmp_path):
    write_docx(tmp_path / "plan.docx")
    write_pdf(tmp_path / "plan.pdf")
    write_markdown(tmp_path / "program.md")
    write_html(tmp_path / "sida.html")
    write_text(tmp_path / "protokoll.txt")
    documents = {d.metadata["file_name"]: d.text for d in baseline_documents([tmp_path])}
    assert set(documents) == {"plan.docx", "plan.pdf", "program.md", "sida.html", "protokoll.txt"}
    assert DOCX_SUBSECTION_TEXT in documents["plan.docx"] and DOCX_TABLE[1][0] in documents["plan.docx"]
    assert PDF_PAGES[0][1][0][:40] in " ".join(documents["plan.pdf"].split())
    assert not any("\x00" in text or text.startswith("%PDF") or text.startswith("PK") for text in documents.values())


def test_the_baseline_skips_a_file_ours_cannot_read(tmp_path):
    write_text(tmp_path / "protokoll.txt")
    (tmp_path / "trasig.pdf").write_bytes(b"%PDF-1.7 inget mer")
    assert [d.metadata["file_name"] for d in baseline_documents([tmp_path])] == ["protokoll.txt"]
