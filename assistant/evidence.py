"""Evidence: every sentence of the retrieved passages scored by how well it answers the question.

A sentence's score combines three signals, with weights calibrated by `evals/calibrate.py` on the
development split (never on held-back questions):
- `dense`: the cosine similarity between the question and the sentence's passage;
- `coverage`: the share of the question's words found in the sentence, its section heading or its
  document's title (not the title's years), each word weighted by its inverse document frequency in
  the index (words every passage shares weigh almost nothing, a rare name or term a lot), so no
  hand-made list of generic words is needed;
- `typed`: the sentence holds the kind of thing asked for (a number for "hur många", a year, date,
  month or weekday for "när", a name for "vem").
The best sentence's score is the question's answerability; the extractive answer and the LLM's
prompt are both built from the same ranking, so their facts agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from assistant.safety import sanitize_passage
from assistant.scope import sentence_time_factor
from assistant.table_rows import is_header_of, parse_row
from assistant.types import Passage
from kulturplan.config import Settings
from kulturplan.language import (
    QUESTION_WORDS, ends_sentence, holds_quantity, is_function_word, is_introduction, is_stopword, names_a_time,
    split_sentences, stem, tokens, without_marker,
)  # fmt: skip

# A question word and a sentence word match when one is a prefix of the other and the shorter has at
# least this many letters: Swedish compounds ("bibliotek" / "folkbiblioteken") and inflections.
MIN_PREFIX = 5
MIN_SENTENCE_WORDS = 3  # shorter units are headings or fragments, not answers (list items aside)
YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_DATE = re.compile(
    r"\b\d{1,2}\s+(?:jan|feb|mar|apr|maj|jun|jul|aug|sep|okt|nov|dec)\w*|\b(?:vecka|v\.)\s*\d{1,2}\b|\b\d{4}-\d\d-\d\d\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d")
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-ZÅÄÖ][a-zåäöé]+")
# What the question asks for, from its interrogative phrase (grammar, not topic words).
_ASKS = [
    ("number", re.compile(r"\b(hur (många|mycket|stor|stort|stora|länge|ofta|mkt|gammal|gammalt|gamla|lång|långt|långa)|"
                          r"vilket belopp|hur hög[ta]?|how (many|much|long|often|large)|what share|vad kostar|"
                          r"vilken andel)\b", re.IGNORECASE)),
    # "När" and "when" ask at the start of the question or of one of its parts ("… och när?"); inside
    # a clause they join it ("Hur gammal måste man vara när personalen gått hem?").
    ("date", re.compile(r"(?:^|[,;:]\s*|\b(?:och|samt|eller|sedan|sen|från|till|and|since)\s+)(?:när|when)\b|"
                        r"\b(?:vilket år|vilken dag|vilket datum|vilken vecka|vilken månad|"
                        r"(?:what|which) (?:year|day|date|week|month))\b", re.IGNORECASE)),
    ("name", re.compile(r"\b(vem|vilka personer|vems|who|whom)\b", re.IGNORECASE)),
]  # fmt: skip


@dataclass(frozen=True)
class Weights:
    """Defaults: the Settings' calibrated values (evals/calibration.json)."""

    coverage: float = Settings.model_fields["evidence_coverage_weight"].default
    typed: float = Settings.model_fields["evidence_type_weight"].default

    def combine(self, dense: float, coverage: float, typed: bool) -> float:
        """A sentence's evidence score from its three signals."""
        return dense + self.coverage * coverage + self.typed * typed


