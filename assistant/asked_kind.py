"""Whether an answer gives what its question asks for: a number to "how many" or "how much", a date
to "when", a name the question does not already name to "who" (the interrogatives are read by
assistant.evidence). The early-refusal route refuses a question whose answer would give none
(routes.Question.lacks_the_asked_kind), and the selection looks past its scope preference for the
one sentence that gives it (`select_giving_the_asked_kind`)."""

from __future__ import annotations

from collections.abc import Callable

from assistant.evidence import (
    ScoredSentence, asked_kinds, asks_quantity, counted_terms, gives_kind, names_any, names_the_kind,
    role_terms,
)  # fmt: skip


def judged_kinds(question: str, plain_place_question: bool) -> frozenset[str]:
    """The kinds of thing an answer must give: a number, date or name for how many, how much, when
    or who; none for a plain place question ("Vilken kultur finns i X?"), or for how long and how
    often (a period or "varje år" answers those)."""
    kinds = asked_kinds(question)
    if not kinds or plain_place_question:
        return frozenset()
    if "number" in kinds and not asks_quantity(question):
        return frozenset()
    return kinds


def gives_the_asked_kind(sentences: list[ScoredSentence], kinds: frozenset[str], question: str) -> bool:
    """One of the sentences gives one of the asked kinds."""
    counted = counted_terms(question)  # empty for an English question: it has no "hur många"
    role = role_terms(question)  # nor "vem är"
    return any(_gives(sentence, kind, question, counted, role) for sentence in sentences for kind in kinds)


def _gives(sentence: ScoredSentence, kind: str, question: str, counted: set[str], role: set[str]) -> bool:
    """The sentence gives a thing of the asked kind; a quantity must count what the question
    counts ("Hur många konserter …?" is not answered by "61 000 besökare"), and a name must hold the
    role asked about ("Vem är bibliotekschef …?" is not answered by "Läsvår Blekinge"), in the
    sentence or the heading it stands under. A sentence naming only other places than the question
    asks about gives nothing ("Olofströms kulturskola har 310 elever" for Sölvesborg's)."""
    if sentence.elsewhere or not gives_kind(sentence.text, kind, question):
        return False
    read = f"{sentence.lead_in} {sentence.text}"
    if kind == "number" and counted:
        return names_any(counted, read)
    return kind != "name" or not role or names_the_kind(role, read)


def select_giving_the_asked_kind(
    ranked: list[ScoredSentence],
    select: Callable[[list[ScoredSentence]], list[ScoredSentence]],
    kinds: frozenset[str],
    question: str,
) -> list[ScoredSentence]:
    """The selection `select` makes of `ranked`, which keeps to its best sentence's scope (the current
    plan before the last period's follow-up). When that leaves out what the question asks for and the
    sentence with the strongest evidence, ranked lower only for its scope, gives it, the selection
    keeps to that sentence's scope instead ("När bildades Konstresurscentrum Blekinge?": only the
    follow-up of 2020–2023 says when)."""
    chosen = select(ranked)
    if not ranked or not kinds or gives_the_asked_kind(chosen, kinds, question):
        return chosen
    strongest = max(ranked, key=lambda sentence: sentence.score)
    if not gives_the_asked_kind([strongest], kinds, question):
        return chosen
    return select([sentence for sentence in ranked if sentence.scope == strongest.scope])
