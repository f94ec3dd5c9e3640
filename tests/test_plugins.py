"""Third-party backends register through Python entry points, as simonw/llm's plugins do."""

from __future__ import annotations

import pytest

from assistant.generators import GENERATORS, GeneratorError, make_generator
from kulturplan.embedding import EMBEDDERS, EmbedderUnavailable, make_embedder
from kulturplan.registry import Registry, UnknownBackend

PLUGIN_MODULE = '''
from assistant.generators import Generator
from fakes import FakeEmbedder


class EchoGenerator(Generator):
    name = "echo"

    def __init__(self, settings):
        self.settings = settings

    def stream(self, request):
        yield request.question


def make_fake_embedder(settings):
    return FakeEmbedder()
'''


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A package installed the way pip installs one: a module and its dist-info with entry_points.txt."""
    (tmp_path / "kp_demo_plugin.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    info = tmp_path / "kp_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kp-demo-plugin\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[kulturplan.generators]\necho = kp_demo_plugin:EchoGenerator\n\n"
        "[kulturplan.embedders]\nfake-plugin = kp_demo_plugin:make_fake_embedder\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for registry, name in ((GENERATORS, "echo"), (EMBEDDERS, "fake-plugin")):
        if name in registry.names():
            del registry[name]
    GENERATORS._plugins_loaded = EMBEDDERS._plugins_loaded = False  # read the entry points afresh next time


def test_generator_and_embedder_from_an_installed_plugin(installed_plugin, settings):
    GENERATORS.load_plugins(force=True)
    EMBEDDERS.load_plugins(force=True)
    generator = make_generator("echo", settings)
    assert "".join(generator.stream(type("Request", (), {"question": "Hej?"})())) == "Hej?"
    embedder = make_embedder(settings.model_copy(update={"embedding_backend": "fake-plugin"}))
    assert embedder.embed_query("Ronneby").shape == (64,)


def test_unknown_names_list_the_known_backends(settings):
    with pytest.raises(GeneratorError, match=r"unknown generator 'nope' \(known: .*extractive"):
        make_generator("nope", settings)
    with pytest.raises(EmbedderUnavailable, match="unknown embedding backend 'nope'"):
        make_embedder(settings.model_copy(update={"embedding_backend": "nope"}))


def test_a_broken_plugin_does_not_take_the_built_ins_down(tmp_path, monkeypatch):
    info = tmp_path / "kp_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kp-broken\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[kp.test.group]\nbroken = no_such_module:Thing\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[object] = Registry("thing", entry_point_group="kp.test.group")
    registry.register("built-in", object)
    assert registry.get("built-in") is object
    with pytest.raises(UnknownBackend, match="unknown thing 'broken' \\(known: built-in\\)"):
        registry.get("broken")