@dataclass(frozen=True)
class ScoredSentence:
    n: int  # passage number, 1-based
    order: int  # reading order across the passages
    text: str
    lead_in: str  # the heading the sentence stands under
    dense: float
    coverage: float
    typed: bool
    score: float
    is_item: bool = False  # a list item or table row
    source: str = ""  # the passage's document
    position: int = -1  # the passage's chunk's place in its document (a list may go on in the next)
    # Its passage's scope factor (1.0 in the question's region and period), times OTHER_PERIOD_FACTOR
    # when the sentence speaks of other years than the one asked (assistant.scope).
    scope: float = 1.0
    elsewhere: bool = False  # it names only other places than the question asks about
    # Its passage is about a place the question names (a municipality's own document, or a passage
    # naming it); True when the question names no place.
    local: bool = True
    # It belongs to a section's outline (see `_outline_units`): a list of the parts below a heading.
    outline: bool = False

    @property
    def scoped_score(self) -> float:
        """The evidence score weighed by its scope (the passage's, and the sentence's own years): how
        passages are chosen (assistant.retrieval.rerank_by_sentences) and the answer's best sentence
        (assistant.selection)."""
        return self.score * self.scope


def question_terms(question: str) -> set[str]:
    """Stems of the words that can carry the question's subject (no stopwords, no interrogatives)."""
    return {stem(w) for w in tokens(question) if len(w) > 1 and not is_stopword(w) and w not in QUESTION_WORDS}


# "Hur länge" and "hur ofta" ask for a number too, but are answered by a period or a frequency ("Planen
# gäller 2024–2027", "varje år"): of them an answer need give no quantity.
_ASKS_DURATION = re.compile(r"\b(?:hur (?:länge|ofta)|how (?:long|often))\b", re.IGNORECASE)


def asks_quantity(question: str) -> bool:
    """The question asks how many or how much of something, not how long or how often."""
    return "number" in asked_kinds(question) and not _ASKS_DURATION.search(question)


def asked_kinds(question: str) -> frozenset[str]:
    """Every kind the question asks for: "Hur stora är stipendierna och när ska man söka?" asks for
    a number and a date, and a sentence holding either answers part of it."""
    return frozenset(kind for kind, pattern in _ASKS if pattern.search(question))


_HOLDS = {
    "number": lambda sentence: bool(_NUMBER.search(sentence)),
    "date": lambda sentence: bool(YEAR.search(sentence) or _DATE.search(sentence)) or names_a_time(sentence),
    "name": lambda sentence: bool(_NAME.search(sentence)),
}


def holds_kind(sentence: str, kind: str) -> bool:
    """The sentence holds a thing of `kind` ("number", "date" or "name")."""
    return _HOLDS[kind](sentence)


def gives_kind(text: str, kind: str, question: str = "") -> bool:
    """Whether an answer's text gives a thing of `kind`, judged more strictly than a sentence's
    evidence (`holds_kind`): a number is a quantity, not a year, decade or date ("Bruksmuseet …
    1700-talet" gives no number of visitors), and may be a numeral ("fjorton turer"); a date may be a
    month, a weekday, a season or a time of day ("den sista lördagen i september"); a name is one
    the `question` does not name ("Ansvarig nämnd: kultur- och fritidsnämnden" names nobody)."""
    if kind == "number":
        return holds_quantity(text)
    if kind == "date":
        return holds_kind(text, kind) or names_a_time(text)
    if kind == "name":
        named = {stem(word) for word in tokens(question)}
        # A list item's first word starts its sentence too ("- Under 2024 anställs …" names nobody),
        # and a table row's column headers are capitalised, not names ("… – Uppgift: 46 miljoner").
        row = parse_row(without_marker(text))
        read = "; ".join([row.label, *row.cells.values()]) if row is not None else without_marker(text)
        return any(stem(match.group(0)) not in named for match in _NAME.finditer(read))
    return holds_kind(text, kind)


# "Hur många besökare hade …?": what is counted stands right after "hur många"; "Vem är bibliotekschef
# i …?": the role whose holder is asked for stands right after "vem är".
_HOW_MANY = re.compile(r"\bhur många\s+(.*)", re.IGNORECASE)
_WHO_IS = re.compile(r"\bvem\s+(?:är|var|blir|blev)\s+(.*)", re.IGNORECASE)
COUNTED_PHRASE_WORDS = 2  # "Hur många regionala kulturverksamheter …": an adjective may come first


