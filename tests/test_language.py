"""The Swedish sentence splitter: a numbered item or heading keeps its number, and a list stays a
list from the passage to the extractive answer."""

from __future__ import annotations

from assistant.evidence import EvidenceScorer
from assistant.generators.base import GenerationRequest
from assistant.generators.extractive import ExtractiveGenerator
from assistant.types import Passage
from kulturplan.chunks import Chunk
from kulturplan.language import sentence_spans, split_sentences, stem

GOALS = (
    "3. Regionala kulturpolitiska mål 2022–2025\n\n"
    "Region Blekinge har antagit tre regionala mål för planperioden:\n\n"
    "1. Fler och nya deltagare i Blekinges kulturliv. Barn och unga är en prioriterad grupp.\n\n"
    "2. Bättre villkor för professionella kulturskapare i Blekinge.\n\n"
    "3. Kulturen ska tas tillvara i fler samhällssektorer.\n"
)


def test_a_numbered_line_keeps_its_number():
    assert split_sentences(GOALS) == [
        "3. Regionala kulturpolitiska mål 2022–2025",
        "Region Blekinge har antagit tre regionala mål för planperioden:",
        "1. Fler och nya deltagare i Blekinges kulturliv.",
        "Barn och unga är en prioriterad grupp.",
        "2. Bättre villkor för professionella kulturskapare i Blekinge.",
        "3. Kulturen ska tas tillvara i fler samhällssektorer.",
    ]


def test_markers_and_years_and_abbreviations():
    line = "- 2) Stöd till ca. 300 föreningar. Mer text."
    assert [line[a:b] for a, b in sentence_spans(line)] == ["- 2) Stöd till ca. 300 föreningar.", "Mer text."]
    assert split_sentences("1998. Det året blev Karlskrona världsarv.") == ["1998.", "Det året blev Karlskrona världsarv."]
    assert split_sentences("• Punkt ett. Två.") == ["• Punkt ett.", "Två."]


def test_a_numbered_list_is_answered_whole_and_numbered():
    chunk = Chunk(doc_id="d", source="plan.pdf", title="Plan", format="pdf", position=0, text=GOALS,
                  heading_path=("3. Regionala kulturpolitiska mål 2022–2025",), start=0, end=len(GOALS))  # fmt: skip
    passages = [Passage(chunk, 1.0, dense=0.8)]
    question = "Vilka regionala mål har Region Blekinge antagit för planperioden?"
    evidence = EvidenceScorer().score(question, passages, lambda term: 1.0)
    answer = "".join(ExtractiveGenerator().stream(GenerationRequest(question, passages, evidence=evidence)))
    lines = answer.splitlines()
    assert lines[0].startswith("Region Blekinge har antagit tre regionala mål")
    assert [line[:3] for line in lines[1:]] == ["1. ", "2. ", "3. "], answer


def test_a_question_is_english_by_its_words_frequencies_in_english_and_swedish():
    from kulturplan.language import is_english

    # Questions of any length, with or without English function words the old hand list knew.
    assert is_english("Who?")
    assert is_english("How many libraries in Sölvesborg?")
    assert is_english("Are there any film festivals?")
    assert not is_english("Vad är en workshop?")  # an English loan word in a Swedish question
    assert not is_english("Och Karlshamn?")
    # Names and digits alone are neither language: the documents' own, Swedish, is kept.
    assert not is_english("Kulturtrappan 2024?")


def _answer(text, heading, question):
    chunk = Chunk(doc_id="d", source="plan.txt", title="Plan", format="txt", position=0, text=text,
                  heading_path=(heading,), start=0, end=len(text))  # fmt: skip
    passages = [Passage(chunk, 1.0, dense=0.8)]
    evidence = EvidenceScorer().score(question, passages, lambda term: 1.0)
    return "".join(ExtractiveGenerator().stream(GenerationRequest(question, passages, evidence=evidence)))


