"""The wheel holds everything an installed tclbridge needs (not only what an
editable install of the source tree finds beside the package), and the
metadata Python users check first: licence, authors, project URLs,
classifiers, py.typed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

from tclbridge.help_command import TOPICS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: setuptools builds in place and would leave build/
    # (whose stale files later wheels would ship) in the source tree.
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".nox", "build", "*.egg-info", "__pycache__", ".hypothesis", "capture"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-q", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (built_wheel,) = tmp_path.glob("tclbridge-*.whl")
    return built_wheel


def test_wheel_contains_every_package_and_the_tcl_shims(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    source_packages = {
        str(init.parent.relative_to(ROOT)) for init in (ROOT / "tclbridge").rglob("__init__.py")
    }
    for package in source_packages:
        assert f"{package}/__init__.py" in names, package
    for shim in (ROOT / "tcl_shims").glob("*.tcl"):
        assert f"tclbridge/_shims/{shim.name}" in names, shim.name


def test_wheel_ships_py_typed_the_licence_and_the_help_topics(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "tclbridge/py.typed" in names
    (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert "Copyright (c) 2026 The tclbridge authors" in (
        zipfile.ZipFile(wheel).read(licence).decode())
    # What `tclbridge help TOPIC` shows, installed with the package.
    for file, _ in TOPICS.values():
        assert f"tclbridge/_docs/{file}" in names, file
    assert {n for n in names if n.startswith("tclbridge/_docs/")} == {
        f"tclbridge/_docs/{file}" for file, _ in TOPICS.values()}


def test_wheel_ships_the_web_viewers_templates_and_static_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("templates", "static"):
        files = sorted((ROOT / "tclbridge" / folder).iterdir())
        assert len(files) >= 2, folder
        for file in files:
            assert f"tclbridge/{folder}/{file.name}" in names, file


def test_wheel_metadata_states_licence_authors_urls_and_pythons(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    fields = HeaderParser().parsestr(archive.read(metadata).decode())
    assert fields["License-Expression"] == "MIT"
    assert fields.get_all("License-File") == ["LICENSE"]
    assert fields["Author"] == "The tclbridge authors"
    assert fields["Requires-Python"] == ">=3.10"
    urls = dict(u.split(", ", 1) for u in fields.get_all("Project-URL"))
    assert set(urls) == {"Homepage", "Source", "Issues", "Changelog"}
    assert all(u.startswith("https://github.com/tclbridge/tclbridge") for u in urls.values())
    classifiers = fields.get_all("Classifier")
    assert [c for c in classifiers if c.startswith("Programming Language :: Python :: 3.")] == [
        f"Programming Language :: Python :: 3.{n}" for n in (10, 11, 12, 13)]
    assert {"Typing :: Typed", "Topic :: Communications :: Email",
            "Development Status :: 4 - Beta"} <= set(classifiers)


def test_wheel_installs_both_commands(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = archive.read(entry_points).decode()
    section = text.split("[console_scripts]\n", 1)[1].split("\n\n", 1)[0]
    assert sorted(section.strip().splitlines()) == [
        "tclbridge = tclbridge.cli:entry", "tclbridge-tclsh = tclbridge.tclsh:entry"]
