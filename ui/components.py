"""Choice components that turn a value the page could never send into one quiet Swedish line.

The page only offers valid choices, but anyone can call the app's API directly with a generator or a
municipality that is not in the list, or a source count of -5. Gradio rejects such values, but prints
a traceback for each into the server log, and answers in English. These components reject them the
same way, with the Swedish sentence given as `rejection` and no traceback: a bad value is the caller's
mistake, not a fault of the server.

They are Gradio's own components marked as templates, so the page draws them exactly as before.
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr
from gradio.exceptions import Error

logger = logging.getLogger(__name__)


def _preprocess(component: gr.components.Component, parent_preprocess, payload: Any) -> Any:
    try:
        return parent_preprocess(payload)
    except Exception as error:  # gradio.Error for a value outside the choices, ValueError/TypeError for junk
        logger.info("rejected a value for %s: %s", component.elem_id or type(component).__name__, error)
        raise Error(getattr(component, "rejection", "Ogiltigt värde."), print_exception=False) from None


class CheckedRadio(gr.Radio):
    is_template = True

    def preprocess(self, payload):
        return _preprocess(self, super().preprocess, payload)


class CheckedSlider(gr.Slider):
    is_template = True

    def preprocess(self, payload):
        return _preprocess(self, super().preprocess, payload)


class CheckedDropdown(gr.Dropdown):
    is_template = True

    def preprocess(self, payload):
        return _preprocess(self, super().preprocess, payload)


class CheckedCheckbox(gr.Checkbox):
    is_template = True

    def preprocess(self, payload):
        if not isinstance(payload, bool | None):
            return _preprocess(self, _reject, payload)
        return super().preprocess(payload)


def _reject(payload: Any) -> Any:
    raise TypeError(f"not a true/false value: {payload!r}")


def rejecting(component: gr.components.Component, rejection: str):
    """`component` answering a value outside its choices with `rejection` (one Swedish line)."""
    component.rejection = rejection
    return component
