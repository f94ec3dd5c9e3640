"""The "Åtaganden" tab: filter the plan's commitments, show them as an escaped table, download them as CSV."""

from __future__ import annotations

import io
import logging
from urllib.parse import urlencode

import gradio as gr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assistant.engine import Assistant
from kulturplan.commitments import Commitment, CommitmentStore, places, source_label, write_csv
from kulturplan.config import Settings
from ui.components import CheckedCheckbox, CheckedDropdown, rejecting
from ui.render import ALL_MUNICIPALITIES, error_html, esc, failure_message, highlight

logger = logging.getLogger(__name__)

CSV_NAME = "ataganden.csv"
# The download is a route of its own, computed from the filters in its query: no file is written, and
# no server path reaches the page (a Gradio download would put its cache path in /config).
CSV_ROUTE = "/" + CSV_NAME
MAX_FILTER_CHARS = 200
TABLE_COLUMNS = ("Aktör", "Vad", "Område", "Var", "Källa")
NO_COMMITMENTS = "Inga åtaganden matchar filtren."


def _choice(value: str | None) -> str | None:
    """A filter value, or None for "Alla" and an empty choice."""
    value = (value or "").strip()
    return None if value in ("", ALL_MUNICIPALITIES) else value


def filter_commitments(
    store: CommitmentStore,
    actor: str | None = None,
    area: str | None = None,
    municipality: str | None = None,
    text: str | None = None,
    include_region_wide: bool = True,
) -> list[Commitment]:
    """The commitments the filters select; "Alla" or nothing means no filter on that column."""
    actor, area, municipality, text = _choice(actor), _choice(area), _choice(municipality), (text or "").strip()
    found = store.query(actor=actor, area=area, municipality=municipality, text=text or None,
                        include_region_wide=include_region_wide)  # fmt: skip
    # The dropdowns offer exact names: "Blekinge museum" must not also pick "Blekinge museum X".
    return [c for c in found if (not actor or actor in c.actors) and (not area or area in c.areas)]


