"""Whether an answer gives what its question asks for: a number to "how many" or "how much", a date
to "when", a name the question does not already name to "who" (the interrogatives are read by
assistant.evidence). The early-refusal route refuses a question whose answer would give none
(routes.Question.lacks_the_asked_kind), and the selection looks past its scope preference for the
one sentence that gives it (`select_giving_the_asked_kind`)."""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.evidence import (
    ScoredSentence, asked_kinds, asks_quantity, counted_terms, gives_kind, names_any, names_the_kind,
    role_terms,
)  # fmt: skip
from assistant.table_rows import parse_row


# A passive verb's agent ("kan beslutas av kulturchefen", "drivs av hembygdsföreningen") says who
# acts as a name does, though a role or a body is written in lower case. (Not after -is: "delvis av".)
_PASSIVE_AGENT = re.compile(r"\b\w+[^\Wis]s\s+av\s+\w", re.IGNORECASE)

# "Vad kostar …?" asks a price: a sum of money answers it, not any number ("1 450 elever").
_ASKS_PRICE = re.compile(r"\b(?:kosta(?:r|de)?|cost(?:s|ed)?)\b", re.IGNORECASE)
_MONEY = re.compile(r"\d\s*(?:kr\b|kronor|miljon|miljard|mnkr|mkr|tkr|sek\b|:-)", re.IGNORECASE)


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
    asks about gives nothing ("Olofströms kulturskola har 310 elever" for Sölvesborg's). A price
    is a sum of money ("Vad kostar kulturskolan?" is not answered by "1 450 elever"). Who acts
    ("Vem får besluta om …?", no role asked) is said by a passive verb's agent too. A section's
    outline names parts of a document, numbered ("3.1 Folkbiblioteken 2018"), and gives nothing."""
    if sentence.elsewhere or sentence.outline:
        return False
    if _names_who_acts(sentence, kind, role):
        return True
    if not gives_kind(sentence.text, kind, question):
        return False
    read = f"{sentence.lead_in} {sentence.text}"
    if kind == "number" and _ASKS_PRICE.search(question):
        return bool(_MONEY.search(sentence.text))
    if kind == "number" and counted:
        return names_any(counted, read)
    return kind != "name" or not role or names_the_kind(role, read)


def _names_who_acts(sentence: ScoredSentence, kind: str, role: set[str]) -> bool:
    """A passive verb's agent answering "who" when no role is asked ("kan beslutas av kulturchefen")."""
    return kind == "name" and not role and bool(_PASSIVE_AGENT.search(sentence.text))


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
    follow-up of 2020–2023 says when). Else the best-ranked sentence of the best sentence's own
    passage that gives it joins the selection: "Avgiften är 600 kronor per termin." shares few of the
    question's words, but stands in the passage the answer comes from; a section's outline chosen
    beside it leaves."""
    chosen = select(ranked)
    if not ranked or not kinds:
        return chosen
    if gives_the_asked_kind(chosen, kinds, question):
        return _about_the_answer(chosen, kinds, question)
    strongest = max(ranked, key=lambda sentence: sentence.score)
    if gives_the_asked_kind([strongest], kinds, question):
        return select([sentence for sentence in ranked if sentence.scope == strongest.scope])
    orders = {sentence.order for sentence in chosen}  # a sentence's place in the reading order is its identity
    best = next((sentence for sentence in ranked if sentence.order in orders), None)
    if best is None:
        return chosen
    giving = next((
        sentence for sentence in ranked
        if sentence.n == best.n and sentence.typed and sentence.order not in orders
        and gives_the_asked_kind([sentence], kinds, question)
    ), None)  # fmt: skip
    if giving is None:
        return chosen
    # A section's outline chosen beside it named only parts of the document (`_gives`).
    return sorted([*(s for s in chosen if not s.outline), giving], key=lambda sentence: sentence.order)


def _about_the_answer(chosen: list[ScoredSentence], kinds: frozenset[str], question: str) -> list[ScoredSentence]:
    """The chosen sentences of the passages holding a thing of an asked kind, with the others of those
    passages (the context); a sentence of another passage holding none only shares the question's
    words ("När startade Blekinge museum?" is not answered by "Ett gemensamt intresse finns att starta
    ett museum i Ronneby"). Any such thing counts here, also one not counting what is asked ("Juryn
    består av sju unga" answers "Hur många ledamöter …?"), and so does a passive verb's agent ("kan
    beslutas av kulturchefen"). List items and table rows stay: they were chosen as a whole."""
    role = role_terms(question)
    answering = {
        s.n for s in chosen for kind in kinds
        if gives_kind(s.text, kind, question) or (not s.elsewhere and _names_who_acts(s, kind, role))
    }  # fmt: skip
    return [s for s in chosen if s.n in answering or s.is_item or parse_row(s.text) is not None]
