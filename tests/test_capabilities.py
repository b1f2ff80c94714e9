"""foundry_video.capabilities: the limits table as data (its JSON shape, defaults, edits)
and the checks it drives, with the messages a user reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from foundry_video import CapabilityTable, ModelCapabilities, default_capabilities

FULL = {
    "api": "generation_jobs",
    "sizes": ["1280x720", "480x480"],
    "seconds": [5, 10],
    "default_size": "480x480",
    "default_seconds": 5,
    "variants": ["thumbnail", "video"],
    "audio": False,
    "max_prompt_chars": 100,
    "input_reference_types": ["image/png"],
    "extension_seconds": [4],
    "max_variants": {"480x480": 4},
}


def test_every_field_round_trips_through_the_json_shape() -> None:
    caps = ModelCapabilities.from_dict(FULL)
    assert caps == ModelCapabilities(
        api="generation_jobs", sizes=frozenset({"1280x720", "480x480"}),
        seconds=frozenset({5, 10}), default_size="480x480", default_seconds=5,
        variants=frozenset({"video", "thumbnail"}), audio=False, max_prompt_chars=100,
        input_reference_types=frozenset({"image/png"}), extension_seconds=frozenset({4}),
        max_variants={"480x480": 4})
    assert caps.to_dict() == FULL


def test_missing_fields_take_the_documented_defaults() -> None:
    caps = ModelCapabilities.from_dict({})
    assert caps == ModelCapabilities()
    assert caps.to_dict() == {
        "api": "videos", "sizes": None, "seconds": None, "default_size": None,
        "default_seconds": None, "variants": ["spritesheet", "thumbnail", "video"],
        "audio": True, "max_prompt_chars": 32000, "input_reference_types": None,
        "extension_seconds": None, "max_variants": {}}


def test_a_table_reads_a_models_mapping_or_a_bare_one_and_skips_comments(tmp_path: Path) -> None:
    wrapped = CapabilityTable.from_dict({"_comment": "x", "models": {"m": FULL, "_note": {}}})
    bare = CapabilityTable.from_dict({"m": FULL, "_comment": "x"})
    assert list(wrapped) == list(bare) == ["m"]
    assert wrapped["m"] == bare["m"] == ModelCapabilities.from_dict(FULL)
    path = tmp_path / "limits.json"
    path.write_text(json.dumps({"models": {"café-déploiement": FULL}}, ensure_ascii=False),
                    encoding="utf-8")
    assert list(CapabilityTable.from_file(path)) == ["café-déploiement"]
    assert wrapped.to_dict() == {"models": {"m": FULL}}
    assert repr(CapabilityTable.from_dict({"b": {}, "a": {}})) == "CapabilityTable(['a', 'b'])"


def test_with_model_aliases_extends_or_replaces() -> None:
    table = default_capabilities()
    aliased = table.with_model("prod", "sora-2-pro-2025-10-06", seconds=frozenset({8}))
    assert aliased["prod"] == ModelCapabilities(**{**vars(table["sora-2-pro"]),
                                                   "seconds": frozenset({8})})
    assert "prod" not in table  # a copy: the original table is unchanged
    custom = ModelCapabilities(sizes=frozenset({"64x64"}))
    assert table.with_model("tiny", custom)["tiny"] is custom
    # No base: the model's own entry if there is one, else the generic limits.
    assert table.with_model("sora", audio=True)["sora"] == ModelCapabilities(
        **{**vars(table["sora"]), "audio": True})
    assert table.with_model("new")["new"] == ModelCapabilities()
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        table.with_model("x", "nope")


def test_names_resolve_exactly_then_by_snapshot_family() -> None:
    table = default_capabilities()
    assert table.resolve("sora-2-2025-12-08") is table["sora-2"]
    assert table.resolve("sora-2-latest") is None
    assert table.resolve("my-deployment") is None
    with pytest.raises(KeyError, match="my-deployment"):
        table["my-deployment"]
    assert len(table) == len(list(table)) == 3


def test_size_checks_quote_the_allowed_sizes_in_size_order() -> None:
    caps = default_capabilities()["sora-2-pro"]
    caps.check_size("sora-2-pro", "1920x1080")
    with pytest.raises(ValueError) as info:
        caps.check_size("sora-2-pro", "1000x1000")
    assert str(info.value) == (
        "size '1000x1000' is not supported by model 'sora-2-pro'; allowed: 720x1280, "
        "1024x1792, 1080x1920, 1280x720, 1792x1024, 1920x1080")
    for bad in ("1280X720", "1280x", "0x720", "1280x720p", " 1280x720"):
        with pytest.raises(ValueError, match=r"^size must look like '1280x720' \(width x height\)"):
            caps.check_size("sora-2-pro", bad)
    ModelCapabilities().check_size("any", "64x48")  # no list: any well-formed size


def test_seconds_checks_for_clips_and_extensions() -> None:
    caps = ModelCapabilities(seconds=frozenset({12, 4, 8}), extension_seconds=frozenset({20}))
    caps.check_seconds("m", 8)
    caps.check_seconds("m", 20, extension=True)
    with pytest.raises(ValueError) as info:
        caps.check_seconds("m", 20)
    assert str(info.value) == "seconds=20 is not supported by model 'm'; allowed: 4, 8, 12"
    with pytest.raises(ValueError) as info:
        caps.check_seconds("m", 8, extension=True)
    assert str(info.value) == "extension seconds=8 is not supported by model 'm'; allowed: 20"
    for bad in (0, -4):
        with pytest.raises(ValueError, match=f"^seconds must be positive, got {bad}$"):
            ModelCapabilities().check_seconds("m", bad)
    ModelCapabilities().check_seconds("m", 1)


def test_prompt_checks() -> None:
    caps = ModelCapabilities(max_prompt_chars=5)
    caps.check_prompt("12345")
    with pytest.raises(ValueError, match=r"^prompt is 6 characters; the limit is 5$"):
        caps.check_prompt("123456")
    for empty in ("", "   "):
        with pytest.raises(ValueError, match=r"^prompt must be a non-empty string$"):
            caps.check_prompt(empty)
    ModelCapabilities(max_prompt_chars=None).check_prompt("x" * 100_000)


def test_variant_checks() -> None:
    caps = default_capabilities()["sora"]
    caps.check_variant("sora", "thumbnail")
    with pytest.raises(ValueError) as info:
        caps.check_variant("sora", "spritesheet")
    assert str(info.value) == ("variant 'spritesheet' is not available for 'sora'; "
                               "allowed: thumbnail, video")
    caps.check_variant_count("sora", "480x480", 4)
    with pytest.raises(ValueError) as info:
        caps.check_variant_count("sora", "1280x720", 3)
    assert str(info.value) == "n_variants=3 is too many for 1280x720 on 'sora'; the limit is 2"
    with pytest.raises(ValueError, match=r"^n_variants must be at least 1, got 0$"):
        caps.check_variant_count("sora", "480x480", 0)
    caps.check_variant_count("sora", "999x999", 10)  # no cap for that size


def test_the_environment_variable_replaces_the_built_in_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "limits.json"
    path.write_text(json.dumps({"models": {"only-this": {}}}))
    monkeypatch.setenv("FOUNDRY_VIDEO_CAPABILITIES", str(path))
    assert list(default_capabilities()) == ["only-this"]
    monkeypatch.setenv("FOUNDRY_VIDEO_CAPABILITIES", "")
    assert "sora-2" in default_capabilities()


def test_a_limits_file_is_utf8_whatever_the_locale(tmp_path: Path) -> None:
    # Windows and C-locale hosts default to another encoding: a non-ASCII deployment name
    # must still load. The child runs with an ASCII locale encoding.
    path = tmp_path / "limits.json"
    path.write_text(json.dumps({"models": {"café": FULL}}, ensure_ascii=False),
                    encoding="utf-8")
    code = ("import locale, os, sys\n"
            # A mutation run names its mutant in UTF-8 ("xǁ..."), which the ASCII locale
            # decodes as surrogates: restore it, or mutmut cannot select its mutant here.
            "name = os.environ.get('MUTANT_UNDER_TEST')\n"
            "if name: os.environ['MUTANT_UNDER_TEST'] = os.fsencode(name).decode('utf-8')\n"
            "from foundry_video.capabilities import CapabilityTable\n"
            "assert 'utf' not in locale.getpreferredencoding(False).lower()\n"
            "print(ascii(list(CapabilityTable.from_file(sys.argv[1]))))\n")
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
           "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    # The same answer as here (calling it here also tells mutmut that this test reaches it).
    assert done.stdout.strip() == ascii(list(CapabilityTable.from_file(path))) == ascii(["café"])
