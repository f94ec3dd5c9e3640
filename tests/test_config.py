"""Settings precedence (defaults < TOML < KULTURPLAN_* env < flags) and the errors of bad settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from cli import app
from kulturplan.config import CONFIG_ENV, Settings, load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path: Path) -> Path:
    """No KULTURPLAN_* variable from the caller's shell and no kulturplan.toml in the working folder."""
    for name in list(os.environ):
        if name.upper().startswith("KULTURPLAN_"):
            monkeypatch.delenv(name)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_env_or_flags(clean_env):
    settings = load_settings()
    for name, field in Settings.model_fields.items():
        assert getattr(settings, name) == field.default, name


def test_each_layer_overrides_the_one_below(clean_env, monkeypatch, tmp_path):
    config = write_toml(
        tmp_path / "elsewhere.toml",
        'embedding_batch_size = 4\nllm_threads = 3\ncollection = "from-toml"\ndata_dir = "toml-data"\n',
    )
    monkeypatch.setenv(CONFIG_ENV, str(config))
    monkeypatch.setenv("KULTURPLAN_LLM_THREADS", "5")
    monkeypatch.setenv("KULTURPLAN_COLLECTION", "from-env")
    settings = load_settings(collection="from-flag", data_dir=None)  # None = flag not given

    defaults = Settings.model_fields
    assert settings.llm_max_tokens == defaults["llm_max_tokens"].default  # only the default
    assert settings.embedding_batch_size == 4  # TOML over the default
    assert settings.data_dir == Path("toml-data")  # a None flag leaves the TOML value
    assert settings.llm_threads == 5  # env over TOML
    assert settings.collection == "from-flag"  # flag over env and TOML


def test_kulturplan_toml_in_the_working_folder_is_read_by_default(clean_env):
    write_toml(clean_env / "kulturplan.toml", "chunk_max_tokens = 64\n")
    assert load_settings().chunk_max_tokens == 64


def test_config_env_replaces_the_default_file(clean_env, monkeypatch, tmp_path):
    write_toml(clean_env / "kulturplan.toml", "chunk_max_tokens = 64\nllm_threads = 7\n")
    monkeypatch.setenv(CONFIG_ENV, str(write_toml(tmp_path / "other.toml", "chunk_max_tokens = 96\n")))
    settings = load_settings()
    assert settings.chunk_max_tokens == 96
    assert settings.llm_threads == Settings.model_fields["llm_threads"].default  # the cwd file is not merged


def test_env_names_are_case_insensitive_and_typed(clean_env, monkeypatch):
    monkeypatch.setenv("kulturplan_embedding_batch_size", "32")
    monkeypatch.setenv("KULTURPLAN_DATA_DIR", "/tmp/kp-index")
    settings = load_settings()
    assert settings.embedding_batch_size == 32
    assert settings.data_dir == Path("/tmp/kp-index") and settings.chroma_path == Path("/tmp/kp-index/chroma")


def test_derived_paths_follow_the_settings(clean_env):
    settings = load_settings(models_dir=Path("~/kp-models"), llm_model_path="")
    assert settings.models_root == Path.home() / "kp-models"
    assert settings.embedding_model_path == str(Path.home() / "kp-models" / "embeddinggemma-300m")
    assert settings.llm_path.parent == Path.home() / "kp-models" and settings.llm_path.suffix == ".gguf"
    assert load_settings(embedding_model="some/hub-id").embedding_model_path == "some/hub-id"


def error_of(excinfo) -> tuple[tuple, str, str]:
    (error,) = excinfo.value.errors()
    return error["loc"], error["type"], error["msg"]


def test_zero_batch_size_in_toml_is_rejected_naming_the_field(clean_env):
    write_toml(clean_env / "kulturplan.toml", "embedding_batch_size = 0\n")
    with pytest.raises(ValidationError) as excinfo:
        load_settings()
    loc, kind, message = error_of(excinfo)
    assert loc == ("embedding_batch_size",) and kind == "greater_than_equal"
    assert "greater than or equal to 1" in message


def test_non_number_in_env_is_rejected_naming_the_field(clean_env, monkeypatch):
    monkeypatch.setenv("KULTURPLAN_EMBEDDING_BATCH_SIZE", "abc")
    with pytest.raises(ValidationError) as excinfo:
        load_settings()
    loc, kind, _ = error_of(excinfo)
    assert loc == ("embedding_batch_size",) and kind == "int_parsing"


def test_a_valid_flag_does_not_hide_a_bad_lower_layer_for_another_field(clean_env, monkeypatch):
    monkeypatch.setenv("KULTURPLAN_LLM_THREADS", "0")
    with pytest.raises(ValidationError):
        load_settings(embedding_batch_size=8)
    # ...but a flag for the same field wins, so the bad env value is never used.
    assert load_settings(llm_threads=2).llm_threads == 2


def test_unknown_key_in_toml_is_rejected(clean_env):
    write_toml(clean_env / "kulturplan.toml", "embedding_batch_size = 4\nembeding_model = \"typo\"\n")
    with pytest.raises(ValidationError) as excinfo:
        load_settings()
    loc, kind, _ = error_of(excinfo)
    assert loc == ("embeding_model",) and kind == "extra_forbidden"


def test_missing_file_named_by_config_env_is_an_error_not_silent_defaults(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "no-such.toml"))
    with pytest.raises(FileNotFoundError, match="no-such.toml"):
        load_settings()


# --- how the command line reports them (in-process; tests/test_cli.py runs the real script) -----------
def run_cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "toml, expected",
    [
        ("embedding_batch_size = 0\n", "error: invalid configuration: embedding_batch_size: Input should be greater"),
        ("bogus = 1\n", "error: invalid configuration: bogus: unknown setting in kulturplan.toml"),
        ("embedding_batch_size = \n", "error: cannot read kulturplan.toml: "),
    ],
)
def test_cli_reports_a_bad_config_file_in_one_line_with_exit_2(clean_env, toml, expected):
    write_toml(clean_env / "kulturplan.toml", toml)
    code, output = run_cli("models", "status")
    assert code == 2
    assert output.startswith(expected) and output.count("\n") == 1, output


def test_cli_names_a_missing_config_env_file(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "no-such.toml"))
    code, output = run_cli("models", "status")
    assert code == 2
    assert output == f"error: cannot read the configuration: {CONFIG_ENV}={tmp_path / 'no-such.toml'} is not a file\n"