def test_a_bare_line_under_a_heading_is_no_answer_about_it_but_a_label_with_its_value_is():
    # A figure's caption takes nothing from the heading it stands under; the sentences do.
    text = "Noder med länskarta\n\nAlla barn får musik och teater två gånger varje år i skolan."
    answer = _answer(text, "Blekingemodellen", "Vad är Blekingemodellen?")
    assert answer == "Alla barn får musik och teater två gånger varje år i skolan. [1]", answer
    # "Ansökan: senast 31 januari" states something about its section, and ends with a full stop
    # of its own in the answer, so the next sentence keeps its own citation.
    text = "Tre stipendier delas ut varje år.\n\nAnsökan: senast 31 januari"
    answer = _answer(text, "Kulturstipendier", "När ska man söka kulturstipendier?")
    assert "Ansökan: senast 31 januari [1]." in answer, answer


def test_a_quantity_is_no_year_decade_period_or_date_and_may_be_a_numeral():
    from kulturplan.language import holds_quantity, names_a_time

    for text in ["Museet hade 151 000 besök 2023.", "Budget 2023 (mnkr): 7,9", "barn 6–12 år", "fjorton turer", "tjugofem platser"]:
        assert holds_quantity(text), text
    for text in ["Bruksmuseet berättar om 1700-talet.", "Planen gäller 2024–2027.", "läsåret 2022/23",
                 "senast den 31 januari 2024", "§ 71", "Ett museum i Ronneby"]:  # fmt: skip
        assert not holds_quantity(text), text
    for text in ["den sista lördagen i september", "på onsdagskvällar", "på hösten", "öppet kl. 7–22"]:
        assert names_a_time(text), text
    assert not names_a_time("Åtta vårdenheter har kultur.") and not names_a_time("Museet har en butik.")


def test_when_asks_for_a_date_at_the_start_of_a_question_or_its_part_not_inside_a_clause():
    from assistant.evidence import asked_kinds, asks_quantity, gives_kind

    assert asked_kinds("När bildades Konstresurscentrum?") == {"date"}
    assert asked_kinds("Vem gör utvärderingen och när?") == {"name", "date"}
    assert asked_kinds("Vad gör regionen när konstnärers verk visas?") == frozenset()
    assert asked_kinds("Hur gammal måste man vara när personalen har gått hem?") == {"number"}
    assert asked_kinds("What happens when the plan ends?") == frozenset()
    # English asks for a date as Swedish does ("vilket datum", "vilken månad")
    assert asked_kinds("By what date must one apply?") == asked_kinds("Vilken månad är galan?") == {"date"}
    # The adjective's every form asks for a number: "stor", "stort", "stora"; "hög", "högt", "höga".
    assert asked_kinds("Hur stort var kulturpriset?") == asked_kinds("Hur högt är stödet?") == {"number"}
    # An answer gives the kind more strictly than evidence holds it: a century is no number of visitors.
    assert not gives_kind("Bruksmuseet berättar om bruksortens historia från 1700-talet.", "number")
    assert gives_kind("Kulturnatten arrangeras den sista lördagen i september.", "date")
    # A name answers "Vem …?" only when the question does not name it already.
    question = "Vem är ordförande i kultur- och fritidsnämnden i Karlshamn?"
    assert not gives_kind("Ansvarig nämnd: kultur- och fritidsnämnden i Karlshamn.", "name", question)
    assert gives_kind("Ordförande i nämnden är Eva Lind.", "name", question)
    # A list item's first word starts its sentence: capitalised, but no name.
    assert not gives_kind("- Under 2024 anställs en kulturkoordinator.", "name", "Vem har anställts?")
    # A table row's column headers are capitalised, but no names; its cells may hold one.
    row = "Kulturbudget 2024 (kultur- och fritidsnämnden) – Uppgift: 46 miljoner kronor"
    assert not gives_kind(row, "name", question)
    assert gives_kind("11 – Åtagande: Digitalisera föremål; Ansvarig: Blekinge museum", "name", "Vem digitaliserar?")
    # How long and how often ask a number, but a period or a frequency answers them: no quantity asked.
    assert asks_quantity("Hur många besök hade museet?") and asks_quantity("Vad kostar entrén?")
    assert not asks_quantity("Hur länge gäller planen?") and not asks_quantity("Hur ofta följs den upp?")


