"""The Rasa engine environment (Python 3.10, pinned) and trained models, cached by content hash."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.environment import inherited_environment
from core.settings import PROJECT_ROOT, Settings
from core.tokens import ACTION_TOKEN_ENV, ACTION_TOKEN_HEADER
from nlu.trackerstore import tracker_store_endpoint

ENGINE_REQUIREMENTS = PROJECT_ROOT / "engine" / "requirements.txt"
ENGINE_CONSTRAINTS = PROJECT_ROOT / "engine" / "constraints.txt"
# Everything that changes what `rasa train` produces.
MODEL_INPUTS = (
    "config.yml",
    "domain.yml",
    "nlu/data",
    "nlu/jieba",
    "nlu/components",
    "engine/constraints.txt",
)

Progress = Callable[[str], None]


class EngineError(RuntimeError):
    """The engine environment or a model could not be prepared; the message says what to do."""


NO_PYTHON_310 = """Rasa Open Source 3.6 needs Python 3.10, and none was found.
Looked at: $PARCELDESK_ENGINE_PYTHON, python3.10 on PATH, pyenv, uv, /usr/bin and /usr/local/bin.
Install one of these ways, then run the command again:
  • pyenv:  pyenv install 3.10
  • uv:     uv python install 3.10
  • Debian/Ubuntu (deadsnakes or a release that ships it):  apt-get install python3.10 python3.10-venv
or point PARCELDESK_ENGINE_PYTHON at a Python 3.10 interpreter."""


def _is_python_310(candidate: Path | str) -> bool:
    """True when the interpreter really runs and is 3.10 (pyenv shims can refuse)."""
    try:
        result = subprocess.run(
            [str(candidate), "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0 and result.stdout.strip() == "3.10"


def _pyenv_candidates() -> Iterator[Path]:
    """Python 3.10 installs known to pyenv, newest first."""
    pyenv = shutil.which("pyenv")
    if not pyenv:
        return
    try:
        versions = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=20).stdout
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return
    found = [v.strip() for v in versions.splitlines() if re.fullmatch(r"3\.10\.\d+", v.strip())]
    for version in sorted(found, key=lambda v: int(v.split(".")[2]), reverse=True):
        yield Path(root) / "versions" / version / "bin" / "python3.10"


def _uv_candidates() -> Iterator[Path]:
    """The Python 3.10 uv knows about, if uv is installed."""
    uv = shutil.which("uv")
    if not uv:
        return
    try:
        result = subprocess.run([uv, "python", "find", "3.10"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return
    if result.returncode == 0 and result.stdout.strip():
        yield Path(result.stdout.strip())


def find_python310(settings: Settings) -> Path:
    """A working Python 3.10 interpreter, or EngineError saying how to install one."""
    candidates: list[Path | str] = []
    if settings.engine_python:
        if not _is_python_310(settings.engine_python):
            raise EngineError(f"PARCELDESK_ENGINE_PYTHON={settings.engine_python} is not a working Python 3.10")
        return Path(settings.engine_python)
    on_path = shutil.which("python3.10")
    if on_path:
        candidates.append(on_path)
    candidates.extend(_pyenv_candidates())
    candidates.extend(_uv_candidates())
    candidates.extend([Path("/usr/bin/python3.10"), Path("/usr/local/bin/python3.10")])
    for candidate in candidates:
        if Path(candidate).exists() and _is_python_310(candidate):
            return Path(candidate)
    raise EngineError(NO_PYTHON_310)


def _digest(paths: list[Path], root: Path) -> str:
    """A hash over file names and contents (stable across clones and machines)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def engine_hash() -> str:
    """Identifies an engine environment by its requirements and constraints."""
    return _digest([ENGINE_REQUIREMENTS, ENGINE_CONSTRAINTS], PROJECT_ROOT)[:16]


def model_inputs(root: Path = PROJECT_ROOT) -> list[Path]:
    """The files a trained model depends on."""
    files: list[Path] = []
    for name in MODEL_INPUTS:
        path = root / name
        if path.is_dir():
            # Bytecode caches differ between machines and Python versions: never part of the hash.
            files.extend(
                p
                for p in path.rglob("*")
                if p.is_file() and not p.name.startswith(".") and "__pycache__" not in p.parts
            )
        elif path.is_file():
            files.append(path)
    return files


def model_hash(root: Path = PROJECT_ROOT) -> str:
    """Identifies a model by its training data, config, domain and engine versions."""
    return _digest(model_inputs(root), root)[:16]


