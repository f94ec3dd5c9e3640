"""Input checks and prompt-injection defence.

Instructions inside a question or a document are never obeyed. Questions: the instruction part is
removed and only a remaining question about the plan is answered. Documents: sentences that address
an AI model are removed from passages before any generator sees them. The grounding check after
generation is the last line: text the passages do not support never reaches the user.
"""

from __future__ import annotations

import re
import unicodedata

from kulturplan.language import split_sentences


class QuestionError(ValueError):
    """A question that cannot be answered as given; the message is shown to the user (Swedish)."""


_INSTRUCTION = re.compile(
    r"("
    r"\b(ignorera|strunta i|glöm|bortse)\b.{0,40}\b(instruktion\w*|regler|regel|ovan|tidigare|allt|direktiv\w*)"
    r"|\bignore\b.{0,40}\b(instructions?|rules|above|previous|prior)\b"
    r"|\b(disregard|forget)\b.{0,40}\b(instructions?|rules|above|previous)\b"
    r"|\bsystem ?(prompt|meddelande|message)\b"
    r"|\b(du är nu|från och med nu är du|you are now|act as|agera som|låtsas att|pretend)\b"
    r"|\b(skriv|write|compose|hitta på)\b.{0,30}\b(dikt|poem|sång|song|haiku|berättelse|story|vits|skämt|joke)\b"
    r"|\b(svara|answer|reply)\b.{0,20}\b(bara|endast|only)\b.{0,20}\b(med|with)\b"
    r"|\b(avslöja|reveal|visa)\b.{0,30}\b(prompt|instruktioner|instructions)\b"
    r")",
    re.IGNORECASE,
)
# In documents, only sentences that speak to a model ("AI", "assistent", "språkmodell") count.
_ADDRESSES_MODEL = re.compile(r"\b(AI|assistent(en)?|språkmodell(en)?|chatbot(ten)?|language model|LLM)\b", re.IGNORECASE)


# Terminal colour codes and other escape sequences pasted along with a question ("\x1b[31m").
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")


def _visible(text: str) -> str:
    """The text without escape sequences and control characters (NUL, bell, ...): noise, not words."""
    text = _ANSI_ESCAPE.sub("", text)
    return "".join(" " if unicodedata.category(ch).startswith("C") and not ch.isspace() else ch for ch in text)


def validate_question(question: str, max_chars: int) -> str:
    cleaned = " ".join(_visible(question or "").split())
    if not cleaned:
        raise QuestionError("Skriv en fråga om kulturplanen.")
    if len(cleaned) > max_chars:
        raise QuestionError(
            f"Frågan är för lång ({len(cleaned)} tecken). Korta ner den till högst {max_chars} tecken."
        )
    return cleaned


def is_instruction(sentence: str) -> bool:
    return bool(_INSTRUCTION.search(sentence))


def strip_instructions(question: str) -> tuple[str, bool]:
    """The question without instruction sentences, and whether any were removed."""
    parts = re.split(r"(?<=[.!?:;])\s+|\s+(?=(?:och|and|men|but)\s+(?:ignorera|ignore|skriv|write)\b)", question)
    kept = [p for p in parts if p and not is_instruction(p)]
    removed = len(kept) != len([p for p in parts if p])
    if removed:
        # What an instruction leaves behind ("PS.", "OBS:") is no part of the question.
        kept = [p for p in kept if len(re.findall(r"\w+", p)) > 1] or kept
    return " ".join(kept).strip(), removed


def sanitize_passage(text: str) -> str:
    """A passage without sentences that try to instruct the model reading it."""
    sentences = split_sentences(text)
    kept = [s for s in sentences if not (is_instruction(s) or (_ADDRESSES_MODEL.search(s) and _imperative(s)))]
    return " ".join(kept) if len(kept) != len(sentences) else text


def _imperative(sentence: str) -> bool:
    return bool(re.search(r"\b(ska|måste|svara|skriv|säg|ange|must|should|say|answer)\b", sentence, re.IGNORECASE))