def test_what_a_question_counts_and_whether_a_sentence_names_it():
    from assistant.evidence import counted_terms, names_any

    assert counted_terms("Hur många besökare hade museet 2023?") == {stem("besökare")}
    assert counted_terms("Hur många regionala kulturverksamheter finns?") == {stem("regionala"), stem("kulturverksamheter")}
    # A function word first: what is counted was named before ("… och hur många av dem var barn?").
    assert counted_terms("Och hur många av dem var barn?") == set()
    assert counted_terms("Hur mycket kostar entrén?") == set()
    # The word itself, an inflection, or a compound that ends with it.
    assert names_any({stem("bibliotek")}, "Karlskrona – Folkbibliotek: 8")
    assert names_any({stem("besökare")}, "Besök 2018: 448 000")
    assert not names_any({stem("konserter")}, "Musik i Blekinge hade 61 000 besökare 2022.")


def test_a_role_is_named_however_common_its_word(index_vocabulary):
    from assistant.evidence import role_terms
    from kulturplan.language import is_stopword

    # "chef" frames many a Swedish sentence, so the index's vocabulary may judge it generic; as the
    # role asked about it must still be named by the answer ("Vem är chef för Regionbibliotek …?").
    index_vocabulary.is_generic = lambda word: word in {"chef", "ordförande"}
    assert is_stopword("chef")
    assert role_terms("Vem är chef för Regionbibliotek Blekinge?") == {stem("chef")}
    assert role_terms("Vem är det som beslutar?") == set()


def test_who_holds_a_role_is_answered_only_by_a_name_with_that_role():
    from assistant.asked_kind import gives_the_asked_kind
    from assistant.evidence import ScoredSentence, role_terms

    assert role_terms("Vem är bibliotekschef i Karlshamn?") == {stem("bibliotekschef")}
    assert role_terms("Och vem var ordförande i nämnden då?") == {stem("ordförande")}
    # A name or a function word first: no role is named ("Vem är Karin Sjöberg?", "vem är det som …").
    assert role_terms("Vem är Karin Sjöberg?") == role_terms("Vem är det som beslutar?") == set()

    def sentence(text: str, heading: str = "Bibliotek") -> ScoredSentence:
        return ScoredSentence(1, 0, text, heading, 0.6, 0.5, True, 1.0, False, "plan.md")

    kinds = frozenset({"name"})
    question = "Vem är bibliotekschef i Karlshamn?"
    # Names, but of no one holding the role asked about.
    assert not gives_the_asked_kind([sentence("Biblioteken deltar i Läsvår Blekinge.")], kinds, question)
    assert gives_the_asked_kind([sentence("Bibliotekschef är Eva Berg sedan 2021.")], kinds, question)
    # The role may stand in the heading the name is listed under.
    assert gives_the_asked_kind([sentence("Eva Berg, Karlshamn", heading="Bibliotekschefer")], kinds, question)
    # A who-question naming no role is answered by any new name, as before.
    assert gives_the_asked_kind([sentence("Biblioteken deltar i Läsvår Blekinge.")], kinds, "Vem arrangerar läsfestivalen?")
    # Who acts is said by a passive verb's agent too, a role in lower case; a role asked for needs a name.
    decided = sentence("Mindre justeringar av tidplanen kan beslutas av kulturchefen.")
    assert gives_the_asked_kind([decided], kinds, "Vem får besluta om mindre justeringar av tidplanen?")
    assert not gives_the_asked_kind([decided], kinds, "Vem är kulturchef i Karlshamn?")
    assert not gives_the_asked_kind([sentence("Redan hälften av eleverna deltar.")], kinds, "Vem deltar?")


