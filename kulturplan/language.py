"""The Swedish language layer: sentences, words, stems, stopwords, numbers, names and the question's language.

Every other module calls these functions, so that "a sentence" or "a content word" means the same
thing in ingestion, retrieval, the grounding check and the answer. Sentences come from NLTK's Punkt
model for Swedish (it knows "bl.a.", "t.ex." and "ca"), which llama-index-core ships in its NLTK
cache; stems from Snowball's Swedish stemmer (PyStemmer); stopwords from bm25s's Swedish and English
lists, the interrogatives, the words a region profile registers (its own name, which every passage
shares) and the generic words of the loaded index (kulturplan.vocabulary: its domain's words and the
words that frame a question, judged from its statistics); how common a word is in Swedish at large,
and whether a question is English, from wordfreq's word frequencies.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_SWEDISH

SWEDISH_STOPWORDS = frozenset(STOPWORDS_SWEDISH)
# Interrogatives and their helpers (grammar): they say what kind of answer is wanted, not its subject.
QUESTION_WORDS = frozenset({
    "vilken", "vilket", "vilka", "vad", "hur", "var", "varifrån", "vart", "när", "vem", "vems", "varför",
    "what", "which", "who", "whom", "whose", "how", "why", "where", "when",
})  # fmt: skip

# Function words and interrogatives (grammar, closed classes); the words of the documents' domain and
# the words that frame a question are judged from statistics by the registered vocabulary.
STOPWORDS: set[str] = set(STOPWORDS_SWEDISH) | set(STOPWORDS_EN) | QUESTION_WORDS
_stopwords_lock = threading.Lock()
# The index's judgement of generic words (kulturplan.vocabulary.CorpusVocabulary); None before an
# index is loaded, when only grammar's stopwords count.
_vocabulary = None

_TOKEN = re.compile(r"\w+", re.UNICODE)
# Names keep their hyphens ("Blekinge-Kronoberg"); budget tokens count punctuation too.
_NAME_WORD = re.compile(r"[\w-]+")
_BUDGET_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[ \u00a0]\d{3})*(?:[.,]\d+)?")
_CITATION = re.compile(r"\s*\[(\d+)\]")


def add_stopwords(words: Iterable[str]) -> None:
    """Register domain words (a region's own name) that every passage shares; additive and idempotent."""
    with _stopwords_lock:
        STOPWORDS.update(word.lower() for word in words)


def use_vocabulary(vocabulary) -> None:
    """Judge generic words with `vocabulary` (an object with `is_generic(word)`, built from the loaded
    index's statistics) from now on, in this process; None judges by grammar alone."""
    global _vocabulary
    _vocabulary = vocabulary


# --- words and stems ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def stemmer():
    """The one Swedish Snowball stemmer (also handed to the BM25 index)."""
    import Stemmer

    return Stemmer.Stemmer("swedish")


def stem(word: str) -> str:
    return stemmer().stemWord(word.lower())


def without_diacritics(word: str) -> str:
    bare = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in bare if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Lower-cased words."""
    return _TOKEN.findall(text.lower())


def word_matches(text: str) -> list[re.Match[str]]:
    """Words with their positions, hyphenated names kept whole."""
    return list(_NAME_WORD.finditer(text))


def budget_tokens(text: str) -> list[str]:
    """Words and punctuation marks: a tokenizer-free stand-in for counting a chunk's size."""
    return _BUDGET_TOKEN.findall(text)


def content_terms(text: str) -> set[str]:
    """Stems of the words that carry meaning (no stopwords, no generic words: see `is_stopword`)."""
    return {stem(word) for word in tokens(text) if len(word) > 1 and not word.isdigit() and not is_stopword(word)}


def general_frequency(word: str) -> float:
    """How common a word is in Swedish at large, on wordfreq's Zipf scale (0: unseen, 3: once per
    million words, 6: "man", "finns"). It tells a word the documents lack that only frames a question
    ("innebär", "betalar") from one that names what is asked for ("kulturbudgeten", "konsthall")."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "sv")


def is_swedish_function_word(word: str) -> bool:
    """A Swedish function word or interrogative: grammar alone, without the English stop-words and
    the registered names `is_function_word` and `is_stopword` add (names tell table rows apart)."""
    return word.lower() in SWEDISH_STOPWORDS or word.lower() in QUESTION_WORDS


def is_function_word(word: str) -> bool:
    """A function word or an interrogative (the stop-word list), whatever the index's vocabulary."""
    return word.lower() in STOPWORDS


def is_stopword(word: str) -> bool:
    """A function word, an interrogative, a registered word, or a word the index's vocabulary judges
    generic (its domain's words, the words that frame a question)."""
    word = word.lower()
    if word in STOPWORDS:
        return True
    vocabulary = _vocabulary
    return vocabulary is not None and vocabulary.is_generic(word)


def numbers(text: str) -> set[str]:
    """Numbers with thousands separators removed ("16 000" -> "16000")."""
    return {re.sub(r"[ \u00a0]", "", n).replace(",", ".") for n in _NUMBER.findall(text)}


def names(text: str) -> set[str]:
    """Stems of capitalised words that do not start a sentence: names of places and organisations."""
    return {stem(word) for word in name_words(text)}


def name_words(text: str) -> list[str]:
    """The capitalised words that do not start a sentence, as written."""
    return [
        word
        for sentence in split_sentences(text)
        for word in _TOKEN.findall(sentence)[1:]
        if word[:1].isupper() and len(word) > 2
    ]


# --- sentences ----------------------------------------------------------------------------------------
def _nltk_data_dir() -> Path | None:
    """llama-index-core's bundled NLTK data (it holds Punkt's Swedish model), found without importing it."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "_static" / "nltk_cache"
    return folder if folder.is_dir() else None


# Standard Swedish abbreviations (Språkrådet's list) that Punkt's trained model lacks; without them
# "ca. 300" or "s. 12" would end a sentence.
EXTRA_ABBREVIATIONS = ("ca", "kr", "nr", "dvs", "d.v.s", "s", "fr.o.m", "inkl", "exkl", "milj", "jfr", "st", "tel", "e.d", "enl", "ang", "sek")


@lru_cache(maxsize=1)
def _punkt():
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    folder = _nltk_data_dir()
    if folder is not None and str(folder) not in nltk.data.path:
        nltk.data.path.append(str(folder))
    tokenizer = PunktTokenizer("swedish")
    tokenizer._params.abbrev_types.update(EXTRA_ABBREVIATIONS)  # no public API for adding abbreviations
    return tokenizer


# A list item's or a numbered heading's marker at the start of a line ("1. ", "2) ", "- ", "• ").
# Punkt takes "1." for a sentence of its own; the marker belongs to the sentence after it.
_LINE_MARKER = re.compile(r"^\s*(?:[-•*–]\s+)?\d{1,3}[.)]\s+|^\s*[-•*–]\s+")


def ends_sentence(text: str) -> bool:
    """Whether the text ends with a sentence's closing mark (".", "!" or "?")."""
    return text.rstrip().endswith((".", "!", "?"))


# Swedish cardinal numerals, a closed class of the grammar like the stopwords ("sju medarbetare",
# "fjorton turer"). Written out here: num2words writes "förtio" for "fyrtio". "En" and "ett" are left
# out, being the articles too.
_NUMERAL_UNITS = ("två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio")
_NUMERAL_TENS = ("tjugo", "trettio", "fyrtio", "femtio", "sextio", "sjuttio", "åttio", "nittio")
NUMERALS = frozenset({
    *_NUMERAL_UNITS, *_NUMERAL_TENS, "tio", "elva", "tolv", "tretton", "fjorton", "femton", "sexton",
    "sjutton", "arton", "nitton", "hundra", "tusen",
    *(tens + unit for tens in _NUMERAL_TENS for unit in ("en", "ett", *_NUMERAL_UNITS)),  # "tjugofem"
})  # fmt: skip
# What makes digits (`_NUMBER`) no quantity: a year ("2022"), a decade or century
# ("1800-talet"), a period ("2024–2027", "läsåret 2022/23"), a date ("31 januari") or a paragraph ("§ 71").
_YEAR_LIKE = re.compile(r"(?:1[5-9]|20)\d\d")
_AFTER_A_YEAR = re.compile(_YEAR_LIKE.pattern + r"\s*[–/-]\s*$")  # "2022/" before "23"
_NEXT_WORD = re.compile(r"\s+(\w+)")


# The seasons' forms that say when ("på våren", "i höstas"); compounds are left out, "vård" being one.
_SEASONS = frozenset({
    "vår", "våren", "våras", "sommar", "sommaren", "somras", "höst", "hösten", "höstas", "vinter", "vintern", "vintras",
})  # fmt: skip
_CLOCK = re.compile(r"\b(?:kl\.?|klockan)\s*\d{1,2}\b|\b\d{1,2}[.:]\d\d\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def month_names() -> frozenset[str]:
    """The Swedish names of the months (babel's CLDR data)."""
    from babel.dates import get_month_names

    return frozenset(get_month_names("wide", locale="sv").values())


@lru_cache(maxsize=1)
def day_names() -> tuple[str, ...]:
    """The Swedish names of the weekdays (babel's CLDR data)."""
    from babel.dates import get_day_names

    return tuple(get_day_names("wide", locale="sv").values())


def holds_quantity(text: str) -> bool:
    """Whether the text gives a quantity: digits that are no year, decade, period, date or paragraph
    number, or a Swedish numeral ("tolv konserter")."""
    for match in _NUMBER.finditer(text):
        before, after = text[: match.start()], text[match.end() : match.end() + 12]
        in_period = _AFTER_A_YEAR.search(before) or after.startswith("-tal")
        next_word = _NEXT_WORD.match(after)
        in_date = next_word is not None and next_word.group(1).lower() in month_names()
        if not (_YEAR_LIKE.fullmatch(match.group()) or "§" in before[-2:] or in_period or in_date):
            return True
    return any(word in NUMERALS for word in tokens(text))


def names_a_time(text: str) -> bool:
    """Whether the text says when in words a year or date does not hold: a month ("i september"), a
    weekday ("på onsdagskvällar"), a season ("på hösten") or a time of day ("kl. 7–22")."""
    words = tokens(text)
    return (
        any(word in month_names() or word in _SEASONS or word.startswith(day_names()) for word in words)
        or bool(_CLOCK.search(text))
    )


def is_introduction(line: str) -> bool:
    """A line that introduces what follows it, a list, a table or a sentence ("Tre mål:")."""
    return line.rstrip().endswith(":")


def is_list_item(line: str) -> bool:
    """A line that starts with a list marker ("1. ", "2) ", "- ", "• ")."""
    return bool(_LINE_MARKER.match(line))


def as_a_written_question(question: str, capitalized: frozenset[str] = frozenset()) -> str:
    """The question as it would be written with care: a capital first letter, the words the documents
    write with one (`capitalized`, lower-cased: names) and a question mark ("vem fick kulturpriset
    i blekinge" → "Vem fick kulturpriset i Blekinge?"). The embedding model reads case and
    punctuation, and a question typed in haste should find what the same question written out does."""
    question = _TOKEN.sub(lambda m: m[0].capitalize() if m[0] in capitalized else m[0], question.strip())
    if not question:
        return question
    question = question[0].upper() + question[1:]
    return question if question[-1] in "?.!" else question + "?"


# A word inside a sentence: after a word or a comma and one space; not after a full stop, a number
# ("§ 14 Beslut") or a table's separators ("År: 2024; Ansvarig: …").
_INSIDE_A_SENTENCE = re.compile(r"(?<=[^\W\d_,] |, )[^\W\d_][\w-]*")


def capitalized_words(texts: Iterable[str]) -> frozenset[str]:
    """The words (lower-cased) that the texts, inside a sentence, write with a capital first letter
    and never without: names ("Blekinge", "Elin"). A sentence's first word says nothing, and a word
    also written in lower case is a common word that a name holds ("kultur" in "Kultur i vården")."""
    capital: set[str] = set()
    lower: set[str] = set()
    for text in texts:
        for word in _INSIDE_A_SENTENCE.findall(text):
            if not word.isupper():  # "SÖK KULTURSTÖD": a heading in capitals, not a name
                (capital if word[0].isupper() else lower).add(word.lower())
    return frozenset(capital - lower)


def without_marker(line: str) -> str:
    """The line without its list marker ("• Tillgänglighet." -> "Tillgänglighet.")."""
    return _LINE_MARKER.sub("", line, count=1).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage or an answer; list items and lines stay separate units, and a numbered
    item or heading keeps its number ("1. Fler deltagare.", not "1." and "Fler deltagare."). A name
    alone on its line is read with the line below it (`with_names_joined`)."""
    sentences: list[str] = []
    for line in with_names_joined(text.splitlines()):
        sentences += [line[start:end].strip() for start, end in sentence_spans(line)]
    return [s for s in sentences if s]


# A person's name on a line of its own: two or three capitalised words and nothing else.
_BARE_NAME = re.compile(r"^\s*[A-ZÅÄÖÉ][\w-]+(?: [A-ZÅÄÖÉ][\w-]+){1,2}\s*$")


def with_names_joined(lines: list[str]) -> list[str]:
    """The lines with a name standing alone on its line joined to the line below it, which says who
    the person is ("Karin Sjöberg" over "Ordförande, regionala utvecklingsnämnden": a foreword's
    signature, a list of contacts). Alone, the name is too short to be a sentence, and its title names
    nobody; a list item or an introduction below it is no title, nor is a name in a list of three or
    more names, one a line (a jury, a board)."""
    listed = _names_listed(lines)
    joined: list[str] = []
    index = 0
    while index < len(lines):
        line, following = lines[index], lines[index + 1] if index + 1 < len(lines) else ""
        if (
            _BARE_NAME.match(line)
            and index not in listed
            and following.strip()
            and not (is_list_item(following) or is_introduction(following))
        ):
            joined.append(f"{line.strip()} {following.strip()}")
            index += 2
        else:
            joined.append(line)
            index += 1
    return joined


def _names_listed(lines: list[str]) -> set[int]:
    """The indexes of lines in a run of at least three bare names, one a line."""
    listed: set[int] = set()
    run: list[int] = []
    for index, line in enumerate([*lines, ""]):
        if _BARE_NAME.match(line):
            run.append(index)
            continue
        if len(run) >= 3:
            listed.update(run)
        run = []
    return listed


def sentence_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of one line, for text that is still streaming in."""
    if not line.strip():
        return []
    spans = list(_punkt().span_tokenize(line))
    marker = _LINE_MARKER.match(line)
    while marker and len(spans) > 1 and spans[0][1] <= marker.end():
        spans[:2] = [(spans[0][0], spans[1][1])]
    return spans


# --- citations and language -------------------------------------------------------------------------
def citations_in(text: str) -> list[int]:
    return [int(n) for n in _CITATION.findall(text)]


def strip_citations(text: str) -> str:
    return _CITATION.sub("", text).strip()


def is_english(text: str) -> bool:
    """True when a question is more likely English than Swedish: the sum over its words of how much
    more common each is in English than in Swedish at large (wordfreq's Zipf scale is a log10
    frequency, so the sum is a unigram log-likelihood ratio). Digits count for neither; a tie (names
    only, "Kulturtrappan?") stays Swedish, the documents' language."""
    from wordfreq import zipf_frequency

    words = [word for word in tokens(text) if not word.isdigit()]
    return sum(zipf_frequency(word, "en") - zipf_frequency(word, "sv") for word in words) > 0