def counted_terms(question: str) -> set[str]:
    """Stems of what a Swedish "hur många …?" counts: the words right after it, up to the first
    stopword ("Hur många besökare hade …" → besök). Empty when a stopword comes first, a function
    word or a word the index judges generic ("hur många av dem", "hur många kom dit", "hur många
    gånger"): then nothing is named that an answer must count."""
    match = _HOW_MANY.search(question)
    return _leading_phrase(match.group(1)) if match else set()


def role_terms(question: str) -> set[str]:
    """Stems of the role a Swedish "vem är …?" asks the holder of ("Vem är ordförande i nämnden?" →
    ordför); empty when a stopword or a name comes first ("Vem är Karin Sjöberg?", "vem är det som
    …"): then no role is named that an answer must name."""
    match = _WHO_IS.search(question)
    # A role is named however common its word ("chef"): only a function word ends it.
    return _leading_phrase(match.group(1), is_function_word) if match and match.group(1)[:1].islower() else set()


def _leading_phrase(text: str, ends: Callable[[str], bool] = is_stopword) -> set[str]:
    """Stems of the first words of `text`, up to the first word that `ends` it."""
    phrase = set()
    for word in tokens(text)[:COUNTED_PHRASE_WORDS]:
        if ends(word):
            break
        phrase.add(stem(word))
    return phrase


def names_any(terms: set[str], text: str) -> bool:
    """Whether `text` names one of the word stems `terms`: the word itself, an inflection or a
    compound that ends with it ("folkbibliotek" for "bibliotek")."""
    words = {stem(word) for word in tokens(text)}
    return any(term_matches(term, words) or ends_a_compound(term, words) for term in terms)


def names_the_kind(terms: set[str], text: str) -> bool:
    """Whether `text` names one of the word stems `terms` as what it is: the word itself, an
    inflection (a word it begins) or a compound that ends with it ("kulturchef" for "chef"); not a
    shorter word that begins it ("bibliotek" is no "bibliotekschef": a compound names its kind last)."""
    words = {stem(word) for word in tokens(text)}
    return any(term in words or any(w.startswith(term) for w in words) or ends_a_compound(term, words) for term in terms)


def holds_type(sentence: str, kinds: frozenset[str]) -> bool:
    """The sentence holds one of the asked-for kinds."""
    return any(holds_kind(sentence, kind) for kind in kinds)


def term_matches(term: str, words: set[str]) -> bool:
    """Same stem, or one a prefix of the other (inflection, "bibliotek"/"biblioteksplan")."""
    if term in words:
        return True
    return len(term) >= MIN_PREFIX and any(
        len(w) >= MIN_PREFIX and (w.startswith(term) or term.startswith(w))
        for w in words
    )


def coverage(terms: set[str], words: set[str], idf: Callable[[str], float]) -> float:
    """IDF-weighted share of `terms` found among `words` (1.0 for a question without terms).

    A term found only as a shorter word that begins it ("kulturbåt" in "kultur") is worth no more
    than that word's own IDF: the shorter word says less than the term asked for."""
    total = sum(idf(t) for t in terms)
    if total <= 0:
        return 1.0
    return sum(_found_weight(t, words, idf) for t in terms) / total


def ends_a_compound(term: str, words: set[str]) -> bool:
    """A longer word ends with the term: Swedish compounds name their kind last ("folkbibliotek")."""
    return any(len(word) > len(term) and word.endswith(term) for word in words)


def _found_weight(term: str, words: set[str], idf: Callable[[str], float]) -> float:
    """The term's IDF when a sentence word is it, begins with it, or is a compound it ends
    ("folkbibliotek" for "bibliotek": Swedish compounds name their kind last); else that of the most
    specific shorter word it begins with (see `term_matches` for the prefix rule); 0 when none matches."""
    if term in words:
        return idf(term)
    if len(term) < MIN_PREFIX:
        return 0.0
    prefixes = [w for w in words if len(w) >= MIN_PREFIX and (w.startswith(term) or term.startswith(w))]
    if any(w.startswith(term) for w in prefixes):
        return idf(term)
    if ends_a_compound(term, words):
        return idf(term)
    return min(idf(term), max((idf(w) for w in prefixes), default=0.0))


