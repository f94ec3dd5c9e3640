"""Which of the retrieved sentences make the answer: one selection for the extractive answer and
for what the LLM reads, so that their facts agree.

The sentences come ranked by how well they answer (assistant.evidence). The best one leads; a table
row brings the rows of its table that name the question's values (assistant.table_rows); a list
item, or a list's introduction, brings the whole list; otherwise the few sentences scoring within
a margin of the best join it (margin and count calibrated by evals/calibrate.py), with the one
sentence standing between two of them, and a question asking two kinds of thing ("Vem … och när?")
gets the sentence beside the answer holding the other.
No sentence joins from a passage further from the question's region or period than the best one's,
nor from a passage not about the place the question names when the best one's is.
"""

from __future__ import annotations

import re

from assistant.evidence import ScoredSentence, asked_kinds, holds_kind, term_matches
from assistant.table_rows import Row, parse_row, rows_naming_the_question
from kulturplan.language import is_introduction, stem, tokens

MAX_ITEMS = 30  # a list or table the best sentence belongs to is given whole, up to this many items
# "Vilka fokusområden ...?" asks for several things of a kind: the noun after the plural interrogative.
_ASKED_PLURAL = re.compile(r"\b(?:vilka|which)\s+(\w+)", re.IGNORECASE)
ANSWER_PASSAGES = 3  # the passages of the best sentences, where a list introducing the asked noun is looked for


def select_sentences(
    ranked: list[ScoredSentence], margin: float, max_sentences: int, question: str = ""
) -> list[ScoredSentence]:
    """The answer's sentences in reading order: the best one; when it is a table row, the rows of
    its table that name what the question names (assistant.table_rows); the whole list it belongs to
    (or introduces, when it ends in a colon); otherwise the few others that score nearly as well,
    or, when one of those is in a list, that whole list."""
    if not ranked:
        return []
    # The best sentence weighed by its passage's scope, as the passages were chosen
    # (assistant.retrieval.rerank_by_sentences), and the answer keeps to that scope: "När var förslaget
    # till kulturplan 2020–2023 ute på remiss?" is not answered with the next plan's consultation dates.
    best = max(ranked, key=lambda s: s.scoped_score)
    ranked = [s for s in ranked if s.scope >= best.scope]
    # Likewise for a place the question names: when the best sentence's passage is about it, the
    # answer keeps to such passages. "Hur många nomineringar kom in till Karlskrona kommuns
    # kulturpris?" is not answered with the regional prize's nominations as well.
    if best.local:
        ranked = [s for s in ranked if s.local]
    if (row := parse_row(best.text)) is not None:
        return _table_rows(ranked, best, row, question)
    if in_list(best):
        return _whole_list(ranked, best)
    # The best sentence is no list here, so no section outline's line joins it: an outline joins only
    # as the list the question asks for (below).
    chosen = [s for s in ranked[:max_sentences] if s.score >= best.score - margin and not s.outline]
    # A list (or its introduction) in the best sentence's passage, scoring nearly as well, follows
    # it whole: "Programmet har fyra fokusområden." is answered together with the four. (Table rows
    # are no such list: the rows naming the question's values answer, see above.)
    listed = next((s for s in chosen if s.n == best.n and in_list(s) and parse_row(s.text) is None), None)
    # A question asking for several things of a kind ("Vilka utvecklingsområden ...?") is answered by
    # the list its best passages introduce with that word ("Sex utvecklingsområden:").
    listed = listed or _list_naming_the_asked(ranked, question)
    if listed is not None:
        return sorted(dict.fromkeys([best, *_whole_list(ranked, listed)]), key=lambda s: s.order)
    chosen += _missing_parts(ranked, chosen, question, max_sentences)
    chosen += _between(ranked, chosen)
    return sorted(chosen, key=lambda s: s.order)


def _between(ranked: list[ScoredSentence], chosen: list[ScoredSentence]) -> list[ScoredSentence]:
    """The one sentence standing between two chosen sentences of a passage: a text goes on from
    sentence to sentence ("… via appen Biblio. Du kan också streama film via Cineasterna … De
    digitala tjänsterna är gratis …"), and the middle one shares the question's words least."""
    orders = {s.order for s in chosen}
    return [
        s for s in ranked
        if s.order not in orders and s.order - 1 in orders and s.order + 1 in orders
        and all(c.n == s.n for c in chosen if abs(c.order - s.order) == 1)
    ]  # fmt: skip


def _missing_parts(
    ranked: list[ScoredSentence], chosen: list[ScoredSentence], question: str, max_sentences: int
) -> list[ScoredSentence]:
    """For a question asking several kinds of thing ("Hur stora är stipendierna och när ska man
    söka?"), the in-topic sentence nearest the answer in its passages for each kind the chosen
    sentences lack: the parts of one question are about one subject, and a text states them together
    ("... två stipendier på 10 000 kronor. Ansökan görs senast den 31 mars."), even when the later
    sentence shares none of the question's words."""
    kinds = asked_kinds(question)
    if len(kinds) < 2:
        return []
    added: list[ScoredSentence] = []
    for kind in sorted(kinds):
        picked = chosen + added
        if len(picked) >= max_sentences or any(holds_kind(s.text, kind) for s in picked):
            continue
        # `typed` marks a sentence in the question's topic holding one of its kinds (assistant.evidence).
        candidates = [s for s in ranked if s.typed and s not in picked and holds_kind(s.text, kind)]
        distances = {s: min(abs(s.order - c.order) for c in picked if c.n == s.n) for s in candidates
                     if any(c.n == s.n for c in picked)}  # fmt: skip
        if distances:
            added.append(min(distances, key=distances.get))
    return added


