"""Evaluation: schema checks, matching, metrics, and CI's extractive run on corpus/ against thresholds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.gold import GoldError, GoldQuestion, fact_found, load_questions
from evals.metrics import build_report, check_thresholds, compare

from conftest import CORPUS, REPO

GOLD = REPO / "evals" / "gold.jsonl"


def test_gold_set_covers_what_the_issue_asks_for():
    questions = load_questions(GOLD)
    tags = {tag for q in questions for tag in q.tags}
    assert len(questions) >= 40
    assert {"kommun", "åtagande", "begrepp", "obesvarbar", "följdfråga", "engelska", "stavfel", "injektion"} <= tags
    municipal = {q.question for q in questions if "kommun" in q.tags}
    for name in ("Karlskrona", "Karlshamn", "Ronneby", "Olofström", "Sölvesborg"):
        assert f"Vilken kultur finns i {name}?" in municipal
    assert all(q.sources == [] for q in questions if not q.answerable)
    assert all((CORPUS / s).is_file() for q in questions for s in q.sources)


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", "not valid JSON"),
        ('{"id": "a", "question": "q", "answerable": "yes", "must_include": [], "sources": [], "tags": []}', "answerable"),
        ('{"id": "a", "question": "q", "answerable": true, "must_include": ["x"], "sources": [], "tags": []}', "must_include"),
    ],
)
def test_bad_question_files_are_rejected_with_the_line(tmp_path, line, message):
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(GoldError, match=message) as error:
        load_questions(path)
    assert ":1:" in str(error.value)


def test_facts_match_case_insensitively_and_numbers_without_thousands_spaces():
    assert fact_found(["16 000"], "Budgeten är 16000 kronor")
    assert fact_found(["16000"], "budgeten är 16 000 kronor")
    assert fact_found(["musik i blekinge", "x"], "MUSIK I BLEKINGE samordnar")
    assert not fact_found(["Karlskrona"], "Karlshamn")


def _gold(**kw) -> GoldQuestion:
    base = dict(id="q", question="?", answerable=True, must_include=[["a"], ["b"]], sources=["doc.txt"], tags=["t"])
    return GoldQuestion(**(base | kw))


def _prediction(id="q", answer="a b [1]", refused=False, citations=None, retrieved=None, latency=10.0):
    citations = citations if citations is not None else [{"n": 1, "source": "doc.txt", "text": "a", "title": "", "section": "", "page": None}]
    retrieved = retrieved if retrieved is not None else [{"source": "other.txt", "page": None, "score": 0.9}, {"source": "doc.txt", "page": None, "score": 0.5}]
    return {"id": id, "question": "?", "answer": answer, "refused": refused, "citations": citations, "retrieved": retrieved, "latency_ms": latency}


def test_metrics_on_known_predictions():
    questions = [_gold(id="q1"), _gold(id="q2", must_include=[["c"]]), _gold(id="u", answerable=False, must_include=[], sources=[], tags=["u"])]
    predictions = [
        _prediction("q1", latency=10),  # both facts, source at rank 2, fact "b" not in the cited text
        _prediction("q2", answer="nothing [3]", latency=30),  # fact missing, citation [3] invalid
        _prediction("u", answer="Det framgår inte.", refused=True, citations=[], retrieved=[], latency=20),
    ]
    report = build_report(questions, predictions, {"generator": "test"})
    overall = report["overall"]
    assert overall["retrieval_hit_at_1"] == 0.0 and overall["retrieval_hit_at_5"] == 1.0
    assert overall["retrieval_mrr"] == 0.5
    assert overall["fact_recall"] == 0.5 and overall["full_answer_accuracy"] == 0.5
    assert overall["citation_validity"] == 0.5
    assert overall["supported_facts"] == 0.5
    assert overall["refusal_accuracy"] == 1.0 and overall["false_refusal_rate"] == 0.0
    assert overall["latency_p50_ms"] == 20
    assert set(report["per_tag"]) == {"t", "u"}
    assert [f["id"] for f in report["failures"]] == ["q2"]
    assert check_thresholds(report, {"full_answer_accuracy": 0.9, "false_refusal_rate": 0.1}) == [
        "full_answer_accuracy = 0.5 is below the minimum 0.9"
    ]
    assert ("fact_recall", 0.25, 0.5, 0.25) in compare(report, {"overall": {"fact_recall": 0.25}})


@pytest.mark.integration
def test_ci_evaluation_extractive_on_corpus_meets_thresholds(tmp_path, real_settings_base):
    kulturplan = Path(sys.executable).with_name("kulturplan")
    out = tmp_path / "eval"
    result = subprocess.run(
        [str(kulturplan), "eval", str(GOLD), "--corpus", str(CORPUS), "--generator", "extractive",
         "--out", str(out), "--check", str(REPO / "evals" / "thresholds.json"), "--quiet"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == len(load_questions(GOLD))
    assert set(predictions[0]) >= {"id", "question", "answer", "refused", "citations", "retrieved", "latency_ms"}
    report = json.loads((out / "report.json").read_text())
    assert report["meta"]["generator"] == "extractive"
    assert (out / "report.md").read_text().startswith("# Utvärdering")
    assert (out / "per_tag.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(json.dumps(report["overall"], indent=1))  # shown with -s; the figures for the closing note


# --- CI's extractive runs on the independent development set and on our development corpus -----------
SHARED_DEVSET = REPO.parent / "shared" / "devset"
DEVCORPUS = REPO / "evals" / "devcorpus"


def _eval_with_thresholds(tmp_path: Path, questions: Path, corpus: Path, check_set: str) -> dict:
    kulturplan = Path(sys.executable).with_name("kulturplan")
    out = tmp_path / f"eval-{check_set}"
    result = subprocess.run(
        [str(kulturplan), "eval", str(questions), "--corpus", str(corpus), "--generator", "extractive", "--out",
         str(out), "--check", str(REPO / "evals" / "thresholds.json"), "--check-set", check_set, "--quiet"],
        capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    print(check_set, json.dumps(report.get("overall"), indent=1))  # the figures for the closing note (-s)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return report


def _build(script: Path, target: Path) -> Path:
    subprocess.run([sys.executable, str(script), str(target)], check=True, capture_output=True, timeout=300)
    return target


@pytest.mark.integration
def test_ci_evaluation_extractive_on_the_shared_devset_meets_thresholds(tmp_path, real_settings_base):
    if not SHARED_DEVSET.is_dir():
        pytest.skip("../shared/devset is not beside this checkout")
    corpus = _build(SHARED_DEVSET / "build_corpus.py", tmp_path / "devset")
    _eval_with_thresholds(tmp_path, SHARED_DEVSET / "questions.jsonl", corpus, "devset")


@pytest.mark.integration
def test_ci_evaluation_extractive_on_the_development_corpus_meets_thresholds(tmp_path, real_settings_base):
    corpus = _build(DEVCORPUS / "build.py", tmp_path / "devcorpus")
    report = _eval_with_thresholds(tmp_path, DEVCORPUS / "questions_dev.jsonl", corpus, "devcorpus")
    assert report["overall"]["questions"] >= 100


def test_typed_in_haste_variants_keep_the_gold_and_change_only_the_typing(tmp_path):
    from evals.typo_variants import main

    rows = [
        {"id": "a", "question": "När öppnar Kulturhuset i Ronneby?", "answerable": True, "must_include": [["maj"]], "tags": ["fact"]},
        {"id": "b", "question": "What is it?", "answerable": True, "must_include": [["x"]], "tags": ["english"]},
        {"id": "c", "question": "Vem?", "answerable": False, "must_include": [], "tags": ["unanswerable"]},
        {"id": "d", "question": "Och i Olofström?", "answerable": True, "must_include": [["y"]], "tags": ["followup"],
         "history": [{"role": "user", "content": "När öppnar Kulturhuset?"}]},
    ]  # fmt: skip
    split = tmp_path / "split.jsonl"
    split.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    main([str(tmp_path / "out"), str(split)])
    read = {p.stem: [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()] for p in (tmp_path / "out").glob("*.jsonl")}
    assert read["lower_case"][0]["question"] == "när öppnar kulturhuset i ronneby"
    assert read["without_diacritics"][0]["question"] == "nar oppnar kulturhuset i ronneby"
    assert read["letter_dropped"][0]["question"] != read["lower_case"][0]["question"]
    assert len(read["letter_dropped"][0]["question"]) == len(read["lower_case"][0]["question"]) - 1
    for variant in read.values():
        assert [(v["id"][:2], v["must_include"]) for v in variant] == [("a-", [["maj"]])]