def test_a_sections_outline_gives_no_number_and_leaves_when_a_sentence_that_gives_one_joins():
    from dataclasses import replace

    from assistant.asked_kind import gives_the_asked_kind, select_giving_the_asked_kind
    from assistant.evidence import ScoredSentence

    def sentence(text: str, order: int, score: float, outline: bool = False) -> ScoredSentence:
        return ScoredSentence(1, order, text, "3 Utgångsläge", 0.6, 0.5, True, score, outline, "plan.md", outline=outline)

    question, kinds = "Hur många folkbibliotek fanns det i Blekinge 2018?", frozenset({"number"})
    outline = [sentence("3.1 Folkbiblioteken 2018", 0, 0.9, True), sentence("3.2 Publiken 2018", 1, 0.9, True)]
    answer = sentence("Länet har 23 folkbibliotek.", 2, 0.7)
    assert not gives_the_asked_kind(outline, kinds, question)  # "3.1" numbers a section
    assert gives_the_asked_kind([replace(outline[0], outline=False)], kinds, question)
    chosen = select_giving_the_asked_kind([*outline, answer], lambda ranked: ranked[:2], kinds, question)
    assert [s.text for s in chosen] == [answer.text]


def test_a_price_is_answered_only_by_a_sum_of_money():
    from assistant.asked_kind import gives_the_asked_kind
    from assistant.evidence import ScoredSentence

    def sentence(text: str) -> ScoredSentence:
        return ScoredSentence(1, 0, text, "Kulturskolan", 0.6, 0.5, True, 1.0, False, "plan.md")

    kinds, question = frozenset({"number"}), "Vad kostar det att gå i kulturskolan?"
    assert not gives_the_asked_kind([sentence("Kulturskolan hade 1 450 elever läsåret 2022/23.")], kinds, question)
    assert gives_the_asked_kind([sentence("Terminsavgiften är 600 kronor.")], kinds, question)
    assert gives_the_asked_kind([sentence("Ombyggnaden beräknas till 4,2 miljoner.")], kinds, question)
    # Any number still answers how many.
    how_many = "Hur många elever har kulturskolan?"
    assert gives_the_asked_kind([sentence("Kulturskolan hade 1 450 elever.")], kinds, how_many)


def test_a_name_alone_on_its_line_is_read_with_the_title_below_it():
    from kulturplan.language import split_sentences

    text = "Karlskrona i november 2019\n\nKarin Sjöberg\nOrdförande, regionala utvecklingsnämnden\n\nPer Åkesson\nKulturchef"
    assert split_sentences(text) == [
        "Karlskrona i november 2019", "Karin Sjöberg Ordförande, regionala utvecklingsnämnden", "Per Åkesson Kulturchef",
    ]  # fmt: skip
    # A heading over its paragraph, or a list's first item, is no title of a name.
    assert split_sentences("Musik i Blekinge\n\nKonserter i hela länet.") == ["Musik i Blekinge", "Konserter i hela länet."]
    assert split_sentences("Anna Berg\n- konserter") == ["Anna Berg", "- konserter"]
    # A list of names, one a line (a jury), stays a list: no name is the title of the next.
    assert split_sentences("Juryn:\nAnna Berg\nPer Ek\nLisa Holm\nKulturpriset delas ut i maj.") == [
        "Juryn:", "Anna Berg", "Per Ek", "Lisa Holm", "Kulturpriset delas ut i maj.",
    ]  # fmt: skip


