"""The web server as an attacker meets it: its file routes, its API called with values the page never
sends, what /config tells, and the address it listens on. Through the real Gradio server (in-thread,
real Chroma, the fake embedder).
"""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.engine import Assistant
from ingest.pipeline import ingest
from kulturplan.config import load_settings
from kulturplan.feedback import FeedbackStore

from conftest import free_port
from fakes import FakeEmbedder

pytestmark = pytest.mark.faults

SECRET = "hemlig-markor-7f3a"  # written into the data dir and the model cache: must never be served


@pytest.fixture(scope="module")
def server(tmp_path_factory, corpus_dir=Path(__file__).resolve().parent.parent / "corpus") -> Iterator[tuple]:
    from ui.app import build_app, launch

    root = tmp_path_factory.mktemp("web")
    models = root / "models"
    models.mkdir()
    (models / "secret.txt").write_text(SECRET, encoding="utf-8")
    settings = load_settings(data_dir=root / "data").model_copy(
        update={"generator": "extractive", "answerability_threshold": 0.0, "models_dir": models}
    )
    embedder = FakeEmbedder()
    assert ingest(settings, [corpus_dir], progress=False, embedder=embedder).ok
    (settings.data_dir / "secret.txt").write_text(SECRET, encoding="utf-8")
    app = build_app(Assistant(settings, embedder=embedder), settings, FeedbackStore(root / "feedback.sqlite3"))
    port = free_port()
    launch(app, settings, None, port, block=False)  # the configured host: the default must be loopback
    try:
        yield f"http://127.0.0.1:{port}", settings, port
    finally:
        app.close()


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def probe_paths(settings) -> list[str]:
    """File-route spellings that try to reach outside the app's own assets."""
    targets = ["/etc/passwd", "/proc/self/environ", str(settings.data_dir / "secret.txt"),
               str(settings.models_root / "secret.txt"), str(settings.data_dir / "feedback.sqlite3")]  # fmt: skip
    paths = []
    for target in targets:
        quoted = urllib.parse.quote(target)
        paths += [f"/file={target}", f"/gradio_api/file={target}", f"/gradio_api/file={quoted}",
                  f"/gradio_api/file=..{target}", f"/gradio_api/file=%2e%2e{quoted}"]  # fmt: skip
    traversal = "../" * 12 + "etc/passwd"
    paths += [f"/assets/{traversal}", f"/static/{traversal}", f"/gradio_api/file={traversal}",
              "/assets/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "/gradio_api/file=/tmp/../etc/passwd",
              "//etc/passwd", "/ataganden.csv?kommun=../../../../etc/passwd"]  # fmt: skip
    return paths


def test_file_routes_serve_nothing_outside_the_app(server):
    url, settings, _ = server
    paths = probe_paths(settings)
    assert len(paths) >= 30
    leaks = []
    for path in paths:
        status, body = fetch(url + path)
        if b"root:x:0:0" in body or SECRET.encode() in body or b"SQLite format" in body or b"PATH=" in body:
            leaks.append((path, status))
    assert leaks == []


def test_config_names_no_server_path(server):
    url, settings, _ = server
    status, body = fetch(url + "/config")
    text = body.decode("utf-8", "replace")
    assert status == 200
    for path in (str(settings.data_dir), str(settings.models_root), "/tmp/", str(Path.home()), os.getcwd()):
        assert path not in text, path


def test_commitments_download_route_answers_csv(server):
    url, _, _ = server
    status, body = fetch(url + "/ataganden.csv?kommun=Ronneby&hela=0")
    assert status == 200 and body.startswith("\ufeff".encode()) and b"ak" in body.split(b"\n")[0]


@pytest.mark.parametrize(
    "values, message",
    [
        (("Vad är Blekingemodellen?", "bogus", 3, "Alla"), "Okänd svarsmetod"),
        (("Vad är Blekingemodellen?", "extractive", -5, "Alla"), "Antal källor"),
        (("Vad är Blekingemodellen?", "extractive", 10_000, "Alla"), "Antal källor"),
        (("Vad är Blekingemodellen?", "extractive", "många", "Alla"), "Antal källor"),
        (("Vad är Blekingemodellen?", "extractive", 3, "Atlantis"), "Okänd kommun"),
    ],
)
def test_values_the_page_never_sends_get_one_swedish_line_and_no_traceback(server, capfd, values, message):
    from gradio_client import Client

    url, _, _ = server
    client = Client(url + "/", verbose=False)
    capfd.readouterr()
    with pytest.raises(Exception) as raised:
        client.predict(*values, api_name="/respond")
    assert message in str(raised.value) and "\n" not in str(raised.value).strip()
    assert "Traceback" not in capfd.readouterr().err


def test_a_question_that_is_not_text_is_answered_or_refused_without_error(server, capfd):
    from gradio_client import Client

    url, _, _ = server
    client = Client(url + "/", verbose=False)
    capfd.readouterr()
    for question in (5, ["Vad", "är"], {"fråga": "x"}):
        page = client.predict(question, "extractive", 3, "Alla", api_name="/respond")[0]
        assert "Något gick fel" not in page
    assert "Traceback" not in capfd.readouterr().err


def test_other_tabs_reject_values_outside_their_lists(server, capfd):
    from gradio_client import Client

    url, _, _ = server
    client = Client(url + "/", verbose=False)
    capfd.readouterr()
    with pytest.raises(Exception, match="Okänd kommun"):
        client.predict("Atlantis", api_name="/overview")
    with pytest.raises(Exception, match="Okänd aktör"):
        client.predict("Ingen", "Alla", "Alla", "", True, api_name="/commitments")
    with pytest.raises(Exception, match="sant eller falskt"):
        client.predict("Alla", "Alla", "Alla", "", "kanske", api_name="/commitments")
    assert "Traceback" not in capfd.readouterr().err


def non_loopback_address() -> str | None:
    """An address of this machine other than 127.x, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_server_listens_on_loopback_only_by_default(server):
    _, settings, port = server
    assert settings.host == "127.0.0.1"
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address besides loopback")
    with socket.socket() as attempt:
        attempt.settimeout(2)
        assert attempt.connect_ex((address, port)) != 0, f"the server answers on {address}"
