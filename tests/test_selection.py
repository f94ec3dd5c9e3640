"""The extractive answer's selection of sentences: tables answered by the rows naming the question's
values, lists whole (no models, no store)."""

from __future__ import annotations

from dataclasses import replace

from assistant.evidence import ScoredSentence
from assistant.selection import select_sentences
from assistant.table_rows import parse_row, rows_naming_the_question

ROWS = [
    "Riksteatern Blekinge – Huvudman: annan huvudman; Inom samverkansmodellen: ja",
    "Musik i Blekinge – Huvudman: Region Blekinge; Inom samverkansmodellen: ja",
    "Blekinge Läns Bildningsförbund – Huvudman: annan huvudman; Inom samverkansmodellen: nej",
    "Dans i Sydost – Huvudman: Region Blekinge; Inom samverkansmodellen: ja",
]


def sentence(text: str, n: int, order: int, score: float, source: str = "plan.pdf") -> ScoredSentence:
    return ScoredSentence(n, order, text, "Verksamheter", 0.6, 1.0, False, score, True, source)


def test_a_row_is_read_into_its_label_and_cells_and_prose_is_no_row():
    row = parse_row(ROWS[1])
    assert row.label == "Musik i Blekinge"
    assert row.cells == {"Huvudman": "Region Blekinge", "Inom samverkansmodellen": "ja"}
    assert parse_row("Regionen har tre mål: deltagande, villkor och samverkan.") is None
    assert parse_row("Verksamhet | Huvudman | Inom samverkansmodellen") is None


def test_rows_are_told_apart_by_values_not_by_the_column_header_the_question_repeats():
    rows = [parse_row(text) for text in ROWS]
    assert rows_naming_the_question("Vilka verksamheter har Region Blekinge som huvudman?", rows) == [1, 3]
    # nothing in the question singles out a row: the whole table
    assert rows_naming_the_question("Vilka verksamheter finns i tabellen?", rows) == [0, 1, 2, 3]


def test_a_table_split_over_two_passages_is_answered_with_its_matching_rows_in_reading_order():
    # The first-ranked row does not hold the asked value; the rows that do come from both passages.
    ranked = [
        sentence(ROWS[0], 1, 0, 1.17), sentence(ROWS[2], 1, 2, 1.17), sentence(ROWS[1], 1, 1, 1.16),
        sentence(ROWS[3], 2, 5, 1.13), sentence("Tio verksamheter har regionala uppdrag.", 2, 4, 0.9),
        sentence(ROWS[1].replace("Musik i", "Annan plans"), 3, 9, 1.1, source="annan_plan.pdf"),
    ]  # fmt: skip
    chosen = select_sentences(ranked, 0.08, 3, "Vilka verksamheter har Region Blekinge som huvudman?")
    assert [s.text for s in chosen] == [ROWS[1], ROWS[3]]


def test_the_llm_reads_the_selection_then_the_next_best_under_the_passages_own_numbers():
    from types import SimpleNamespace

    from assistant.prompts import build_messages
    from assistant.selection import prompt_sentences
    from kulturplan.region import load_profile

    prose = [
        ScoredSentence(1, 0, "Regionen ger stöd till länets bibliotek.", "Bibliotek", 0.5, 0.2, False, 0.6, False, "a.md"),
        ScoredSentence(3, 5, "Blekingemodellen ger scenkonst två gånger varje år.", "Skolan", 0.7, 1.0, False, 1.2, False, "b.md"),
        ScoredSentence(3, 6, "Modellen bekostas av regionen och kommunerna.", "Skolan", 0.7, 0.5, False, 0.9, False, "b.md"),
    ]  # fmt: skip
    ranked = sorted(prose, key=lambda s: s.score, reverse=True)
    chosen = prompt_sentences(ranked, select_sentences(ranked, 0.08, 3, "Vad är Blekingemodellen?"), total=2)
    assert [s.text for s in chosen] == [prose[1].text, prose[2].text]  # the best, then the next best
    # the next best of another document stays out, however many places are left
    more = prompt_sentences(ranked, select_sentences(ranked, 0.08, 1, "Vad är Blekingemodellen?"), total=3)
    assert [s.source for s in more] == ["b.md", "b.md"]
    passage = lambda section: SimpleNamespace(chunk=SimpleNamespace(section=section, title="T"))  # noqa: E731
    request = SimpleNamespace(passages=[passage("Bibliotek"), passage("Annat"), passage("Skolan")],
                              question="Vad är Blekingemodellen?", english=False)  # fmt: skip
    user = build_messages(request, load_profile(), sentences=chosen)[-1]["content"]
    assert "[3] (Skolan) Blekingemodellen ger scenkonst två gånger varje år. Modellen bekostas" in user
    assert "[1]" not in user and "[2]" not in user  # passages with nothing chosen are left out


