"""The documentation: every code block on every page runs, and the site builds.

Each ```python block in ``docs/*.md`` is executed, in page order, in one namespace per page
(as a reader would type them into ``python -m asyncio`` or Jupyter), against an emulator
running in a background thread. Conventions, as HTML comments right before a block:

* ``<!-- docs-test: skip (reason) -->``: not executed (e.g. it needs a Celery broker);
* ``<!-- docs-test: setup ... -->``: hidden Python run first (``_emu`` is the emulator,
  ``_Fault`` its fault class, ``_gradient_png(w, h)`` makes an image,
  ``_use_realtime_emulator()`` points ``AZURE_OPENAI_ENDPOINT`` at a second emulator on the
  real clock with sub-second jobs, for code whose clients live in other processes);
* ``<!-- docs-test: pytest -->``: a test file for users, run by ``test_testing_plugin.py``;
* ``<!-- docs-test: run-cli -->`` on a bash block: each ``foundry-video`` line is run.

Blocks that only include an example file (``--8<--``) are covered by ``test_examples.py``.
``https://my-resource.openai.azure.com`` and ``https://api.openai.com/v1`` in a block are
pointed at the emulator; ``AZURE_OPENAI_ENDPOINT``/``AZURE_OPENAI_API_KEY`` are set; clients
built without ``clock=`` share the emulator's virtual clock, so jobs finish at once; and
``azure.identity`` credentials are replaced by offline fakes.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import html
import importlib.util
import inspect
import logging
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import foundry_video._client
from foundry_video import ManualClock, SyncVideoClient, VideoClient, cli
from foundry_video.emulator import Emulator, Fault, PlaceholderRenderer

from .fakes import ThreadedEmulator

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
AZURE_PLACEHOLDER = "https://my-resource.openai.azure.com"
OPENAI_PLACEHOLDER = "https://api.openai.com/v1"
QUIET_COMMANDS = {"generate", "wait", "remix", "edit", "extend", "batch"}
DOCS_ID = "video_68d2c1f0"  # the example id used on the CLI page

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`\n]*)\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.M | re.S)
_DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(?P<kind>[\w-]+)(?P<rest>.*?)-->\s*$", re.S)


@dataclass
class Block:
    page: str
    line: int
    lang: str
    code: str
    directive: str | None
    setup: str | None
    info: str = ""
    note: str = ""

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def blocks(page: str) -> list[Block]:
    """Fenced code blocks of a page, with the docs-test directive just before each."""
    text = (DOCS / page).read_text(encoding="utf-8")
    found: list[Block] = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip()
        directive = setup = None
        note = ""
        comment = re.search(r"<!--(?:(?!<!--).)*-->\Z", before, re.S)
        if comment:
            parsed = _DIRECTIVE.fullmatch(comment.group(0))
            if parsed:
                directive = parsed.group("kind")
                note = parsed.group("rest").strip()
                if directive == "setup":
                    setup = parsed.group("rest").strip("\n")
        indent = match.group("indent")
        body = "".join(line[len(indent):] if line.startswith(indent) else line
                       for line in match.group("body").splitlines(keepends=True))
        found.append(Block(page, text.count("\n", 0, match.start()) + 1,
                           match.group("info").split()[0] if match.group("info").split() else "",
                           body, directive, setup, match.group("info"), note))
    return found


def is_include(block: Block) -> bool:
    return block.code.lstrip().startswith("--8<--")


def runnable(block: Block) -> bool:
    return (block.lang in ("python", "py") and block.directive not in ("skip", "pytest")
            and not is_include(block))


# -- an emulator in a thread, and fakes for azure-identity ------------------------------


class _FakeToken:
    def __init__(self) -> None:
        self.token = "fake-entra-token"
        self.expires_on = int(time.time()) + 3600


class FakeAsyncCredential:
    """Stands in for azure.identity.aio credentials (no network, no Azure account)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.closed = False

    async def get_token(self, *scopes: str, **kwargs: Any) -> _FakeToken:
        assert scopes, "a scope is required"
        return _FakeToken()

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> FakeAsyncCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class FakeSyncCredential:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def get_token(self, *scopes: str, **kwargs: Any) -> _FakeToken:
        return _FakeToken()

    def close(self) -> None:
        pass


def fake_bearer_token_provider(credential: Any, *scopes: str) -> Any:
    assert scopes, "a scope is required"
    return lambda: credential.get_token(*scopes).token


