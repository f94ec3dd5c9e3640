"""The words a person reads about what happened while answering, rendered from typed events.

Kept free of Gradio so that the CLI prints the same sentences. Notices are shown with the answer;
details go under "Så kontrollerades svaret". Text the grounding check rejected is never quoted back:
an invented sentence must not reach the person through the note that says it was removed.
"""

from __future__ import annotations

from assistant.events import Event, EventKind

# Shown with the answer: they change how the person should read it.
NOTICES = {
    EventKind.INSTRUCTIONS_IGNORED: "Instruktioner i frågan följdes inte; bara frågan om kulturplanen besvarades.",
    EventKind.GENERATOR_UNAVAILABLE: "Språkmodellen kunde inte startas, så svaret är hämtat direkt ur källorna.",
}
# Why the language model failed, as the person is told (the technical error goes to the log).
FAILURES = {
    "failed": "Språkmodellen misslyckades.",
    "unreachable": "Språkmodellens server gick inte att nå.",
    "server_error": "Språkmodellens server svarade med ett fel.",
    "invalid_reply": "Språkmodellens server skickade ett svar som inte gick att läsa.",
    "empty_reply": "Språkmodellen gav inget svar.",
    "timeout": "Språkmodellen svarade inte i tid.",
}
FELL_BACK = {
    "failed": "Språkmodellen kunde inte svara, så svaret är hämtat direkt ur källorna.",
    "unsupported": "Språkmodellens svar kunde inte beläggas i källorna, så svaret är hämtat direkt ur dem.",
    "busy": "Många frågar just nu, så svaret är hämtat direkt ur källorna i stället för att vänta på språkmodellen.",
}


def notice(item: Event) -> str | None:
    """The sentence shown with the answer, or None when the event is a detail."""
    if item.kind is EventKind.FELL_BACK:
        return FELL_BACK.get(item.details.get("reason", ""), FELL_BACK["failed"])
    return NOTICES.get(item.kind)


def detail(item: Event) -> str | None:
    """One line for "Så kontrollerades svaret", or None when there is nothing to add."""
    d = item.details
    match item.kind:
        case EventKind.COMMITMENT_LIST:
            return f"Svaret är listan över åtaganden ({d.get('label', '')}) i kulturplanen."
        case EventKind.MUNICIPALITY_OVERVIEW:
            return f"Svaret är kommunöversikten för {d.get('municipality', '')}."
        case EventKind.NOTHING_RELEVANT:
            return "Inget tillräckligt relevant stycke hittades; ingen språkmodell anropades."
        case EventKind.JUDGED_UNANSWERABLE:
            return "Språkmodellen och sökträffarna bedömde tillsammans att källorna inte besvarar frågan."
        case EventKind.GENERATOR_UNAVAILABLE:
            return f"Svarsmetoden {d.get('generator', '')!r} kunde inte startas."
        case EventKind.GENERATOR_FAILED:
            return FAILURES.get(d.get("reason", ""), FAILURES["failed"])
        case EventKind.GENERATOR_TIMEOUT:
            return FAILURES["timeout"]
        case EventKind.MUNICIPALITY_COMPLETED:
            return "Svaret kompletterades med stycken om kommunen som språkmodellen missade."
        case EventKind.SELECTION_COMPLETED:
            return "Svaret kompletterades med meningar ur källorna som språkmodellen utelämnade."
        case EventKind.CITATION_REMOVED:
            return "Tog bort en hänvisning till en källa som inte finns."
        case EventKind.CITATION_MOVED:
            return f"Flyttade en hänvisning från {d.get('cited', [])} till [{d.get('to', '')}]."
        case EventKind.SENTENCE_DROPPED:
            return "Strök en mening som källorna inte stöder."
        case EventKind.FRAGMENT_DROPPED:
            return "Strök ett meningsfragment."
        case EventKind.REPEAT_DROPPED:
            return "Strök en upprepning."
    return None


def notices(events: list[Event]) -> list[str]:
    return list(dict.fromkeys(text for item in events if (text := notice(item))))


def details(events: list[Event]) -> list[str]:
    return [text for item in events if (text := detail(item))]