def test_an_llm_answer_gets_the_selected_facts_it_left_out_and_no_repeats():
    # The LLM said the first half of a two-sentence definition; the second sentence, with its
    # number, is added verbatim and cited. A sentence the answer already carries is not repeated.
    from assistant.completion import missing_selection
    from assistant.generators.base import GenerationRequest
    from assistant.grounding import Grounder
    from assistant.types import Passage
    from kulturplan.chunks import Chunk

    text = ("Språkstegen är ett utvecklingsarbete för små barns språk i Blekinge. "
            "Biblioteken och barnhälsovården ger föräldrar till barn mellan 0 och 3 år böcker och råd.")  # fmt: skip
    passage = Passage(Chunk("d", "plan.md", "Plan", "md", 0, text, ("Språkstegen",), 0, len(text)), 1.0, dense=0.7)
    first, second = text.split(". ")
    ranked = [
        ScoredSentence(1, 0, first + ".", "Språkstegen", 0.7, 1.0, False, 1.2, False, "plan.md"),
        ScoredSentence(1, 1, second, "Språkstegen", 0.7, 0.9, False, 1.15, False, "plan.md"),
    ]
    request = GenerationRequest("Vad är Språkstegen?", [passage], evidence=ranked,
                                selection=select_sentences(ranked, 0.08, 3, "Vad är Språkstegen?"))
    grounder = Grounder([passage])
    said = grounder.check("Språkstegen är ett utvecklingsarbete för små barns språk i Blekinge [1].")
    added = missing_selection(grounder, request, said)
    assert len(added) == 1 and "Kulturplanen nämner också:" in added[0]
    assert "barnhälsovården" in added[0] and "0 och 3 år" in added[0] and "[" in added[0]
    assert "utvecklingsarbete" not in added[0]
    # Said in full: nothing to add.
    grounder = Grounder([passage])
    said = grounder.check(first + " [1].") + " " + grounder.check(second + " [1].")
    assert missing_selection(grounder, request, said) == []



def test_a_question_asking_for_several_of_a_kind_gets_the_list_that_introduces_that_word():
    # The best sentence only talks about the areas; the list introduced with the asked noun scores
    # lower (its items lack the question's other words) but is the answer. A question asking for no
    # such set keeps the plain selection.
    prose = ScoredSentence(1, 0, "Varje område har ett mål för 2027 och åtaganden.", "Utvecklingsområden", 0.8, 1.0, False, 1.3, False, "p")
    intro = ScoredSentence(1, 1, "Prioriterade utvecklingsområden:", "Utvecklingsområden", 0.8, 0.5, False, 1.05, False, "p")
    items = [ScoredSentence(1, 2 + i, f"- {area}", "Utvecklingsområden", 0.8, 0.4, False, 1.0, True, "p")
             for i, area in enumerate(("Barn och unga", "Kulturarv", "Läsfrämjande"))]  # fmt: skip
    other = ScoredSentence(2, 9, "Sex mål följs upp varje år av nämnden.", "Uppföljning", 0.7, 0.6, False, 1.0, False, "q")
    ranked = [prose, intro, *items, other]
    chosen = select_sentences(ranked, 0.08, 3, "Vilka utvecklingsområden prioriteras i kulturplanen?")
    assert [s.text for s in chosen] == [prose.text, intro.text, *(s.text for s in items)]
    assert [s.text for s in select_sentences(ranked, 0.08, 3, "Vad har varje område för mål?")] == [prose.text]


def test_a_copied_source_sentence_behind_stray_words_is_shown_as_written(index_vocabulary):
    # A small model wrote "Det finns" before a sentence it copied; the check shows the sentence.
    # ("finns", among the commonest words of Swedish, is a framing word for any index.)
    from assistant.grounding import Grounder
    from assistant.types import Passage
    from kulturplan.chunks import Chunk

    text = ("En viktig del av museets arbete handlar om arkeologi, bland annat i Ronneby. "
            "Museet har en egen pedagog.")  # fmt: skip
    passage = Passage(Chunk("d", "plan.md", "Plan", "md", 0, text, ("Museet",), 0, len(text)), 1.0)
    grounder = Grounder([passage])
    shown = grounder.check("Det finns en viktig del av museets arbete handlar om arkeologi, bland annat i Ronneby [1].")
    assert shown == "En viktig del av museets arbete handlar om arkeologi, bland annat i Ronneby [1]."
    # A sentence of the model's own that merely ends like a source sentence is left alone.
    grounder = Grounder([passage])
    own = "Enligt planen och enligt museet självt gäller att museet har en egen pedagog [1]."
    assert grounder.check(own) in (own, None)