def _load_support() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_docs_examples_support",
                                                  ROOT / "examples" / "_support.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def docs_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A threaded emulator, the environment pointing at it, and a temp working directory."""
    identity = pytest.importorskip("azure.identity")
    identity_aio = pytest.importorskip("azure.identity.aio")
    clock = ManualClock()
    with ThreadedEmulator(clock=clock, renderer=PlaceholderRenderer()) as emulator:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emulator.endpoint)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "docs-key")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-docs-key")
        monkeypatch.delenv("FOUNDRY_VIDEO_CAPABILITIES", raising=False)
        monkeypatch.setattr(foundry_video._client, "SystemClock", lambda: clock)
        for name in ("DefaultAzureCredential", "ManagedIdentityCredential"):
            monkeypatch.setattr(identity_aio, name, FakeAsyncCredential)
        monkeypatch.setattr(identity, "DefaultAzureCredential", FakeSyncCredential)
        monkeypatch.setattr(identity, "get_bearer_token_provider", fake_bearer_token_provider)
        monkeypatch.chdir(tmp_path)
        logger = logging.getLogger("foundry_video")
        level = logger.level
        try:
            yield emulator
        finally:
            logger.setLevel(level)


def _run(source: str, filename: str, namespace: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
    code = compile(source, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if code.co_flags & inspect.CO_COROUTINE:
        loop.run_until_complete(eval(code, namespace))
    else:
        exec(code, namespace)


async def _close_clients(namespace: dict[str, Any]) -> None:
    for value in list(namespace.values()):
        if isinstance(value, VideoClient):
            await value.close()
        elif isinstance(value, SyncVideoClient):
            value.close()


def run_page(page: str, emulator: Emulator) -> int:
    """Run every runnable block of ``page``; return how many ran."""
    resources = contextlib.ExitStack()

    def use_realtime_emulator() -> None:
        realtime = resources.enter_context(ThreadedEmulator(
            job_seconds=0.3, queue_seconds=0.1, renderer=PlaceholderRenderer()))
        os.environ["AZURE_OPENAI_ENDPOINT"] = realtime.endpoint  # docs_env's monkeypatch restores it

    namespace: dict[str, Any] = {"__name__": "__main__", "_emu": emulator, "_Fault": Fault,
                                 "_gradient_png": _load_support().gradient_png,
                                 "_use_realtime_emulator": use_realtime_emulator}
    loop = asyncio.new_event_loop()
    ran = 0
    try:
        for block in blocks(page):
            if block.setup:
                _run(block.setup, f"{block.where} (setup)", namespace, loop)
            if not runnable(block):
                continue
            code = block.code.replace(AZURE_PLACEHOLDER, emulator.endpoint)
            code = code.replace(OPENAI_PLACEHOLDER, emulator.endpoint + "/v1")
            try:
                _run(code, block.where, namespace, loop)
            except BaseException as exc:
                raise AssertionError(f"the code block at {block.where} failed: {exc!r}") from exc
            ran += 1
        loop.run_until_complete(_close_clients(namespace))
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        resources.close()
    return ran


# -- the tests -------------------------------------------------------------------------


RUNNABLE_PAGES = [page for page in PAGES if any(runnable(b) for b in blocks(page))]


def test_the_pages_have_runnable_code() -> None:
    assert {"index.md", "quickstart.md", "authentication.md", "sora2.md", "sora1.md",
            "jobs.md", "errors.md", "models.md", "testing.md", "scaling.md",
            "scripts-and-notebooks.md"} <= set(RUNNABLE_PAGES)


# scaling.md starts a Dask cluster: its own test below runs it once and checks the output.
@pytest.mark.parametrize("page", [page for page in RUNNABLE_PAGES if page != "scaling.md"])
def test_page_code_runs(page: str, docs_env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    ran = run_page(page, docs_env)
    assert ran > 0
    out = capsys.readouterr().out
    assert "Traceback" not in out


def test_scaling_page_runs_its_batch_on_a_dask_cluster(docs_env: Emulator,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run_page("scaling.md", docs_env)
    lines = capsys.readouterr().out.splitlines()
    saved = [line for line in lines if re.fullmatch(r"\S+ /\S+/videos/\S+\.mp4", line)]
    assert len(saved) == 3 and lines[-1] == "True", lines  # three videos, then all resumed
    assert not any(block.directive == "skip" for block in blocks("scaling.md"))


def test_every_python_block_is_accounted_for() -> None:
    """No block is silently ignored: it runs, is an include, or says why it is skipped."""
    for page in PAGES:
        for block in blocks(page):
            if block.lang not in ("python", "py"):
                continue
            if block.directive == "skip":
                assert re.fullmatch(r"\(.+\)", block.note), f"{block.where}: say why: skip (...)"
            assert block.directive in (None, "skip", "pytest") or block.setup is not None, \
                f"{block.where}: unknown directive {block.directive!r}"


def test_includes_point_at_existing_sections() -> None:
    include = re.compile(r'--8<--\s+"(?P<file>[^":]+)(?::(?P<section>[\w-]+))?"')
    seen = 0
    for page in PAGES:
        for match in include.finditer((DOCS / page).read_text(encoding="utf-8")):
            path = ROOT / match.group("file")
            assert path.is_file(), f"docs/{page}: {path} does not exist"
            section = match.group("section")
            if section:
                text = path.read_text(encoding="utf-8")
                assert f"--8<-- [start:{section}]" in text and f"--8<-- [end:{section}]" in text, \
                    f"docs/{page}: no section {section!r} in {match.group('file')}"
            seen += 1
    assert seen >= 10


def _cli_lines(block: Block) -> list[list[str]]:
    commands = []
    for line in block.code.splitlines():
        if line.strip().startswith("foundry-video "):
            commands.append(shlex.split(line, comments=True)[1:])
    return commands


def test_every_cli_line_in_the_docs_parses() -> None:
    parser = cli.build_parser()
    count = 0
    for page in PAGES:
        for block in blocks(page):
            if block.lang not in ("bash", "sh", "shell", "console"):
                continue
            for argv in _cli_lines(block):
                try:
                    parser.parse_args(argv)
                except SystemExit:
                    pytest.fail(f"{block.where}: 'foundry-video {shlex.join(argv)}' does not parse")
                count += 1
    assert count >= 10


def test_cli_examples_run(docs_env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    cli_blocks = [b for b in blocks("cli.md") if b.directive == "run-cli"]
    assert cli_blocks, "cli.md marks its examples with <!-- docs-test: run-cli -->"
    video_id = None
    for block in cli_blocks:
        for argv in _cli_lines(block):
            if video_id is not None:
                argv = [video_id if arg == DOCS_ID else arg for arg in argv]
            quiet = ["-q"] if argv[0] in QUIET_COMMANDS else []  # only commands that wait have it
            code = cli.main([*argv, *quiet])
            out = capsys.readouterr().out
            assert code == 0, f"{block.where}: foundry-video {shlex.join(argv)} -> {code}\n{out}"
            if video_id is None:
                found = re.search(r"video_[0-9a-f]+", out)
                assert found, out
                video_id = found.group(0)
    assert Path("lighthouse.webp").is_file() and Path("snow.mp4").is_file()


# -- the built site ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _text(page_html: str) -> str:
    """Visible text: tags dropped (code highlighting splits tokens into spans)."""
    without = re.sub(r"<(script|style)\b.*?</\1>", "", page_html, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", without))


def test_home_page_renders(site: Path) -> None:
    page = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(r"<title>foundry-video</title>", page)
    assert re.search(r'<h1 id="foundry-video">foundry-video', page)
    text = _text(page)
    assert "Async Python SDK for Sora video generation" in text
    assert re.search(r'<h2 id="30-second-example">30-second example', page)
    # the example is a highlighted code block, whole
    assert "async with VideoClient.from_env() as client:" in text
    assert 'path = await job.result("cat.mp4")' in text
    assert "asyncio.run(main())" in text
    assert 'class="language-python highlight"' in page or "highlight" in page
    assert "pip install foundry-video" in text
    # navigation
    for entry in ("Quickstart", "Authentication", "Sora 2 videos", "Sora 1 jobs", "Jobs",
                  "Errors and retries", "Testing your app", "Scaling out", "CLI reference",
                  "API reference", "Changelog"):
        assert re.search(rf'class="md-nav__link[^"]*"[^>]*>\s*(<[^>]+>\s*)*{re.escape(entry)}', page), entry
    assert "--8<--" not in page and ":class:" not in text


def test_included_files_and_reference_render(site: Path) -> None:
    for path in site.rglob("*.html"):
        text = _text(path.read_text(encoding="utf-8"))
        assert "--8<--" not in text, f"an unresolved include in {path}"
        assert not re.search(r":(class|meth|func|exc|attr|mod):`?", text), f"an RST role in {path}"
    examples = _text((site / "examples" / "index.html").read_text(encoding="utf-8"))
    assert "async def generate_all(" in examples and "[start:" not in examples
    changelog = _text((site / "changelog" / "index.html").read_text(encoding="utf-8"))
    assert "Unreleased" in changelog
    reference = (site / "reference" / "client" / "index.html").read_text(encoding="utf-8")
    for anchor in ("foundry_video.VideoClient", "foundry_video.Job", "foundry_video.Job.result",
                   "foundry_video.ContentPolicyError", "foundry_video.GenerationJobs"):
        assert f'id="{anchor}"' in reference, anchor
    testing = (site / "reference" / "testing" / "index.html").read_text(encoding="utf-8")
    assert 'id="foundry_video.testing.VideoFaults"' in testing