def _list_naming_the_asked(ranked: list[ScoredSentence], question: str) -> ScoredSentence | None:
    """The introduction of a list, in the passages of the best sentences, that names the noun the
    question asks several of; None when the question asks for no such thing or no list names it."""
    match = _ASKED_PLURAL.search(question)
    if match is None:
        return None
    asked = stem(match.group(1).lower())
    passages = list(dict.fromkeys(s.n for s in ranked))[:ANSWER_PASSAGES]
    for sentence in ranked:
        if sentence.n in passages and is_introduction(sentence.text) and parse_row(sentence.text) is None:
            if term_matches(asked, {stem(w) for w in tokens(sentence.text)}):
                return sentence
    return None


def in_list(sentence: ScoredSentence) -> bool:
    """A list item, or a list's introduction (ending in a colon)."""
    return sentence.is_item or is_introduction(sentence.text)


def _whole_list(ranked: list[ScoredSentence], anchor: ScoredSentence) -> list[ScoredSentence]:
    """The list `anchor` belongs to (or introduces) in its passage: introduction and items."""
    same_passage = sorted((s for s in ranked if s.n == anchor.n), key=lambda s: s.order)
    if anchor.is_item:
        start = _list_start(same_passage, anchor)  # never after the anchor
        intro = [s for s in same_passage if s.order < anchor.order and is_introduction(s.text)][-1:]
    else:
        # An introduction's list follows it: items above it belong to another list (a section's
        # outline above "Följande verksamheter får stöd:").
        start, intro = anchor.order, [anchor]
    # The list ends where another one is introduced ("Fokusområden:" after the last goal).
    end = next((s.order for s in same_passage if s.order > anchor.order and is_introduction(s.text)), None)
    items = [s for s in same_passage if s.is_item and s.order >= start and (end is None or s.order < end)]
    if end is None and items:
        items += _items_continued(ranked, anchor)
    if not items and not anchor.is_item:
        # "Visionen för kulturen i Blekinge är:" introduces the sentence after it, not a list.
        items = [s for s in same_passage if s.order > anchor.order][:1]
    chosen = intro + items[:MAX_ITEMS]
    return sorted(dict.fromkeys(chosen), key=lambda s: s.order)


def _items_continued(ranked: list[ScoredSentence], anchor: ScoredSentence) -> list[ScoredSentence]:
    """The items a list running to the end of its chunk has in the next chunk of its section, when
    that chunk was retrieved too: the items up to the next introduction (a long list spans chunks)."""
    if anchor.position < 0:  # the chunk's place is unknown
        return []
    following = sorted(
        (s for s in ranked if s.source == anchor.source and s.lead_in == anchor.lead_in and s.position == anchor.position + 1),
        key=lambda s: s.order,
    )
    items = []
    for sentence in following:
        if is_introduction(sentence.text):
            break
        if sentence.is_item:
            items.append(sentence)
    return items


def _table_rows(ranked: list[ScoredSentence], best: ScoredSentence, row: Row, question: str) -> list[ScoredSentence]:
    """The rows of the best row's table among the retrieved passages (a table may span chunks),
    those naming the question's values, in reading order."""
    table = []
    for sentence in sorted(ranked, key=lambda s: (s.n, s.order)):
        parsed = parse_row(sentence.text) if sentence.source == best.source else None
        if parsed is not None and parsed.headers == row.headers:
            table.append((sentence, parsed))
    chosen = rows_naming_the_question(question, [parsed for _, parsed in table])
    return [table[i][0] for i in chosen][:MAX_ITEMS]


def _list_start(sentences: list[ScoredSentence], best: ScoredSentence) -> int:
    """Reading-order position where the list holding (or following) `best` begins."""
    start = best.order
    for sentence in reversed([s for s in sentences if s.order < best.order]):
        if not sentence.is_item:
            break
        start = sentence.order
    return start


def prompt_sentences(ranked: list[ScoredSentence], chosen: list[ScoredSentence], total: int) -> list[ScoredSentence]:
    """What the LLM reads: the extractive answer's selection `chosen`, then the next best sentences
    of the same documents, up to `total` (more when a whole list or table is selected), in reading
    order. Sentences of other documents stay out: another period's plan or another body's prize
    reads like the answer to a small model, which then states it (the selection already weighed them)."""
    sources = {s.source for s in chosen}
    more = [s for s in ranked if s not in chosen and (not sources or s.source in sources)][: max(0, total - len(chosen))]
    return sorted(chosen + more, key=lambda s: s.order)