def test_a_source_sentence_copied_with_a_changed_name_is_shown_as_the_source_writes_it():
    from assistant.grounding import Grounder
    from assistant.types import Passage
    from kulturplan.chunks import Chunk

    text = ("Musik i Blekinge och Blekinge Läns Bildningsförbund samordnar också utbudet i kommunerna för "
            "Kultur i vården och Kultur i omsorgen. Museet hade 142 000 besök 2022. Målet är 165 000 besök 2027.")  # fmt: skip
    passage = Passage(Chunk("d", "plan.md", "Plan", "md", 0, text, ("Vården",), 0, len(text)), 1.0)
    changed = ("Kultur i Blekinge och Blekinge Läns Bildningsförbund samordnar utbudet i kommunerna för "
               "Kultur i vården och Kultur i omsorgen [1].")  # fmt: skip
    assert Grounder([passage]).check(changed).startswith("Musik i Blekinge och Blekinge Läns Bildningsförbund samordnar också")
    # An exact copy stays as it is, even when another source sentence is only a few words away.
    assert Grounder([passage]).check("Museet hade 142 000 besök 2022 [1].") == "Museet hade 142 000 besök 2022 [1]."


def test_a_term_found_only_as_a_more_common_shorter_word_counts_for_that_word_alone():
    from assistant.evidence import coverage

    idf = {"kulturbåt": 3.0, "karlskron": 1.0, "kultur": 0.1, "bibliotek": 1.0, "biblioteksplan": 2.5}.get
    terms = {"kulturbåt", "karlskron"}
    about_the_boat = coverage(terms, {"kulturbåt", "trafiker", "skärgård"}, idf)
    about_the_town = coverage(terms, {"karlskron", "kultur", "stad"}, idf)
    assert about_the_boat == 0.75 and about_the_town == (1.0 + 0.1) / 4.0
    # a longer sentence word holding the term is the term (a compound or an inflection)
    assert coverage({"bibliotek"}, {"biblioteksplan"}, idf) == 1.0
    assert coverage({"biblioteksplan"}, {"bibliotek"}, idf) == 1.0 / 2.5
    # a compound that ends in the term is a kind of it ("folkbibliotek" is a library); a short term
    # is no compound's head ("stöd" in "arrangörsstöd" could be anything's end)
    assert coverage({"bibliotek"}, {"folkbibliotek", "karlshamn"}, idf) == 1.0
    assert coverage({"stöd"}, {"arrangörsstöd"}, lambda term: 1.0) == 0.0


def test_an_introduction_with_no_list_after_it_brings_the_sentence_it_introduces():
    from dataclasses import replace

    def prose(text, order, score):
        return replace(sentence(text, 1, order, score), is_item=False)

    intro = prose("Visionen för kulturen i Blekinge är:", 0, 0.74)
    vision = prose("Blekinge – en kulturregion där alla kan delta, skapa och växa.", 1, 0.74)
    after = prose("Visionen uttrycker att kulturen ska vara en självklar del av livet.", 2, 0.5)
    chosen = select_sentences([intro, vision, after], 0.0, 1, "Vad är visionen?")
    assert [s.text for s in chosen] == [intro.text, vision.text]


def _item(text: str, n: int, order: int, score: float, position: int, is_item: bool = True) -> ScoredSentence:
    return ScoredSentence(n, order, text, "4.1 Principer", 0.6, 0.5, False, score, is_item, "plan.pdf", position)


def test_a_list_ends_where_another_is_introduced_and_goes_on_in_its_sections_next_chunk():
    # A section's first chunk holds the first items; a list of subsection headings follows them; the
    # next chunk of the same section holds the last items, each with a sentence that explains it.
    intro = _item("Kulturpolitiken utgår från följande principer:", 1, 0, 1.0, 7, is_item=False)
    first = [_item(f"• {p}.", 1, 1 + i, 0.8, 7) for i, p in enumerate(("Konstnärlig frihet", "Tillgänglighet"))]
    outline = [_item("4 Principer och roller:", 1, 3, 0.5, 7, is_item=False),
               _item("- 4.1 Principer", 1, 4, 0.5, 7), _item("- 4.2 Roller", 1, 5, 0.5, 7)]  # fmt: skip
    chosen = select_sentences([intro, *first, *outline], 0.08, 3, "Vilka principer gäller?")
    assert [s.text for s in chosen] == [intro.text, *(s.text for s in first)]

    rest = [_item("• Hållbarhet.", 2, 6, 0.4, 8), _item("Turnéer samordnas för klimatets skull.", 2, 7, 0.4, 8, False),
            _item("• Minoriteter.", 2, 8, 0.4, 8), _item("Stödformer:", 2, 9, 0.3, 8, False),
            _item("- Projektbidrag", 2, 10, 0.3, 8)]  # fmt: skip
    chosen = select_sentences([intro, *first, *rest], 0.08, 3, "Vilka principer gäller?")
    assert [s.text for s in chosen] == [intro.text, *(s.text for s in first), "• Hållbarhet.", "• Minoriteter."]
    # Not from another section's chunk, nor from a chunk that does not follow.
    elsewhere = [replace_lead_in(rest[0], "5 Stöd"), replace_position(rest[2], 12)]
    assert [s.text for s in select_sentences([intro, *first, *elsewhere], 0.08, 3, "Vilka principer gäller?")] == [
        intro.text, *(s.text for s in first)
    ]


