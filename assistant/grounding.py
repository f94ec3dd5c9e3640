"""The grounding check: every sentence of an answer must be supported by the passage it cites.

It runs sentence by sentence while the answer streams, so the user never sees a claim before it is
checked. A sentence is supported when most of its content words occur in the cited passage (after
Swedish stemming), every number and every municipality in it occur there too, and, for paraphrases
with less word overlap, the embedding model finds the two close. A citation to a passage that
does not exist is removed; an unsupported citation is moved to a passage that supports the sentence,
or the sentence is dropped. Citations are renumbered in order of first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import Levenshtein

from kulturplan.language import (
    citations_in, content_terms, ends_sentence, is_list_item, names, numbers, sentence_spans, split_sentences, stem,
    strip_citations, tokens, without_marker,
)  # fmt: skip
from assistant.events import Event, EventKind, event
from assistant.types import Passage
from kulturplan.embedding import Embedder
from kulturplan.region import RegionProfile, load_profile

MIN_OVERLAP = 0.8  # share of a sentence's content words found in the passage
MIN_OVERLAP_WITH_EMBEDDING = 0.5  # lower overlap is accepted when the meaning is close ...
MIN_COSINE = 0.62  # ... by the embedding model
MIN_CLAIM_WORDS = 3  # shorter units ("Blekinge museum [1] [3]") are fragments, not answers
# A claim that is a source sentence behind at most this many words of the model's own ("Det finns en
# viktig del av museets arbete handlar om ...") is shown as the source sentence: the copy is the
# claim, the stray words only break its grammar.
MAX_STRAY_WORDS = 3
MIN_COPIED_CHARS = 30  # shorter source sentences are too common to count as copied
# A claim with at most one changed, added or dropped word per this many words of a source sentence
# (and at most MAX_STRAY_WORDS) is a copy of it, and shown as the source writes it.
WORDS_PER_CHANGE = 5
_REFUSAL = re.compile(r"(framgår inte|står inte|nämns inte|does not say|is not mentioned|not stated)", re.IGNORECASE)
# A citation written after the full stop belongs to the sentence before it: "text. [1]" -> "text [1]."
_CITATION_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+\])+)")


def normalize_citations(text: str) -> str:
    return _CITATION_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)


@dataclass
class _Source:
    passage: Passage
    terms: set[str]
    stems: set[str]
    numbers: set[str]
    municipalities: set[str]
    sentences: list[str]


@dataclass
class GroundingState:
    """What the check found so far; citations renumbered in order of first use."""

    order: list[int] = field(default_factory=list)  # original passage numbers, by new number - 1
    supporting: dict[int, list[str]] = field(default_factory=dict)  # original number -> sentences
    kept: int = 0
    dropped: int = 0
    refused: bool = False
    events: list[Event] = field(default_factory=list)
    said: set[str] = field(default_factory=set)  # content terms of the sentences kept so far
    items: set[str] = field(default_factory=set)  # the source list items kept so far, as written

    def new_number(self, original: int) -> int:
        if original not in self.order:
            self.order.append(original)
        return self.order.index(original) + 1


class Grounder:
    def __init__(
        self,
        passages: list[Passage],
        embedder: Embedder | None = None,
        trusted_frames: bool = False,
        profile: RegionProfile | None = None,
    ):
        self.embedder = embedder
        self.profile = profile or load_profile()
        # The extractive generator's own framing lines ("... om Ronneby:") carry no claim to check.
        self.trusted_frames = trusted_frames
        self.sources = [
            _Source(
                passage=p,
                terms=content_terms(p.chunk.searchable_text),
                stems={stem(w) for w in tokens(p.chunk.searchable_text)},
                numbers=numbers(p.chunk.text),
                municipalities=set(self.profile.find_municipalities(p.chunk.searchable_text)),
                sentences=split_sentences(p.chunk.text),
            )
            for p in passages
        ]
        self.state = GroundingState()
        self._passage_vectors: np.ndarray | None = None

    # --- support ---------------------------------------------------------------------------------
    def _overlap(self, claim: str, sources: list[_Source]) -> float:
        terms = content_terms(claim)
        if not terms:
            return 1.0
        found = set().union(*(s.terms | s.stems for s in sources))
        return len(terms & found) / len(terms)

    def _facts_present(self, claim: str, sources: list[_Source]) -> bool:
        """Numbers, places and names are where small models invent; they must be in the passage."""
        if not numbers(claim) <= set().union(*(s.numbers for s in sources)):
            return False
        if not set(self.profile.find_municipalities(claim)) <= set().union(*(s.municipalities for s in sources)):
            return False
        return names(claim) <= set().union(*(s.stems for s in sources))

    @staticmethod
    def _subject_present(claim: str, sources: list[_Source]) -> bool:
        """The sentence's first content word (usually what it is about) must occur in the passage.

        This stops a small model from attaching a true predicate to the wrong subject, such as
        "Blekingemodellen bidrar till att utveckla hela Blekinge" built from another passage.
        """
        words = [w for w in tokens(claim) if content_terms(w)]
        if not words:
            return True
        subject = stem(words[0])
        known = set().union(*(s.terms | s.stems for s in sources))
        # A longer form in the passage counts ("arv" / "arvet"); a shorter one does not
        # ("Blekinge" does not make a passage about "Blekingemodellen").
        return subject in known or any(term.startswith(subject) for term in known)

    def _cosine(self, claim: str, indices: list[int]) -> float:
        if self.embedder is None:
            return 0.0
        if self._passage_vectors is None:
            texts = [s.passage.chunk.text for s in self.sources]
            self._passage_vectors = self.embedder.embed_documents(texts, [s.passage.chunk.embedding_title for s in self.sources])
        claim_vector = self.embedder.embed_documents([claim], ["none"])[0]
        return max(float(np.dot(self._passage_vectors[i], claim_vector)) for i in indices)

    def supports(self, claim: str, numbers_1_based: list[int]) -> bool:
        sources = [self.sources[n - 1] for n in numbers_1_based]
        if not sources or not self._facts_present(claim, sources) or not self._subject_present(claim, sources):
            return False
        overlap = self._overlap(claim, sources)
        if overlap >= MIN_OVERLAP:
            return True
        return overlap >= MIN_OVERLAP_WITH_EMBEDDING and self._cosine(claim, [n - 1 for n in numbers_1_based]) >= MIN_COSINE

    def _best_source(self, claim: str) -> int | None:
        ranked = sorted(range(1, len(self.sources) + 1), key=lambda n: self._overlap(claim, [self.sources[n - 1]]), reverse=True)
        for n in ranked[:3]:
            if self.supports(claim, [n]):
                return n
        return None

    def _source_item(self, unit: str, cited: list[int]) -> bool:
        """A short list item that is an item of a cited source's list, as written there ("- Tillgänglighet"
        for "• Tillgänglighet. Lokaler ... ska vara tillgängliga"): a list's item, not a fragment."""
        item = without_marker(strip_citations(unit)).rstrip(" .").casefold()
        if not is_list_item(unit) or not item:
            return False
        texts = [self.sources[n - 1].passage.chunk.text for n in cited if 1 <= n <= len(self.sources)]
        lines = [line for text in texts for line in text.splitlines()]
        bodies = (without_marker(line).casefold() for line in lines if is_list_item(line))
        return any(body.rstrip(" .") == item or body.startswith(item + ". ") for body in bodies)

    # --- one unit (sentence or list item) --------------------------------------------------------
    def check(self, unit: str) -> str | None:
        """The unit with verified, renumbered citations; None when it must not be shown."""
        unit = normalize_citations(unit.strip())
        if not unit:
            return None
        claim = strip_citations(unit)
        if _REFUSAL.search(claim) and not citations_in(unit):
            self.state.refused = True
            return None
        if (self.trusted_frames and claim.endswith(":")) or (not content_terms(claim) and not numbers(claim)):
            return _without_citations(unit)  # connective text such as "Det här säger planen om X:"
        cited = citations_in(unit)
        if len(claim.lstrip("-•* ").split()) < MIN_CLAIM_WORDS and not self._source_item(unit, cited):
            self.state.events.append(event(EventKind.FRAGMENT_DROPPED, sentence=claim))
            return None
        valid = [n for n in dict.fromkeys(cited) if 1 <= n <= len(self.sources)]
        if len(valid) != len(set(cited)):
            self.state.events.append(event(EventKind.CITATION_REMOVED, numbers=sorted(set(cited) - set(valid))))
        if valid and self.supports(claim, valid):
            keep = [n for n in valid if self._overlap(claim, [self.sources[n - 1]]) > 0] or valid
        else:
            best = self._best_source(claim)
            if best is None:
                self.state.dropped += 1
                self.state.events.append(event(EventKind.SENTENCE_DROPPED, sentence=claim))
                return None
            if valid:
                self.state.events.append(event(EventKind.CITATION_MOVED, cited=valid, to=best, sentence=claim))
            keep = [best]
        if (copied := self._copied_sentence(claim, keep)) is not None:
            marker = "- " if unit.lstrip().startswith(("-", "•", "*")) else ""
            unit, claim = marker + copied, copied
        terms = content_terms(claim)
        if self._repeats(unit, claim, terms, keep):
            self.state.events.append(event(EventKind.REPEAT_DROPPED, sentence=claim))
            return None
        self.state.said |= terms
        self.state.kept += 1
        for n in keep:
            self.state.supporting.setdefault(n, [])
            self.state.supporting[n] += self._supporting_sentences(claim, n)
        return _with_citations(unit, [self.state.new_number(n) for n in keep])

    def _repeats(self, unit: str, claim: str, terms: set[str], cited: list[int]) -> bool:
        """Whether the unit says nothing the answer has not said. An item of a source's list repeats
        only itself: "Region Kronoberg" is an item of its own after "Regionteatern Blekinge Kronoberg"."""
        if self._source_item(unit, cited):
            item = without_marker(claim).rstrip(" .").casefold()
            repeated = item in self.state.items
            self.state.items.add(item)
            return repeated
        return bool(terms) and terms <= self.state.said

    def _copied_sentence(self, claim: str, cited: list[int]) -> str | None:
        """The source sentence the claim copies, as the source writes it: when only a few stray words
        stand before it, or when a few words were changed, added or left out on the way. A small
        model copying a sentence sometimes changes a name ("Kultur i Blekinge" for "Musik i
        Blekinge"), which the word-overlap check cannot see; the source's own words are shown."""
        text = _plain(claim)
        plain = {s: _plain(s) for n in cited for s in self.sources[n - 1].sentences}
        sources = {s: p for s, p in plain.items() if len(p) >= MIN_COPIED_CHARS}
        if text in sources.values():
            return None
        for sentence, copied in sources.items():
            if text.endswith(" " + copied) and len(text[: -len(copied)].split()) <= MAX_STRAY_WORDS:
                return strip_citations(sentence)
        edited = [(_words_changed(text, copied), sentence, copied) for sentence, copied in sources.items()]
        changes, closest, copied = min(edited, key=lambda found: found[0], default=(None, None, ""))
        if closest is not None and changes <= min(MAX_STRAY_WORDS, len(copied.split()) // WORDS_PER_CHANGE):
            return strip_citations(closest)
        return None

    def _supporting_sentences(self, claim: str, n: int) -> list[str]:
        terms = content_terms(claim)
        scored = [(len(terms & content_terms(s)), s) for s in self.sources[n - 1].sentences]
        best = max((score for score, _ in scored), default=0)
        return [s for score, s in scored if best and score == best]


def _words_changed(text: str, source: str) -> int:
    """How many words were changed, added or left out between two sentences (word-level edits);
    only close copies are compared, so the sum of lengths bounds the work."""
    words, source_words = text.split(), source.split()
    if abs(len(words) - len(source_words)) > MAX_STRAY_WORDS:
        return MAX_STRAY_WORDS + 1
    return Levenshtein.distance(words, source_words)


def _plain(sentence: str) -> str:
    """Lower case, single spaces, no list marker and no final stop: for comparing a claim and a source."""
    return " ".join(sentence.lower().lstrip("-•* ").split()).rstrip(".!?")


def _without_citations(unit: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", unit)


def _with_citations(unit: str, new_numbers: list[int]) -> str:
    """Replace the unit's citations by `new_numbers`, placed where the first citation stood."""
    marks = "".join(f"[{n}]" for n in new_numbers)
    match = re.search(r"\s*\[\d+\](?:\s*\[\d+\])*", unit)
    if match:
        return unit[: match.start()] + " " + marks + _without_citations(unit[match.end() :])
    stripped = unit.rstrip()
    if ends_sentence(stripped):
        return f"{stripped[:-1]} {marks}{stripped[-1]}"
    return f"{stripped} {marks}"


class StreamingChecker:
    """Feeds streamed text to the grounder one complete sentence or line at a time."""

    def __init__(self, grounder: Grounder):
        self.grounder = grounder
        self.buffer = ""
        self.at_line_start = True

    def feed(self, piece: str) -> list[str]:
        self.buffer += piece
        *complete, self.buffer = _units(self.buffer, final=False)
        return [out for out in map(self._emit, complete) if out]

    def finish(self) -> list[str]:
        rest, self.buffer = self.buffer, ""
        return [out for out in map(self._emit, _units(rest, final=True)) if out]

    def _emit(self, unit: str) -> str | None:
        ends_line = unit.endswith("\n")
        checked = self.grounder.check(unit)
        if checked is None:
            return None
        separator = "" if self.at_line_start else " "
        self.at_line_start = ends_line
        return separator + checked + ("\n" if ends_line else "")


def _units(text: str, final: bool) -> list[str]:
    """Sentences and lines (a line keeps its newline). Unless final, the last one is the unfinished rest."""
    text = normalize_citations(text)
    *lines, last = text.split("\n")
    units: list[str] = []
    for line in lines:
        parts = _sentences(line)
        if parts:
            parts[-1] += "\n"
            units += parts
    if final:
        return units + _sentences(last)
    # The last sentence of an unfinished line may still grow with the next piece: keep it raw
    # (with its trailing space), so that the next piece continues it exactly.
    spans = sentence_spans(last)
    complete = [last[start:end] for start, end in spans[:-1]]
    return units + complete + [last[spans[-1][0] :] if spans else last]


def _sentences(line: str) -> list[str]:
    return split_sentences(line)