def test_a_question_typed_in_haste_is_read_as_written_with_care():
    from kulturplan.language import as_a_written_question

    assert as_a_written_question("  vem fick kulturpriset 2023 i blekinge ") == "Vem fick kulturpriset 2023 i blekinge?"
    assert as_a_written_question("Vad är Kulturtrappan?") == "Vad är Kulturtrappan?"
    assert as_a_written_question("Berätta om Kulturtrappan.") == "Berätta om Kulturtrappan."
    assert as_a_written_question("") == ""
    # Names as the documents write them: the embedding model reads "blekinge" and "Blekinge" apart.
    names = frozenset({"blekinge", "elin", "strand"})
    assert as_a_written_question("fick elin strand priset i blekinge", names) == "Fick Elin Strand priset i Blekinge?"
    assert as_a_written_question("blekingekusten", names) == "Blekingekusten?"  # a word, not a prefix


def test_names_are_the_words_the_documents_capitalize_inside_a_sentence():
    from kulturplan.language import capitalized_words

    texts = [
        "Musik i Blekinge spelar i Karlskrona, Ronneby och Olofström. Konserter ges i hela länet.",
        "SÖK KULTURSTÖD FRÅN REGION BLEKINGE\nÅr: 2024; Ansvarig: Blekinge museum\n§ 14 Beslut om bidrag",
        "Planen gäller musik och konserter i Blekinge, och Kultur i vården når fler.",
        "Regionen stöder kultur i hela länet.",
    ]
    names = capitalized_words(texts)
    assert {"blekinge", "karlskrona", "ronneby", "olofström"} <= names
    # A sentence's first word, a heading in capitals, a table's header after its separator and a
    # word after a paragraph number say nothing of names; a word also written in lower case is none.
    assert not names & {"musik", "konserter", "sök", "kulturstöd", "ansvarig", "beslut", "kultur"}


def test_a_sentence_is_read_under_its_documents_title_and_a_month_answers_when():
    from assistant.evidence import holds_kind

    # In a municipality's own programme every sentence speaks of the municipality; the title's
    # years are left to the scope (assistant.scope), not counted as words.
    text = "Karlskrona kulturskola hade 1 450 elever.\n\nKulturskolan erbjuder musik, dans, teater och cirkus."
    chunk = Chunk(doc_id="d", source="kk.pdf", title="Kulturprogram för Karlskrona kommun 2023–2026", format="pdf",
                  position=0, text=text, heading_path=("Barn och unga",), start=0, end=len(text))  # fmt: skip
    other = Chunk(doc_id="o", source="ronneby.html", title="Kulturprogram för Ronneby kommun", format="html",
                  position=0, text="Kulturskolan erbjuder musik och dans.", heading_path=("Kulturskolan",), start=0, end=37)  # fmt: skip
    passages = [Passage(chunk, 1.0, dense=0.8), Passage(other, 1.0, dense=0.8)]
    scored = EvidenceScorer().score("Vad erbjuder kulturskolan i Karlskrona?", passages, lambda term: 1.0)
    by_text = {s.text: s.coverage for s in scored}
    assert by_text["Kulturskolan erbjuder musik, dans, teater och cirkus."] == 1.0
    assert by_text["Kulturskolan erbjuder musik och dans."] < 1.0  # Ronneby's school
    years = EvidenceScorer().score("Vad hände 2023?", passages, lambda term: 1.0)
    assert all(s.coverage == 0.0 for s in years)
    # A dated line on a title page is read under the title too; a bare caption is not.
    page = "Antagen av regionfullmäktige den 26 november 2019\n\nNoder med länskarta"
    plan = Chunk(doc_id="p", source="plan.docx", title="Regional kulturplan för Blekinge", format="docx",
                 position=0, text=page, heading_path=(), start=0, end=len(page))  # fmt: skip
    read = {s.text: s.coverage for s in EvidenceScorer().score("När antogs kulturplanen?", [Passage(plan, 1.0, dense=0.8)], lambda term: 1.0)}
    assert read["Antagen av regionfullmäktige den 26 november 2019"] > read["Noder med länskarta"] == 0.0
    assert holds_kind("Kulturnatten arrangeras den sista lördagen i september.", "date")