def _title_words(title: str) -> str:
    """The words of its document's title a sentence is read under, as under its heading: in
    "Kulturprogram för Karlskrona kommun" every sentence speaks of Karlskrona ("Kulturskolan erbjuder
    musik, dans …"). Not its years: a document's period is weighed by its scope (assistant.scope)."""
    return " ".join(word for word in tokens(title) if not any(char.isdigit() for char in word))


def _is_item(sentence: str) -> bool:
    """A list item or a table row ("label – header: value; ...")."""
    return sentence.startswith(("-", "•", "*", "–")) or bool(re.match(r"^\d+[.)]\s", sentence)) or (
        " – " in sentence[:80] and ": " in sentence
    )


def _outline_units(units: list[tuple[int, str, str]], passages: list[Passage]) -> set[int]:
    """The units of a section's outline: a list introduced by a heading of the passage's path ("3
    Prioriterade områden:" over "- 3.1 Barn och unga" … in the chunk of 3.1, or "§ 44 Kulturpris:"
    over "- Beslut" in the chunk of § 44; ingest.chunking lists a section's subsections so). It names
    sections, and says nothing of what the passage's own heading and the document's title are about,
    so their words are not lent to it: "Vad innebär Kulturgarantin …?" is answered by 3.1's text."""
    found: set[int] = set()
    listing, passage = False, 0
    for order, (n, text, _) in enumerate(units):
        headings = set(passages[n - 1].chunk.heading_path)
        if n != passage:  # a list does not go on into the next passage
            listing, passage = False, n
        if is_introduction(text):
            listing = text.rstrip().rstrip(":").strip() in headings
        elif not _is_item(text):
            listing = False
        if listing:
            found.add(order)
    return found


def _states(sentence: str) -> bool:
    """A sentence, list item, table row, introduction or label with its value ("Ansökan: senast 31
    januari"), which its section heading is about ("Fyra konstnärer antas per år." under "Residens på
    Tjärö"). A bare line ("Noder med länskarta", a figure's caption; "Verksamhet | Huvudman", a
    table's header; "Dnr RB 2024/0187") is not: it answers only with its own words, so the heading's
    words are not lent to it. A dated line is a statement ("Antagen av regionfullmäktige den 26
    november 2019, § 112" on a title page): a date says when something the document is about happened."""
    return (
        ends_sentence(sentence) or is_introduction(sentence) or ": " in sentence or _is_item(sentence)
        or bool(_DATE.search(sentence))
    )  # fmt: skip


