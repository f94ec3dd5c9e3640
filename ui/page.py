"""The page around the tabs: the Swedish-language middleware, the theme, and the CSS and JS asset files.

Gradio 6 serves index.html with a fixed lang="en" and then sets <html lang> to the browser's language
(svelte-i18n, from navigator.language); it has no setting for the page language. assets/page.js makes
Gradio's own strings Swedish too (it reports the browser language as "sv") and keeps lang="sv".
It also makes citation links jump within the page: Gradio's <base href="./"> would otherwise
resolve "#kalla-1-2" against the base URL and reload the page when the URL has a query string.
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any

import gradio as gr
from starlette.datastructures import MutableHeaders


def _asset(name: str) -> str:
    return files("ui").joinpath("assets", name).read_text(encoding="utf-8")


# Read once, at import.
PAGE_JS = _asset("page.js")
CSS = _asset("style.css")
HEAD = f"<script>\n{PAGE_JS}</script>"

# A theme with system fonts (no font is fetched from anywhere) and WCAG AA contrast: the default
# orange primary button and the light grey "subdued" text fail it.
THEME = gr.themes.Default(
    primary_hue="blue", font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
).set(
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_dark="*primary_600",
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_300",
)


class SwedishPage:
    """ASGI middleware: the served page says lang="sv" and runs PAGE_JS before Gradio's own scripts."""

    _HTML_LANG = re.compile(rb'(<html\b[^>]*?\blang=")[^"]*(")', re.IGNORECASE)

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("path") != "/":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            content = b"".join(body)
            headers = MutableHeaders(raw=list(start.get("headers", [])))
            if "text/html" in headers.get("content-type", "") and "content-encoding" not in headers:
                content = self.rewrite(content)
                if "content-length" in headers:
                    headers["content-length"] = str(len(content))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, capture)

    @classmethod
    def rewrite(cls, page: bytes) -> bytes:
        page = cls._HTML_LANG.sub(rb"\1sv\2", page, count=1)
        return page.replace(b"<head>", b"<head>" + HEAD.encode(), 1)
