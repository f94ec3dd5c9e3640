"""Build the dev corpus into a temp dir and check the question files against it.

Usage: python evals/devcorpus/check.py [--keep OUTDIR]

Checks: every must_include fact of every answerable question occurs (at least one alternative,
normalised like kulturplan/evaluation.py: lower case, collapsed whitespace, "16 000" == "16000") in the
text of the files named in "sources"; no must_not_include string occurs there; unanswerable questions
have empty must_include and sources; ids are unique. Prints sizes, documents per format and question
counts per tag and split. Exits 1 on any failure.
"""
from __future__ import annotations

import html.parser
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402

SPLITS = {
    "dev": HERE / "questions_dev.jsonl",
    "probe": HERE / "questions_probe.jsonl",
    "probe2": HERE / "questions_probe2.jsonl",
    "probe3": HERE / "questions_probe3.jsonl",
    "probe4": HERE / "questions_probe4.jsonl",
    "probe5": HERE / "questions_probe5.jsonl",
    "probe6": HERE / "questions_probe6.jsonl",
    "heldout": HERE / "questions_heldout.jsonl",
}
KEYS = {"id", "question", "answerable", "must_include", "must_not_include", "sources", "tags"}


def normalise(text: str) -> str:
    # like kulturplan/evaluation.py, but whitespace is collapsed first so that a number wrapped over
    # two lines in a PDF ("6 200\n000") is joined like "6 200 000"
    text = " ".join(text.split())
    text = re.sub(r"(?<=\d)[ \u00a0\u202f](?=\d{3}\b)", "", text)
    return " ".join(text.lower().split())


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1
        self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def extract(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from pypdf import PdfReader
        return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    if suffix == ".docx":
        from docx import Document
        doc = Document(str(path))
        parts = [p.text for p in doc.paragraphs]
        for table in doc.tables:
            for row in table.rows:
                parts.append(" | ".join(cell.text for cell in row.cells))
        return "\n".join(parts)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    if suffix in (".html", ".htm"):
        parser = _Text()
        parser.feed(text)
        return "".join(parser.parts)
    return text


def main(keep: str | None = None) -> int:
    outdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="devcorpus_"))
    files = build.build(outdir)
    texts = {f.name: extract(f) for f in files}
    normed = {name: normalise(t) for name, t in texts.items()}
    errors = []

    # the cp1252 file must really be cp1252 (not valid UTF-8 with non-ASCII)
    for source, name, kind, options in build.DOCUMENTS:
        if options.get("encoding") == "cp1252":
            raw = (outdir / name).read_bytes()
            try:
                raw.decode("utf-8")
                errors.append(f"{name}: expected cp1252 bytes, got valid UTF-8")
            except UnicodeDecodeError:
                pass

    seen, per_split, tag_split = set(), Counter(), Counter()
    tags_total = Counter()
    for split, path in SPLITS.items():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            q = json.loads(line)
            where = f"{path.name}:{number} ({q.get('id')})"
            missing = KEYS - q.keys()
            if missing:
                errors.append(f"{where}: missing keys {sorted(missing)}")
                continue
            if q["id"] in seen:
                errors.append(f"{where}: duplicate id")
            seen.add(q["id"])
            per_split[split] += 1
            for tag in q["tags"]:
                tag_split[(tag, split)] += 1
                tags_total[tag] += 1
            for turn in q.get("history", []):
                if turn.get("role") not in ("user", "assistant") or not turn.get("content"):
                    errors.append(f"{where}: bad history turn {turn}")
            if not q["answerable"]:
                if q["must_include"] or q["sources"]:
                    errors.append(f"{where}: unanswerable question with must_include/sources")
                if "unanswerable" not in q["tags"]:
                    errors.append(f"{where}: unanswerable question without the tag")
                continue
            if not q["sources"] or not q["must_include"]:
                errors.append(f"{where}: answerable question without sources or must_include")
                continue
            unknown = [s for s in q["sources"] if s not in normed]
            if unknown:
                errors.append(f"{where}: unknown sources {unknown}")
                continue
            haystack = " \n ".join(normed[s] for s in q["sources"])
            for fact in q["must_include"]:
                if not any(normalise(alt) in haystack for alt in fact):
                    errors.append(f"{where}: fact {fact} not found in {q['sources']}")
            for bad in q["must_not_include"]:
                if normalise(bad) in haystack:
                    errors.append(f"{where}: must_not_include {bad!r} occurs in {q['sources']}")

    text_kb = sum(len(t.encode("utf-8")) for t in texts.values()) / 1024
    src_kb = sum(p.stat().st_size for p in build.SRC.iterdir() if p.is_file()) / 1024
    file_kb = sum(f.stat().st_size for f in files) / 1024
    formats = Counter(f.suffix.lstrip(".").upper() for f in files)
    print(f"Built {len(files)} documents into {outdir}")
    print(f"  sources in src/: {src_kb:.1f} KB, extracted text: {text_kb:.1f} KB, built files: {file_kb:.1f} KB")
    print("  per format: " + ", ".join(f"{k} {v}" for k, v in sorted(formats.items())))
    for f in files:
        print(f"    {len(texts[f.name].encode('utf-8')) / 1024:7.1f} KB text  {f.name}")
    print(f"Questions: {sum(per_split.values())} ({', '.join(f'{k} {v}' for k, v in per_split.items())})")
    print(f"  {'tag':14s} " + " ".join(f"{split:>8s}" for split in SPLITS) + f" {'total':>6s}")
    for tag, total in sorted(tags_total.items(), key=lambda kv: -kv[1]):
        print(f"  {tag:14s} " + " ".join(f"{tag_split[(tag, split)]:8d}" for split in SPLITS) + f" {total:6d}")
    if errors:
        print(f"\n{len(errors)} problem(s):")
        for e in errors:
            print("  " + e)
        return 1
    print("\nOK: all facts found, no distractor strings in the named sources.")
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[1] if len(args) == 2 and args[0] == "--keep" else None))