class EvidenceScorer:
    """Scores the sentences of retrieved passages against a question.

    A sentence takes its passage's similarity to the question. Scoring each sentence with its own
    vector was measured and dropped: it cost 3-5 s per question on 2 CPU cores (uncached) and
    answered no better (shared devset 0.650 vs 0.675 full-answer accuracy).
    """

    def __init__(self, weights: Weights = Weights(), find_places: Callable[[str], Iterable[str]] = lambda text: ()):
        self.weights = weights
        # The places (the region's municipalities) a text names: a sentence about another place than
        # the one asked about is not in the question's topic, however many of its words it shares.
        self.find_places = find_places

    def score(
        self, question: str, passages: list[Passage], idf: Callable[[str], float], absent: Iterable[str] = ()
    ) -> list[ScoredSentence]:
        """Every sentence of the passages, best first; `idf` weighs the question's words (index
        statistics). `absent` are question words no indexed passage holds: no sentence can match
        them, so they are left out of coverage, which then measures what the documents could show
        (assistant.answerability weighs their absence on its own)."""
        kinds = asked_kinds(question)
        terms = question_terms(question) - {stem(word) for word in absent}
        units: list[tuple[int, str, str]] = []
        for n, passage in enumerate(passages, start=1):
            lead_in = passage.chunk.heading_path[-1] if passage.chunk.heading_path else passage.chunk.title
            sentences = split_sentences(sanitize_passage(passage.chunk.text))
            for sentence, following in zip(sentences, [*sentences[1:], ""]):
                # A list's short items and introduction ("Fyra fokusområden:") are kept: a list stays whole.
                whole = len(sentence.split()) >= MIN_SENTENCE_WORDS or _is_item(sentence) or is_introduction(sentence)
                if whole and sentence.strip() != lead_in and not is_header_of(sentence, following):
                    units.append((n, sentence, lead_in))
        if not units:
            return []
        titles = {n: _title_words(passage.chunk.title) for n, passage in enumerate(passages, start=1)}
        outline = _outline_units(units, passages)
        asked_places = set(self.find_places(question))
        local = {
            n: not asked_places or bool(asked_places & set(passage.chunk.municipalities))
            for n, passage in enumerate(passages, start=1)
        }
        # A statement reads its document's title and its heading (an outline's line only the title).
        lent = [titles[n] if i in outline else f"{titles[n]} {lead_in}" for i, (n, _, lead_in) in enumerate(units)]
        read = [f"{lent[i]} {text}" if _states(text) else text for i, (_, text, _) in enumerate(units)]
        words = [{stem(w) for w in tokens(unit)} for unit in read]
        coverages = [coverage(terms, unit_words, idf) for unit_words in words]
        topical = self._topical(question, terms, units, words, idf)
        scored = []
        for order, (n, text, lead_in) in enumerate(units):
            similarity = passages[n - 1].dense
            cov = coverages[order]
            # The asked-for kind counts only in the question's topic: the sentence, its heading or the
            # sentence before it shares a question word ("Ansökan görs senast den 31 mars." after the
            # stipend; "Museet började ... 1899" after "Blekinge museum ..."). A protocol's signature
            # line holds names, yet says nothing about what was asked.
            in_topic = bool(topical[order] or (order > 0 and units[order - 1][0] == n and topical[order - 1]))
            typed = in_topic and topical[order] is not None and holds_type(text, kinds)
            total = self.weights.combine(float(similarity), cov, typed)
            scored.append(ScoredSentence(
                n, order, text, lead_in, float(similarity), cov, typed, total, _is_item(text),
                passages[n - 1].chunk.source, passages[n - 1].chunk.position,
                passages[n - 1].scope * sentence_time_factor(question, text), topical[order] is None, local[n],
                order in outline,
            ))  # fmt: skip
        # Of sentences scoring alike, the passage's own text before its section's outline.
        return sorted(scored, key=lambda s: (s.score, not s.outline), reverse=True)

    def _topical(
        self,
        question: str,
        terms: set[str],
        units: list[tuple[int, str, str]],
        words: list[set[str]],
        idf: Callable[[str], float],
    ) -> list[bool | None]:
        """Per unit: whether it shares a question word besides the places the question names (a
        place's name alone says nothing of what is asked about it), or None when it names only other
        places than those asked about ("Olofströms kulturskola har 310 elever." for Sölvesborg)."""
        asked = set(self.find_places(question))
        place_terms = {stem(w) for place in asked for w in tokens(place)}
        subject = (terms - place_terms) or terms
        topical: list[bool | None] = []
        for (_, text, lead_in), unit_words in zip(units, words):
            # Only a question naming a place has other places: no unit is searched for names otherwise.
            named = set(self.find_places(f"{lead_in} {text}")) if asked else set()
            if named and not named & asked:
                topical.append(None)
            else:
                topical.append(coverage(subject, unit_words, idf) > 0)
        return topical


def idf_function(document_frequency: dict[str, int], documents: int) -> Callable[[str], float]:
    """Smoothed inverse document frequency; a word the index lacks weighs like the rarest word."""
    top = math.log((documents + 1) / 0.5)

    def idf(term: str) -> float:
        df = document_frequency.get(term)
        return top if df is None else math.log((documents + 1) / (df + 0.5))

    return idf
