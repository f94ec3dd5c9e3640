"""The "Kommuner" tab: what the documents say about culture in one municipality, and what reaches them all."""

from __future__ import annotations

import logging

import gradio as gr

from assistant.engine import Assistant
from assistant.municipality_overview import MunicipalityOverview, SectionGroup, municipality_overview
from kulturplan.config import Settings
from kulturplan.region import RegionProfile
from ui.components import CheckedRadio, rejecting
from ui.render import error_html, esc, failure_message

logger = logging.getLogger(__name__)

CHOOSE_MUNICIPALITY = "Välj en kommun för att se vad dokumenten säger om kulturen där."


def genitive(name: str) -> str:
    """Swedish genitive: "Blekinge" → "Blekinges"; a name ending in s, x or z stays as it is ("Vännäs")."""
    return name if name.endswith(("s", "x", "z")) else name + "s"


def _mention_source(title: str, section: str, page: int | None) -> str:
    where = title + (f" · {section}" if section and section != title else "")
    return where + (f", s. {page}" if page else "")


def render_groups(groups: tuple[SectionGroup, ...], level: int) -> str:
    parts = []
    for group in groups:
        items = "".join(
            f'<li><p class="kp-ov-sentence">{esc(m.sentence)}</p>'
            f'<p class="kp-ov-source">Källa: <cite>{esc(_mention_source(m.title or m.source, m.section, m.page))}</cite></p></li>'
            for m in group.mentions
        )
        parts.append(f'<h{level} class="kp-ov-heading">{esc(group.heading)}</h{level}><ul class="kp-ov-list">{items}</ul>')
    return "".join(parts)


def render_overview(overview: MunicipalityOverview | None, profile: RegionProfile) -> str:
    """The overview as escaped HTML: the municipality's own passages, then apart those for the whole region."""
    if overview is None:
        return f'<div class="kp-overview"><p class="kp-empty">{esc(CHOOSE_MUNICIPALITY)}</p></div>'
    name = esc(overview.municipality)
    region, whole = esc(profile.region), esc(profile.region_wide_label)
    if overview.mentioned:
        local = render_groups(overview.local, 4)
    else:
        local = (f'<p class="kp-ov-none">Dokumenten nämner inte {name}. '
                 f"Här nedan finns det som gäller alla kommuner i {region}.</p>")  # fmt: skip
    if overview.region_wide:
        wide = f"<p>Det här når alla {esc(genitive(profile.region))} kommuner, också {name}.</p>"
        wide += render_groups(overview.region_wide, 4)
    else:
        wide = f'<p class="kp-ov-none">Dokumenten beskriver inga erbjudanden för {whole}.</p>'
    earlier = (
        f'<section class="kp-ov-earlier" aria-labelledby="kp-ov-earlier-h"><h3 id="kp-ov-earlier-h">Ur tidigare '
        f"planperioder</h3><p>Det här skrevs om {name} i dokument vars period har gått ut.</p>"
        f"{render_groups(overview.earlier, 4)}</section>"
        if overview.earlier else ""
    )  # fmt: skip
    return (
        f'<div class="kp-overview" aria-live="polite"><h2>Kultur i {name}</h2>'
        f'<section class="kp-ov-local" aria-labelledby="kp-ov-local-h"><h3 id="kp-ov-local-h">Det dokumenten säger om {name}</h3>{local}</section>'
        f'<section class="kp-ov-region" aria-labelledby="kp-ov-region-h"><h3 id="kp-ov-region-h">För {whole}</h3>{wide}</section>'
        f"{earlier}</div>"
    )


class MunicipalityHandlers:
    """Handler of the "Kommuner" tab: read the index, return escaped HTML."""

    def __init__(self, assistant: Assistant | None, settings: Settings):
        self.assistant = assistant
        self.settings = settings

    @property
    def profile(self) -> RegionProfile:
        return self.settings.profile

    def overview(self, municipality: str | None) -> str:
        if municipality not in self.profile.municipalities:
            return render_overview(None, self.profile)
        try:
            return render_overview(municipality_overview(self.assistant.store, municipality, self.profile), self.profile)
        except Exception as error:
            return error_html("kp-overview", failure_message(error, f"the overview of {municipality!r} failed", logger))


def build_municipalities_tab(handlers: MunicipalityHandlers) -> None:
    """The Kommuner tab's components and events; call inside its `gr.Tab`."""
    chosen = rejecting(CheckedRadio(
        list(handlers.profile.municipalities), value=None, label="Välj kommun", elem_id="kp-kommun-val"
    ), "Okänd kommun: välj en av kommunerna i listan.")
    overview = gr.HTML(render_overview(None, handlers.profile), elem_id="kp-kommun", js_on_load=None)
    chosen.change(handlers.overview, chosen, overview, concurrency_limit=None, show_progress="hidden")