def replace_lead_in(s: ScoredSentence, lead_in: str) -> ScoredSentence:
    from dataclasses import replace

    return replace(s, lead_in=lead_in)


def replace_position(s: ScoredSentence, position: int) -> ScoredSentence:
    from dataclasses import replace

    return replace(s, position=position)


def test_a_short_item_of_a_cited_sources_list_is_kept_and_a_short_fragment_is_not():
    from assistant.grounding import Grounder
    from assistant.types import Passage
    from kulturplan.chunks import Chunk

    text = ("Kulturpolitiken utgår från följande principer:\n\n• Konstnärlig frihet och armlängds avstånd.\n\n"
            "• Tillgänglighet. Lokaler och digitala tjänster ska vara tillgängliga.\n\nBlekinge museum har 62 anställda.")  # fmt: skip
    passage = Passage(Chunk("d", "plan.md", "Plan", "md", 0, text, ("Principer",), 0, len(text)), 1.0)
    assert Grounder([passage]).check("- Tillgänglighet [1].") == "- Tillgänglighet [1]."
    assert Grounder([passage]).check("Blekinge museum [1].") is None  # no list item: a fragment
    assert Grounder([passage]).check("- Digitala tjänster [1].") is None  # in the source, but no item of its list


def _passage(text: str, heading: str, dense: float, source: str):
    from assistant.types import Passage
    from kulturplan.chunks import Chunk

    chunk = Chunk(doc_id=source, source=source, title=source, format="txt", position=0, text=text,
                  heading_path=(heading,), start=0, end=len(text))  # fmt: skip
    return Passage(chunk, 1.0, dense=dense)


def test_the_asked_for_kind_counts_only_in_the_questions_topic():
    from assistant.evidence import EvidenceScorer

    minutes = _passage("Kulturnämnden beslutar att lägga meddelandena till handlingarna.\n\nVid protokollet; Sofie Dahl",
                       "Protokoll", dense=0.41, source="protokoll.txt")  # fmt: skip
    plan = _passage("Syntolkning ska erbjudas vid fler föreställningar. Det gör främst Regionteatern Blekinge Kronoberg.",
                    "Tillgänglighet", dense=0.40, source="plan.pdf")  # fmt: skip
    scored = EvidenceScorer().score("Vem ska erbjuda syntolkning?", [minutes, plan], lambda term: 1.0)
    by_text = {s.text: s for s in scored}
    # A signature line holds a name, but neither it nor what precedes it shares a question word.
    assert not by_text["Vid protokollet; Sofie Dahl"].typed
    # No question word either, but the sentence before it is on the topic: the name counts.
    assert by_text["Det gör främst Regionteatern Blekinge Kronoberg."].typed
    assert scored[0].text.startswith("Syntolkning") and scored[1].text.startswith("Det gör")


def test_passages_are_chosen_again_by_their_best_sentence_and_keep_their_fused_order():
    from assistant.evidence import EvidenceScorer
    from assistant.retrieval import Retrieval, rerank_by_sentences

    question = "Vem ska erbjuda syntolkning?"
    filler = [_passage(f"Kulturlivet växer i länet år {n}.", "Allmänt", 0.5, f"doc{n}.txt") for n in range(4)]
    answer = _passage("Regionteatern ska erbjuda syntolkning vid föreställningar.", "Tillgänglighet", 0.45, "plan.pdf")
    older = _passage("Musik i Blekinge ska erbjuda syntolkning vid alla konserter.", "Tillgänglighet", 0.45, "old.docx")
    older = replace(older, scope=0.5)  # another period than the question's
    candidates = [*filler, older, answer]
    retrieval = Retrieval(question, filler, candidates, (), 0.0, [])
    scorer = EvidenceScorer()
    reranked = rerank_by_sentences(retrieval, lambda pool: scorer.score(question, pool, lambda term: 1.0), 6)
    sources = [p.chunk.source for p in reranked.passages]
    assert len(sources) == 4 and "plan.pdf" in sources  # sixth by fusion, its sentence answers
    assert "old.docx" not in sources  # as good a sentence, but out of scope
    assert sources[:3] == ["doc0.txt", "doc1.txt", "doc2.txt"]  # fused order kept
    # A pool no larger than the passages changes nothing.
    assert rerank_by_sentences(retrieval, lambda pool: scorer.score(question, pool, lambda t: 1.0), 4) is retrieval


def test_the_candidate_closest_in_meaning_joins_the_pool_however_late_fusion_ranks_it():
    from assistant.evidence import EvidenceScorer
    from assistant.retrieval import Retrieval, rerank_by_sentences

    question = "Vilken vision hade planen?"
    filler = [_passage(f"Planen gäller länet år {n}.", "Allmänt", 0.5, f"doc{n}.txt") for n in range(6)]
    vision = _passage("Visionen är en region där kulturen bär hela livet.", "Vision och mål", 0.8, "plan.docx")
    farther = _passage("Visionen beskrivs i en bilaga.", "Bilaga", 0.45, "bilaga.docx")
    retrieval = Retrieval(question, filler[:4], [*filler, farther, vision], (), 0.0, [])
    scorer = EvidenceScorer()
    reranked = rerank_by_sentences(retrieval, lambda pool: scorer.score(question, pool, lambda term: 1.0), 6)
    sources = [p.chunk.source for p in reranked.passages]
    assert "plan.docx" in sources and "bilaga.docx" not in sources  # eighth by fusion, first by meaning
    assert rerank_by_sentences(retrieval, lambda pool: scorer.score(question, pool, lambda t: 1.0), 4) is retrieval


