"""The ``foundry_video.testing`` pytest plugin, exercised the way users meet it: in a separate
pytest session (``pytester``) that loads it through its ``pytest11`` entry point."""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
import textwrap

import pytest

import foundry_video
import foundry_video.emulator
import foundry_video.testing

from .test_docs import blocks

pytest_plugins = ["pytester"]

# The inner sessions run in this process (fast), and pytester drops the modules they import
# when they end. Load every public name now, so the package's cached attributes and freshly
# imported submodules never disagree about class identity (JobFailedError is JobFailedError).
for _name in foundry_video.__all__:
    getattr(foundry_video, _name)
if importlib.util.find_spec("av") is not None:  # C extensions cannot be imported twice
    importlib.import_module("foundry_video.emulator._render")

INI = """
[pytest]
asyncio_mode = {mode}
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".ini", pytest=INI.format(mode="auto"))
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # hypothesis's plugin imports all of hypothesis at session end: not needed here
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)


def test_plugin_is_registered_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="pytest11") if e.value == "foundry_video.testing"]
    assert entry.load().__name__ == "foundry_video.testing"


def test_importing_the_plugin_stays_light() -> None:
    """pytest imports the plugin in every run: no aiohttp, pydantic or PyAV at import."""
    code = ("import sys, foundry_video.testing; "
            "print(sorted(m for m in ('aiohttp', 'pydantic', 'av', 'foundry_video.emulator', "
            "'foundry_video._client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_fixtures_markers_and_faults(project: pytest.Pytester) -> None:
    project.makepyfile(test_app=textwrap.dedent('''
        import pytest

        from foundry_video import (APIConnectionError, ContentExpiredError, ContentPolicyError,
                                   InternalServerError, JobFailedError, ManualClock,
                                   RateLimitError, VideoClient)
        from foundry_video.emulator import Emulator, PlaceholderRenderer
        from foundry_video.testing import TEST_API_KEY, VideoFaults


        async def test_client_and_emulator_share_a_clock(video_client, video_emulator, video_clock):
            assert isinstance(video_client, VideoClient) and isinstance(video_emulator, Emulator)
            assert video_client.clock is video_clock is video_emulator.clock
            assert isinstance(video_clock, ManualClock)
            job = await video_client.videos.create(prompt="a cat", seconds=4)
            video = await job
            assert video.status == "completed"
            assert video_clock.monotonic() >= 10  # 2 s queued + 10 s running, all virtual
            assert video_emulator.requests[0].headers["api-key"] == "REDACTED"


        async def test_default_renderer_is_real_when_pyav_is_installed(video_client, tmp_path):
            pytest.importorskip("av")
            job = await video_client.videos.create(prompt="a cat", size="1280x720", seconds=4)
            path = await job.result(tmp_path / "cat.mp4")
            import av
            with av.open(str(path)) as container:
                assert container.streams.video[0].codec_context.width == 1280


        @pytest.mark.video_emulator(job_seconds=300, queue_seconds=0, renderer="placeholder")
        async def test_emulator_marker(video_client, video_emulator, video_clock):
            assert isinstance(video_emulator.ctx.content.renderer, PlaceholderRenderer)
            await (await video_client.videos.create(prompt="a cat", seconds=4))
            assert 300 <= video_clock.monotonic() < 400


        @pytest.mark.video_emulator(api_keys={"other"})
        async def test_emulator_marker_can_change_keys(video_client):
            from foundry_video import AuthenticationError
            with pytest.raises(AuthenticationError):
                await video_client.videos.list()


        @pytest.mark.video_client(max_retries=0)
        async def test_client_marker(video_client, video_faults):
            video_faults.server_error(503, operation="list")
            with pytest.raises(InternalServerError):
                await video_client.videos.list()


        pytestmark = pytest.mark.video_emulator(queue_seconds=1)


        @pytest.mark.video_emulator(job_seconds=5)
        async def test_markers_merge_closest_wins(video_client, video_clock):
            await (await video_client.videos.create(prompt="a cat", seconds=4))
            assert 6 <= video_clock.monotonic() < 12


        async def test_faults(video_client, video_faults, video_clock, tmp_path):
            assert isinstance(video_faults, VideoFaults)
            limited = video_faults.rate_limit(retry_after=7, operation="create")
            job = await video_client.videos.create(prompt="a cat", seconds=4)
            assert limited.fired == 1 and 7 in video_clock.sleeps
            dropped = video_faults.drop_connection(operation="retrieve")
            await job
            assert dropped.fired == 1
            cut = video_faults.truncate_download(after_bytes=500)
            path = await job.result(tmp_path / "a.mp4")
            assert cut.fired == 1 and path.stat().st_size > 500
            video_faults.content_policy()
            with pytest.raises(ContentPolicyError):
                await video_client.videos.create(prompt="a cat", seconds=4)
            video_faults.job_failed(code="internal_error", message="boom")
            failing = await video_client.videos.create(prompt="a cat", seconds=4)
            with pytest.raises(JobFailedError) as caught:
                await failing
            assert (caught.value.code, caught.value.message) == ("internal_error", "boom")
            video_faults.content_policy(stage="completion")
            moderated = await video_client.videos.create(prompt="a cat", seconds=4)
            with pytest.raises(JobFailedError) as caught:
                await moderated
            assert caught.value.is_content_policy
            slow = video_faults.inject("slow_body", operation="content", chunk_size=4096,
                                       delay=0)
            await job.result(tmp_path / "b.mp4")
            assert slow.fired == 1
            video_faults.expire_content(job.id)
            with pytest.raises(ContentExpiredError):
                await video_client.videos.download(job.id, tmp_path / "late.mp4")
            forever = video_faults.server_error(500, times=None, operation="list")
            assert forever in video_faults.pending
            video_faults.clear()
            assert video_faults.pending == []
            await video_client.videos.list()


        @pytest.mark.video_client(max_retries=0)
        async def test_drop_connection_surfaces(video_client, video_faults):
            # aiohttp itself retries an idempotent request once when the connection drops
            video_faults.drop_connection(operation="list", times=2)
            with pytest.raises(APIConnectionError):
                await video_client.videos.list()


        async def test_video_env(video_env, video_emulator, tmp_path):
            assert video_env == {"AZURE_OPENAI_ENDPOINT": video_emulator.endpoint,
                                 "AZURE_OPENAI_API_KEY": TEST_API_KEY}
            async with VideoClient.from_env() as client:
                assert client.clock is video_emulator.clock
                job = await client.videos.create(prompt="a cat", seconds=4)
                assert (await job).status == "completed"
    '''))
    result = run(project, "--strict-markers", "-v")
    result.assert_outcomes(passed=9)


def test_options_fixtures_can_be_overridden(project: pytest.Pytester) -> None:
    project.makeconftest('''
        import pytest

        @pytest.fixture
        def video_emulator_options(video_emulator_options):
            return {**video_emulator_options, "job_seconds": 60, "renderer": "placeholder"}

        @pytest.fixture
        def video_client_options():
            return {"poll_interval": 5.0}
    ''')
    project.makepyfile('''
        import pytest

        async def test_overrides(video_client, video_clock):
            assert video_client.poll_interval == 5.0
            await (await video_client.videos.create(prompt="a cat", seconds=4))
            assert 62 <= video_clock.monotonic() < 70

        @pytest.mark.video_emulator(job_seconds=1)
        async def test_marker_beats_options(video_client, video_clock):
            await (await video_client.videos.create(prompt="a cat", seconds=4))
            assert video_clock.monotonic() < 10
    ''')
    run(project).assert_outcomes(passed=2)


def test_works_in_pytest_asyncio_strict_mode(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ini", pytest=INI.format(mode="strict"))
    pytester.makepyfile('''
        import pytest

        @pytest.mark.asyncio
        async def test_strict(video_client):
            job = await video_client.videos.create(prompt="a cat", seconds=4)
            assert (await job).status == "completed"
    ''')
    run(pytester).assert_outcomes(passed=1)


def test_marker_rejects_positional_arguments(project: pytest.Pytester) -> None:
    project.makepyfile('''
        import pytest

        @pytest.mark.video_emulator(30)
        async def test_bad(video_emulator):
            pass
    ''')
    result = run(project)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*takes keyword arguments only*"])


def test_markers_are_documented_in_pytest_markers(project: pytest.Pytester) -> None:
    result = run(project, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.video_emulator(**options):*",
                                 "@pytest.mark.video_client(**options):*"])


def test_the_testing_guide_test_files_pass(project: pytest.Pytester) -> None:
    """The test files shown in docs/testing.md, run as a user would run them."""
    files = {}
    for block in blocks("testing.md"):
        if block.directive != "pytest":
            continue
        title = re.search(r'title="([^"]+)"', block.info)
        assert title, f"{block.where}: a pytest block needs a title=\"test_....py\""
        files[title.group(1)] = block.code
    assert "conftest.py" in files and len(files) >= 6
    for name, code in files.items():
        (project.path / name).write_text(code, encoding="utf-8")
    result = run(project, "-v")
    expected = sum(len(re.findall(r"^(?:async )?def test_", code, re.M)) for code in files.values())
    assert expected >= 8
    result.assert_outcomes(passed=expected)