def commitments_csv(commitments: list[Commitment], region_wide_label: str) -> bytes:
    """The rows as the download for Excel: kulturplan.commitments' CSV, UTF-8 with a BOM."""
    buffer = io.StringIO()
    write_csv(buffer, commitments, region_wide_label)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def render_commitments(
    commitments: list[Commitment], passages: dict[str, str], total: int | None = None, *, region_wide_label: str
) -> str:
    """The commitments as an escaped HTML table; each source cell opens the passage it came from."""
    shown = len(commitments)
    count = f"{shown} åtaganden" if total is None or total == shown else f"{shown} av {total} åtaganden"
    status = f'<p class="kp-count" role="status">{esc(count)}</p>'
    if not commitments:
        return f'<div class="kp-atag">{status}<p class="kp-empty">{esc(NO_COMMITMENTS)}</p></div>'
    head = "".join(f'<th scope="col">{name}</th>' for name in TABLE_COLUMNS)
    rows = []
    for c in commitments:
        passage = passages.get(c.chunk_id)
        quoted = highlight(passage.strip(), (c.sentence,)) if passage else f"<mark>{esc(c.sentence)}</mark>"
        source = (
            f'<details class="kp-atag-source"><summary>{esc(source_label(c))}</summary>'
            f'<blockquote class="kp-passage">{quoted}</blockquote></details>'
        )
        rows.append(
            f'<tr id="atag-{esc(c.id)}"><td>{esc(", ".join(c.actors))}</td><td>{esc(c.sentence)}</td>'
            f"<td>{esc(', '.join(c.areas))}</td><td>{esc(places(c, region_wide_label))}</td><td>{source}</td></tr>"
        )
    return (
        f'<div class="kp-atag">{status}<table class="kp-table"><caption>Kulturplanens åtaganden. '
        "Öppna källan för att läsa stycket åtagandet kommer från.</caption>"
        f'<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


class CommitmentHandlers:
    """Handlers of the "Åtaganden" tab: read the commitments and the index, return escaped HTML."""

    def __init__(self, assistant: Assistant, settings: Settings):
        self.assistant = assistant
        self.settings = settings

    def commitment_store(self) -> CommitmentStore:
        return CommitmentStore.open(self.settings)

    def filter_options(self) -> tuple[list[str], list[str]]:
        try:
            store = self.commitment_store()
            return store.actors(), store.areas()
        except Exception as error:
            failure_message(error, "reading the commitments failed", logger)
            return [], []

    def commitments(self, actor=None, area=None, municipality=None, text=None, include_region_wide=True):
        """Return (table HTML, download link HTML) for the filters."""
        label = self.settings.profile.region_wide_label
        try:
            store = self.commitment_store()
            found = filter_commitments(store, actor, area, municipality, text, bool(include_region_wide))
            total = store.count()
            chunks = self.assistant.store.chunks_by_id(sorted({c.chunk_id for c in found}))
            passages = {i: c.text for i, c in chunks.items()}
        except Exception as error:
            return error_html("kp-atag", failure_message(error, "listing the commitments failed", logger)), ""
        table = render_commitments(found, passages, total, region_wide_label=label)
        return table, download_link(actor, area, municipality, text, include_region_wide)

    def csv_download(self, request: Request) -> Response:
        """GET /ataganden.csv?aktor=…&omrade=…&kommun=…&text=…&hela=1: the filtered rows as CSV."""
        query = {key: request.query_params.get(key, "")[:MAX_FILTER_CHARS] for key in ("aktor", "omrade", "kommun", "text")}
        wide = request.query_params.get("hela", "1") != "0"
        try:
            found = filter_commitments(self.commitment_store(), query["aktor"], query["omrade"], query["kommun"],
                                       query["text"], wide)  # fmt: skip
        except Exception as error:
            message = failure_message(error, "the commitments download failed", logger)
            return Response(message, status_code=503, media_type="text/plain; charset=utf-8")
        data = commitments_csv(found, self.settings.profile.region_wide_label)
        headers = {"Content-Disposition": f'attachment; filename="{CSV_NAME}"', "Cache-Control": "no-store"}
        return Response(data, media_type="text/csv; charset=utf-8", headers=headers)

    def routes(self) -> list[Route]:
        return [Route(CSV_ROUTE, self.csv_download, methods=["GET"])]


def download_link(actor=None, area=None, municipality=None, text=None, include_region_wide=True) -> str:
    """The link that downloads the rows the filters select (a relative URL, so it works under a proxy path)."""
    query = urlencode({
        "aktor": _choice(actor) or "", "omrade": _choice(area) or "", "kommun": _choice(municipality) or "",
        "text": (text or "").strip()[:MAX_FILTER_CHARS], "hela": "1" if include_region_wide else "0",
    })  # fmt: skip
    return (
        f'<a id="kp-atag-csv" class="kp-download" href="{esc(CSV_NAME + "?" + query)}" download="{CSV_NAME}">'
        "Ladda ner CSV</a>"
    )


def build_commitments_tab(handlers: CommitmentHandlers, settings: Settings) -> None:
    """The Åtaganden tab's components and events; call inside its `gr.Tab`."""
    profile = settings.profile
    actors, areas = handlers.filter_options()
    first_table, first_link = handlers.commitments()
    gr.HTML(
        "<p>Vem i kulturplanen ansvarar för vad, och var? Filtrera listan och öppna källan för att "
        "läsa stycket ett åtagande kommer från.</p>",
        elem_id="kp-atag-intro", js_on_load=None,
    )
    with gr.Row(elem_id="kp-atag-filters"):
        actor_filter = rejecting(CheckedDropdown(
            [ALL_MUNICIPALITIES, *actors], value=ALL_MUNICIPALITIES, label="Aktör", elem_id="kp-atag-actor"
        ), "Okänd aktör: välj en i listan.")
        area_filter = rejecting(CheckedDropdown(
            [ALL_MUNICIPALITIES, *areas], value=ALL_MUNICIPALITIES, label="Område", elem_id="kp-atag-area"
        ), "Okänt område: välj ett i listan.")
        place_filter = rejecting(CheckedDropdown(
            [ALL_MUNICIPALITIES, *profile.municipalities], value=ALL_MUNICIPALITIES, label="Kommun",
            elem_id="kp-atag-municipality",
        ), "Okänd kommun: välj en av kommunerna i listan.")
    with gr.Row(equal_height=True):
        text_filter = gr.Textbox(
            label="Fritext", placeholder="Sök i åtagandenas text och tryck Enter", lines=1, max_lines=1,
            scale=4, elem_id="kp-atag-text",
        )
        wide_filter = rejecting(CheckedCheckbox(
            value=True, label=f"Ta med åtaganden för {profile.region_wide_label}", scale=2, elem_id="kp-atag-wide"
        ), "Rutan för hela regionen tar bara värdena sant eller falskt.")
        search = gr.Button("Filtrera", variant="primary", scale=1, min_width=100, elem_id="kp-atag-search")
    table = gr.HTML(first_table, elem_id="kp-atag-table", js_on_load=None)
    download = gr.HTML(first_link, elem_id="kp-atag-download", js_on_load=None)
    gr.HTML(
        '<p class="kp-note-csv">CSV-filen innehåller de filtrerade raderna (UTF-8, semikolon mellan fälten, '
        "öppnas direkt i Excel).</p>",
        js_on_load=None,
    )

    filters = [actor_filter, area_filter, place_filter, text_filter, wide_filter]
    quick = {"concurrency_limit": None, "show_progress": "hidden"}  # never wait behind an answer
    for trigger in (actor_filter.change, area_filter.change, place_filter.change, wide_filter.change,
                    text_filter.submit, search.click):  # fmt: skip
        trigger(handlers.commitments, filters, [table, download], **quick)