def test_the_answer_keeps_to_the_year_asked_when_a_sentence_names_it():
    from assistant.evidence import EvidenceScorer
    from assistant.scope import OTHER_PERIOD_FACTOR

    question = "Hur mycket fick Blekinge museum i regionalt bidrag 2023?"
    minutes = _passage("Blekinge museum – Beviljat 2023: 18 700 000; Förslag 2024: 19 250 000",
                       "Bidrag", dense=0.55, source="protokoll.txt")  # fmt: skip
    plan = _passage("Blekinge museum – Regionalt stöd 2020 (kr): 17 400 000. Blekinge museum fick bidrag till basutställningen.",
                    "Stöd 2020", dense=0.60, source="plan.docx")  # fmt: skip
    scored = EvidenceScorer().score(question, [plan, minutes], lambda term: 1.0)
    by_text = {s.text: s for s in scored}
    assert by_text["Blekinge museum – Regionalt stöd 2020 (kr): 17 400 000."].scope == OTHER_PERIOD_FACTOR
    assert by_text["Blekinge museum – Beviljat 2023: 18 700 000; Förslag 2024: 19 250 000"].scope == 1.0
    assert by_text["Blekinge museum fick bidrag till basutställningen."].scope == 1.0  # names no year
    answer = " ".join(s.text for s in select_sentences(scored, 0.08, 5, question))
    assert "18 700 000" in answer and "17 400 000" not in answer


def test_a_question_asking_two_things_counts_a_sentence_holding_either():
    from assistant.evidence import EvidenceScorer, asked_kinds

    assert asked_kinds("Hur stora är stipendierna och när ska man söka?") == {"number", "date"}
    assert asked_kinds("Vem genomför utvärderingen och när?") == {"name", "date"}
    assert asked_kinds("Vad är Kulturtrappan?") == frozenset()
    plan = _passage("Utvärderingen görs av Kulturrådet. Arbetet ska vara klart i december 2025.",
                    "Uppföljning", dense=0.5, source="plan.md")  # fmt: skip
    scored = EvidenceScorer().score("Vem gör utvärderingen och när?", [plan], lambda term: 1.0)
    # The name answers one part; the date, after it and so in topic, answers the other.
    assert all(s.typed for s in scored)


def test_each_part_of_a_two_part_question_gets_its_sentence():
    from assistant.evidence import EvidenceScorer

    plan = _passage("Karlshamns kommun delar ut två kulturstipendier på 10 000 kronor. Ansökan görs senast den 31 mars. "
                    "Juryn består av tre personer. Kulturstipendierna delades ut första gången 1985.",
                    "Stipendier", dense=0.5, source="plan.md")  # fmt: skip
    other = _passage("Regionens kulturstipendium delas ut den 6 juni.", "Stipendier", dense=0.45, source="other.md")
    question = "Hur stora är Karlshamns kulturstipendier och när ska man söka?"
    ranked = EvidenceScorer().score(question, [plan, other], lambda term: 1.0)
    chosen = [s.text for s in select_sentences(ranked, 0.0, 3, question)]
    # The amount leads; the date stated beside it answers the second part, not a year further on that
    # shares more of the question's words, nor another document's date.
    assert chosen == ["Karlshamns kommun delar ut två kulturstipendier på 10 000 kronor.", "Ansökan görs senast den 31 mars."]
    # A question asking one thing is answered as before.
    assert [s.text for s in select_sentences(ranked, 0.0, 3, "Hur stora är Karlshamns kulturstipendier?")] == chosen[:1]


def test_a_sentence_about_another_place_than_the_one_asked_about_is_not_in_its_topic():
    from assistant.evidence import EvidenceScorer

    places = ("Sölvesborg", "Olofström")
    scorer = EvidenceScorer(find_places=lambda text: tuple(p for p in places if p in text))
    schools = _passage("Olofströms kulturskola har omkring 310 elever. Sölvesborgs kulturskola undervisar i musik.",
                       "Kulturskolor", dense=0.5, source="plan.pdf")  # fmt: skip
    figures = _passage("Sölvesborg – Invånare: 17 800", "Befolkning", dense=0.5, source="plan.pdf")
    question = "Hur många elever har kulturskolan i Sölvesborg?"
    by_text = {s.text: s for s in scorer.score(question, [schools, figures], lambda t: 1.0)}
    assert not by_text["Olofströms kulturskola har omkring 310 elever."].typed  # another municipality's number
    assert by_text["Olofströms kulturskola har omkring 310 elever."].elsewhere  # it gives no count of Sölvesborg's
    assert not by_text["Sölvesborgs kulturskola undervisar i musik."].elsewhere
    assert not by_text["Sölvesborg – Invånare: 17 800"].typed  # the place's name alone is not the topic
    # Without places, or about Olofström, the sentence answers.
    assert EvidenceScorer().score(question, [schools], lambda t: 1.0)[0].typed
    about_olofstrom = scorer.score("Hur många elever har kulturskolan i Olofström?", [schools], lambda t: 1.0)
    assert about_olofstrom[0].text.startswith("Olofströms") and about_olofstrom[0].typed