@dataclass(frozen=True)
class Engine:
    """A ready engine environment."""

    directory: Path
    settings: Settings

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.directory / "bin" / "python"

    @property
    def rasa(self) -> Path:
        """The rasa command."""
        return self.directory / "bin" / "rasa"

    def env(self) -> dict[str, str]:
        """Environment for rasa processes: temp files, caches and telemetry kept inside our cache dir."""
        tmp = self.settings.cache_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        # No secrets (bot token, database URL…) from our environment: the caller adds the ones Rasa needs.
        env = {key: value for key, value in inherited_environment().items() if not key.startswith("PYTHON")}
        env.update(
            {
                # Jieba and TensorFlow write to the temp dir; keep it ours.
                "TMPDIR": str(tmp),
                "MPLCONFIGDIR": str(tmp / "matplotlib"),
                "RASA_TELEMETRY_ENABLED": "false",
                "RASA_CACHE_DIRECTORY": str(self.settings.cache_dir / "rasa-cache"),
                # Sentence-encoder vectors by text hash (nlu/components/vector_cache.py): a retraining encodes
                # only the texts it has not seen. Shared by all worktrees, like the engine.
                "PARCELDESK_VECTOR_CACHE": str(self.settings.cache_dir / "vectors"),
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                "PYTHONWARNINGS": "ignore",
                "VIRTUAL_ENV": str(self.directory),
                # config.yml names our own Rasa components by module path (nlu.components.*).
                "PYTHONPATH": str(PROJECT_ROOT),
                "PATH": f"{self.directory / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        return env

    def run(
        self, args: list[str], *, progress: Progress | None = None, log: Path | None = None, cwd: Path = PROJECT_ROOT
    ) -> None:
        """Run a rasa command (from the project root unless told otherwise), streaming its output; raise on failure."""
        _stream([str(self.rasa), *args], env=self.env(), cwd=cwd, progress=progress, log=log)

    def train(
        self, args: list[str], *, progress: Progress | None = None, log: Path | None = None, cwd: Path = PROJECT_ROOT
    ) -> None:
        """Run `rasa train …` through engine/train.py (Rasa's cache keyed without re-hashing every message)."""
        command = [str(self.python), str(PROJECT_ROOT / "engine" / "train.py"), *args]
        _stream(command, env=self.env(), cwd=cwd, progress=progress, log=log)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive file lock, so two setups or trainings never race on the same cache entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stream(
    command: list[str], *, env: dict[str, str] | None, cwd: Path, progress: Progress | None, log: Path | None
) -> None:
    """Run a command, passing each output line to progress and the log file; raise EngineError on failure."""
    log_handle = log.open("a", encoding="utf-8") if log else None
    tail: list[str] = []
    try:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            tail = (tail + [line])[-25:]
            if log_handle:
                log_handle.write(line + "\n")
            if progress and line:
                progress(line)
        code = process.wait()
    finally:
        if log_handle:
            log_handle.close()
    if code != 0:
        raise EngineError(f"command failed ({code}): {' '.join(command[:4])} …\n" + "\n".join(tail))


def ensure_engine(settings: Settings, progress: Progress | None = None) -> Engine:
    """The engine environment for the current constraints, created (once, cached) if missing."""
    directory = settings.cache_dir / f"engine-{engine_hash()}"
    marker = directory / ".parceldesk-complete"
    if marker.exists():
        return Engine(directory, settings)
    with _locked(settings.cache_dir / "locks" / f"{directory.name}.lock"):
        if marker.exists():
            return Engine(directory, settings)
        python = find_python310(settings)
        if progress:
            progress(f"creating the Rasa engine environment with {python} (a few minutes, once)")
        if directory.exists():
            shutil.rmtree(directory)
        _stream([str(python), "-m", "venv", str(directory)], env=None, cwd=PROJECT_ROOT, progress=progress, log=None)
        pip = [str(directory / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        log = settings.cache_dir / f"{directory.name}-install.log"
        _stream(
            [*pip, "-r", str(ENGINE_REQUIREMENTS), "-c", str(ENGINE_CONSTRAINTS)],
            env=None,
            cwd=PROJECT_ROOT,
            progress=progress,
            log=log,
        )
        marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S") + "\n")
    return Engine(directory, settings)


def model_path(settings: Settings, digest: str | None = None) -> Path:
    """Where the model for the current (or given) content hash lives."""
    return settings.cache_dir / "models" / f"parceldesk-{digest or model_hash()}.tar.gz"


def ensure_model(
    settings: Settings,
    engine: Engine,
    progress: Progress | None = None,
    *,
    force: bool = False,
    root: Path = PROJECT_ROOT,
) -> Path:
    """A model trained on the data and config under root: reused when the content hash matches, trained otherwise.

    root is the project by default; the learning loop's tests train from a copy of it.
    """
    digest = model_hash(root)
    target = model_path(settings, digest)
    if target.exists() and not force:
        return target
    if progress:
        progress(f"training the model for content hash {digest} (a few minutes cold)")
    args = ["train", "--config", "config.yml", "--domain", "domain.yml", "--data", "nlu/data"]
    return _train_cached(settings, engine, target, args, progress=progress, force=force, cwd=root)


def _train_cached(
    settings: Settings,
    engine: Engine,
    target: Path,
    args: list[str],
    *,
    progress: Progress | None,
    force: bool = False,
    cwd: Path = PROJECT_ROOT,
) -> Path:
    """Run a `rasa train …` into a scratch folder and move the model to `target`, once, under a lock."""
    name = target.name.removesuffix(".tar.gz")
    with _locked(settings.cache_dir / "locks" / f"{name}.lock"):
        if target.exists() and not force:
            return target
        out = settings.cache_dir / "models" / f"training-{name}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        log = settings.cache_dir / "models" / f"train-{name}.log"
        try:
            engine.train([*args, "--out", str(out), "--fixed-model-name", name], progress=progress, log=log, cwd=cwd)
            produced = out / f"{name}.tar.gz"
            if not produced.exists():
                raise EngineError(f"rasa {' '.join(args[:2])} finished but wrote no model at {produced}")
            produced.replace(target)
        except EngineError as exc:
            raise EngineError(f"{exc}\n(full training log: {log})") from exc
        finally:
            # A failed run leaves half-written files; the next attempt starts clean anyway.
            shutil.rmtree(out, ignore_errors=True)
    return target


def write_endpoints(settings: Settings) -> Path:
    """An endpoints file pointing Rasa at our action server and at our database (ports are settings, so generated)."""
    path = settings.cache_dir / "run" / f"endpoints-{settings.rasa_port}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    # Conversations live in the application's database (nlu/trackerstore.py), not in Rasa's memory: `PUT /model`
    # builds a new agent with a new tracker store, and a restarted Rasa must continue every open conversation.
    # No secret is in the file: Rasa expands ${...} (the action server's secret, the database password) from its
    # environment when it reads it (rasa_endpoint_env).
    store = tracker_store_endpoint(settings)
    # Earlier versions kept this Rasa's conversations in a private SQLite file here, which erasure and retention
    # no longer reach: personal data nobody could erase, so it goes. Only this port's: another Rasa of an older
    # version may be running on this machine with its own file.
    for orphan in path.parent.glob(f"trackers-{settings.rasa_port}.db*"):
        orphan.unlink(missing_ok=True)
    body = (
        f'action_endpoint:\n  url: "{settings.action_server_url}"\n'
        f"  headers:\n    {ACTION_TOKEN_HEADER}: ${{{ACTION_TOKEN_ENV}}}\n{store.section}"
    )
    # Written readable by its owner only (it names the database and its login), then moved into place.
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(body)
    scratch.replace(path)
    return path


def rasa_endpoint_env(settings: Settings) -> dict[str, str]:
    """What Rasa's environment needs for the endpoints file: the tracker store's password and pool size."""
    return tracker_store_endpoint(settings).env


def nlu_model_path(settings: Settings, config: Path) -> Path:
    """Where an NLU-only model for a pipeline config and the current training data lives."""
    files = [config, *(p for p in model_inputs() if p.name != "config.yml")]
    digest = _digest(files, PROJECT_ROOT)[:16]
    return settings.cache_dir / "models" / f"nlu-{config.stem}-{digest}.tar.gz"


def ensure_nlu_model(settings: Settings, engine: Engine, config: Path, progress: Progress | None = None) -> Path:
    """An NLU-only model for this pipeline config on the current data (cached by content hash)."""
    target = nlu_model_path(settings, config)
    if target.exists():
        return target
    args = ["train", "nlu", "--config", str(config), "--domain", "domain.yml", "--nlu", "nlu/data"]
    return _train_cached(settings, engine, target, args, progress=progress)


def parse_texts(engine: Engine, model: Path, texts: list[str]) -> list[dict[str, object]]:
    """Parse texts with a model (one engine process for all of them); one JSON dict per text, in order."""
    clean = [" ".join(text.split()) for text in texts]
    result = subprocess.run(
        [str(engine.python), str(PROJECT_ROOT / "engine" / "parse.py"), str(model)],
        input="\n".join(clean) + "\n",
        capture_output=True,
        text=True,
        env=engine.env(),
        cwd=PROJECT_ROOT,
    )
    if result.returncode != 0:
        raise EngineError(f"parsing failed ({result.returncode}):\n{result.stderr[-3000:]}")
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    if len(records) != len([t for t in clean if t.strip()]):
        raise EngineError(f"expected {len(clean)} parses, got {len(records)}:\n{result.stderr[-2000:]}")
    return records