def test_the_answer_keeps_to_the_scope_of_the_question():
    """Two plans state their consultation dates alike: the question names 2020–2023, so the other
    plan's sentence (its passage's scope factor 0.7) neither leads the answer nor joins it."""
    other_plan = ScoredSentence(
        2, 5, "Förslaget var ute på remiss mellan den 14 april och den 30 juni 2023.", "Inledning",
        0.65, 0.75, True, 0.94, False, "plan_2024_2027.pdf", scope=0.7,
    )  # fmt: skip
    named_plan = ScoredSentence(
        1, 0, "Förslaget var ute på remiss från den 1 april till den 31 maj 2019.", "Inledning",
        0.67, 0.56, True, 0.91, False, "plan_2020_2023.docx",
    )  # fmt: skip
    chosen = select_sentences([other_plan, named_plan], margin=0.1, max_sentences=5, question="När var förslaget ute på remiss?")
    assert [s.text for s in chosen] == [named_plan.text]
    # Without a scope of its own the better-scoring sentence leads and the other joins within the margin.
    unscoped = select_sentences([replace(other_plan, scope=1.0), named_plan], margin=0.1, max_sentences=5)
    assert len(unscoped) == 2


def test_the_answer_keeps_to_the_passages_about_the_place_the_question_names():
    """The municipality's own minutes give its prize's nominations; the region's minutes give the
    regional prize's, nearly as well scored: they do not join the answer."""
    from assistant.evidence import EvidenceScorer

    municipal = _passage("Till priset har 19 nomineringar kommit in.", "Kommunens kulturpris", 0.74, "protokoll_kommun.txt")
    municipal = replace(municipal, chunk=replace(municipal.chunk, municipalities=("Karlskrona",)))
    regional = _passage("Till 2024 års kulturpris har 34 nomineringar kommit in.", "Regionens kulturpris", 0.70, "protokoll_region.txt")
    scorer = EvidenceScorer(find_places=lambda text: [p for p in ("Karlskrona",) if p in text])
    question = "Hur många nomineringar kom in till Karlskrona kommuns kulturpris 2024?"
    ranked = scorer.score(question, [municipal, regional], lambda term: 1.0)
    assert {s.source: s.local for s in ranked} == {"protokoll_kommun.txt": True, "protokoll_region.txt": False}
    chosen = select_sentences(ranked, margin=0.5, max_sentences=5, question=question)
    assert [s.source for s in chosen] == ["protokoll_kommun.txt"]
    # A question naming no place keeps to no place: both join within the margin.
    plain = "Hur många nomineringar kom in till kulturpriset 2024?"
    assert len(select_sentences(scorer.score(plain, [municipal, regional], lambda term: 1.0), 0.5, 5, plain)) == 2


def test_a_sections_outline_answers_only_a_question_for_the_list():
    """The chunker lists a section's subsections in its first subsection's chunk. That outline names
    the parts; the subsection's own text answers what one of them means."""
    from assistant.evidence import EvidenceScorer

    text = (
        "3 Prioriterade områden:\n- 3.1 Barn och unga – Kulturgarantin\n- 3.2 Kultur i vården\n- 3.3 Dans\n\n"
        "Kulturgarantin är länets modell för kultur i skolan. Den innebär att varje elev får en kulturupplevelse per termin."
    )
    passage = _passage(text, "3.1 Barn och unga – Kulturgarantin", 0.7, "plan.pdf")
    passage = replace(passage, chunk=replace(passage.chunk, heading_path=("3 Prioriterade områden", "3.1 Barn och unga – Kulturgarantin")))
    scorer = EvidenceScorer()

    def answer(question: str) -> list[str]:
        return [s.text for s in select_sentences(scorer.score(question, [passage], lambda t: 1.0), 0.1, 5, question)]

    meaning = answer("Vad innebär Kulturgarantin?")
    assert any("per termin" in line for line in meaning)
    assert not any(line.startswith(("- 3.", "3 Prio")) for line in meaning)
    assert answer("Vilka prioriterade områden finns?")[:2] == ["3 Prioriterade områden:", "- 3.1 Barn och unga – Kulturgarantin"]


def test_a_table_header_line_is_no_answer_of_its_own_and_the_whole_table_answers():
    from assistant.evidence import EvidenceScorer
    from assistant.table_rows import is_header_of

    rows = ["Kommun | Folkbibliotek | Besök 2018", "Karlskrona – Folkbibliotek: 8; Besök 2018: 448 000",
            "Ronneby – Folkbibliotek: 5; Besök 2018: 171 500", "Totalt – Folkbibliotek: 13; Besök 2018: 619 500"]  # fmt: skip
    assert is_header_of(rows[0], rows[1])
    assert not is_header_of("Kommun | Folkbibliotek", rows[1])  # a header lacking a row's column
    assert not is_header_of("Ronneby | 5", "Karlshamn | 4")  # rows of a table without headers
    table = _passage("\n".join(rows), "Folkbiblioteken 2018", dense=0.7, source="plan.docx")
    question = "Hur många folkbibliotek fanns det i Blekinge 2018?"
    ranked = EvidenceScorer().score(question, [table], lambda term: 1.0)
    assert rows[0] not in [s.text for s in ranked]
    # The header leads no more: the best sentence is a row, so the table's rows answer, its sum too.
    assert [s.text for s in select_sentences(ranked, 0.08, 3, question)] == rows[1:]


def test_the_selection_looks_past_its_scope_only_for_the_sentence_that_gives_what_is_asked():
    from assistant.asked_kind import select_giving_the_asked_kind

    def prose(text: str, order: int, score: float, scope: float) -> ScoredSentence:
        return ScoredSentence(1, order, text, "Konstresurscentrum", 0.6, 1.0, False, score, scope=scope)

    current = prose("Konstresurscentrum Blekinge bildades för att stärka bildkonsten.", 0, 0.80, 1.0)
    older = prose("Konstresurscentrum Blekinge bildades den 1 januari 2023.", 1, 0.93, 0.75)  # 0.70 weighed
    weaker_older = replace(older, score=0.70)

    question, when = "När bildades Konstresurscentrum Blekinge?", frozenset({"date"})

    def select(ranked):
        return select_sentences(ranked, 0.05, 3, question)

    assert select([current, older]) == [current]  # the scope preference alone
    assert select_giving_the_asked_kind([current, older], select, when, question) == [older]
    # not when the sentence giving a date is not the strongest evidence, nor for a question asking no kind
    assert select_giving_the_asked_kind([current, weaker_older], select, when, question) == [current]
    assert select_giving_the_asked_kind([current, older], select, frozenset(), "Vad gör centret?") == [current]


def prose(text: str, n: int, order: int, score: float) -> ScoredSentence:
    return ScoredSentence(n, order, text, "Digitala tjänster", 0.6, 0.5, False, score, False, f"doc{n}.md")


def test_the_one_sentence_between_two_chosen_sentences_of_a_passage_joins_them():
    biblio = prose("Med ditt lånekort kan du låna e-böcker via appen Biblio.", 1, 0, 0.90)
    film = prose("Du kan också streama film via Cineasterna.", 1, 1, 0.60)
    free = prose("De digitala tjänsterna är gratis för dig som har lånekort.", 1, 2, 0.88)
    after = prose("Biblioteken har öppet på lördagar.", 1, 3, 0.50)
    other = prose("Lånekortet gäller i hela länet.", 2, 4, 0.87)
    ranked = sorted([biblio, film, free, after, other], key=lambda s: -s.score)

    chosen = select_sentences(ranked, margin=0.05, max_sentences=3, question="Vilka digitala tjänster ingår?")
    assert chosen == [biblio, film, free, other]  # in reading order; no sentence after the last
    # The last sentence of one passage and the first of the next are no sentences of one text.
    far = replace(free, n=2, order=2, source="doc2.md")
    chosen = select_sentences(sorted([biblio, film, far, other], key=lambda s: -s.score), 0.05, 3, "Vilka tjänster?")
    assert film not in chosen


def under(heading: str, text: str, n: int, order: int, score: float, typed: bool = True) -> ScoredSentence:
    """A sentence of passage `n` under `heading`, its passage's dense similarity 0.6, coverage 1."""
    return ScoredSentence(n, order, text, heading, 0.6, 1.0, typed, score)


def selector(question: str):
    """The selection of the answers' defaults (margin 0.05, three sentences) for `question`."""
    return lambda ranked: select_sentences(ranked, 0.05, 3, question)


def test_a_sentence_of_the_answer_s_own_passage_gives_what_the_selection_lacks():
    from assistant.asked_kind import select_giving_the_asked_kind

    best = under("Kulturskolan", "Karlskrona kulturskola hade 1 450 elever läsåret 2022/23.", 1, 0, 1.07)
    fee = under("Kulturskolan", "Avgiften är 600 kronor per termin för ett ämne.", 1, 1, 0.95)
    elsewhere = under("Kulturskolan", "Budgeten för kulturskolan är 38,6 miljoner kronor.", 2, 2, 0.96)
    question, price = "Vad kostar det att gå i kulturskolan?", frozenset({"number"})
    select = selector(question)

    assert select([best, elsewhere, fee]) == [best]  # a count is no price
    assert select_giving_the_asked_kind([best, elsewhere, fee], select, price, question) == [best, fee]
    # Not a sentence outside the question's topic, nor one from another passage.
    outside = replace(fee, typed=False)
    assert select_giving_the_asked_kind([best, elsewhere, outside], select, price, question) == [best]


def test_a_passage_holding_nothing_of_the_asked_kind_leaves_the_answer():
    """ "När startade Blekinge museum?": the sentence sharing the question's words in another passage,
    with no time in it, does not join the passage that says when; its context sentence does."""
    from assistant.asked_kind import select_giving_the_asked_kind

    stray = under("Museet", "Flera aktörer vill starta ett museum i Ronneby.", 1, 0, 0.95, typed=False)
    base = under("Museet", "Blekinge museum har sin bas i Karlskrona.", 2, 1, 0.93, typed=False)
    started = under("Museet", "Museet började som en museiförening 1899.", 2, 2, 0.92, typed=False)
    question, when = "När startade Blekinge museum sin verksamhet?", frozenset({"date"})
    select = selector(question)

    assert select([stray, base, started]) == [stray, base, started]
    assert select_giving_the_asked_kind([stray, base, started], select, when, question) == [base, started]
    # Any thing of the kind keeps its passage, also one not counting what is asked.
    jury = under("Juryn", "Juryn består av sju unga från länets kommuner.", 1, 0, 0.95, typed=False)
    members = under("Juryn", "Arvodet till juryns ledamöter är 500 kronor.", 2, 1, 0.93, typed=False)
    many = frozenset({"number"})
    assert select_giving_the_asked_kind([jury, members], select, many, "Hur många ledamöter har juryn?") == [jury, members]


def test_an_introductions_list_is_the_items_after_it_not_a_list_above_it():
    # A section's outline (a list of its parts) above "Följande verksamheter får stöd:" is another list.
    outline = [prose("7 Verksamheter och ekonomi:", 1, 0, 0.5), sentence("- 7.1 Verksamheter", 1, 1, 0.5),
               sentence("- 7.2 Budget", 1, 2, 0.5)]  # fmt: skip
    intro = prose("Följande verksamheter får stöd:", 1, 3, 0.9)
    items = [sentence(f"• Verksamhet {n}, regional verksamhet", 1, 4 + n, 0.6) for n in range(20)]
    chosen = select_sentences([*outline, intro, *items], 0.05, 3, "Vilka verksamheter får stöd?")
    # A long list is given whole (a remiss list has a few dozen parties).
    assert [s.text for s in chosen] == [intro.text, *(s.text for s in items)]


def test_an_item_of_a_sources_list_repeats_only_itself():
    from assistant.grounding import Grounder
    from assistant.types import Passage
    from kulturplan.chunks import Chunk

    text = "Remissvar lämnade:\n\n• Regionteatern Blekinge Kronoberg\n\n• Region Kronoberg\n\n• Region Skåne"
    grounder = Grounder([Passage(Chunk("d", "plan.md", "Plan", "md", 0, text, ("Remiss",), 0, len(text)), 1.0)])
    assert grounder.check("- Regionteatern Blekinge Kronoberg [1]") is not None
    # Its words were all said, in the item before, but it is an item of its own.
    assert grounder.check("- Region Kronoberg [1]") == "- Region Kronoberg [1]"
    assert grounder.check("- Region Kronoberg [1]") is None  # the same item twice
    # A sentence that says only what was said is a repeat.
    assert grounder.check("Regionteatern Blekinge Kronoberg och Region Kronoberg [1].") is None


def test_a_sections_chunk_that_is_its_outline_answers_no_question_but_one_for_the_list():
    """A paragraph of minutes with no text of its own: its chunk lists its parts under its own heading."""
    from assistant.evidence import EvidenceScorer

    outline = "§ 44 Kulturpris 2024:\n- Sammanfattning\n- Beslut\n- Motivering"
    decision = "Kulturnämnden beslutar att tilldela Björkholmens spelmanslag kulturpriset 2024."
    passages = [_passage(decision, "Beslut", 0.7, "protokoll.txt"), _passage(outline, "§ 44 Kulturpris 2024", 0.7, "protokoll.txt")]
    scored = EvidenceScorer().score("Vem fick kulturpriset 2024?", passages, lambda t: 1.0)
    assert {s.text for s in scored if s.outline} == {"§ 44 Kulturpris 2024:", "- Sammanfattning", "- Beslut", "- Motivering"}
    chosen = select_sentences(scored, 0.2, 5, "Vem fick kulturpriset 2024?")
    assert [s.text for s in chosen] == [decision]


def test_since_when_asks_for_a_date_also_as_it_is_spoken():
    from assistant.evidence import asked_kinds

    for question in ("Sedan när är Karlskrona förvaltningsområde?", "sen när är karlskrona förvaltningsområde"):
        assert asked_kinds(question) == {"date"}
