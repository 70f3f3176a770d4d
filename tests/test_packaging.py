"""Packaging pieces that run without a build: resources lookup, licenses, icons, .desktop."""

from __future__ import annotations

import configparser
import importlib.util
import struct
import sys
from importlib import metadata
from pathlib import Path

import pytest
from PySide6.QtGui import QImage, QImageReader

from app import licenses
from app.resources import resource_path, resources_root

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"


def _load_export_icons():
    # packaging/ is not a Python package (and `packaging` is a PyPI name): load by path.
    path = ROOT / "packaging" / "export_icons.py"
    spec = importlib.util.spec_from_file_location("export_icons", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_resource_path_finds_files_in_the_source_tree():
    assert resources_root() == ROOT / "resources"
    assert resource_path("icons", "groupmap.svg") == ICONS / "groupmap.svg"


def test_resource_path_uses_the_bundle_folder_when_frozen(tmp_path, monkeypatch):
    (tmp_path / "resources" / "sample").mkdir(parents=True)
    (tmp_path / "resources" / "sample" / "users.csv").write_text("email\n")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)

    assert resource_path("sample", "users.csv") == tmp_path / "resources" / "sample" / "users.csv"


def test_missing_resource_names_the_file_and_the_fix():
    with pytest.raises(FileNotFoundError, match=r"'icons/nope.svg' is missing.*make package"):
        resource_path("icons", "nope.svg")


def _write_dist(tmp_path: Path, name: str, fields: list[str]) -> metadata.Distribution:
    info = tmp_path / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "\n".join(["Metadata-Version: 2.4", f"Name: {name}", "Version: 1.0", *fields]) + "\n"
    )
    return metadata.PathDistribution(info)


def test_license_prefers_expression_then_short_field_then_classifiers(tmp_path):
    expr = _write_dist(tmp_path, "a", ["License-Expression: MIT OR Apache-2.0", "License: x"])
    short = _write_dist(tmp_path, "b", ["License: BSD-3-Clause"])
    classified = _write_dist(
        tmp_path,
        "c",
        [
            "License: Apache License",
            "        Version 2.0, January 2004",
            "Classifier: License :: OSI Approved :: Apache Software License",
        ],
    )
    bare = _write_dist(tmp_path, "d", [])

    assert licenses.license_of(expr) == "MIT OR Apache-2.0"
    assert licenses.license_of(short) == "BSD-3-Clause"
    assert licenses.license_of(classified) == "Apache Software License"
    assert licenses.license_of(bare).startswith("unknown")


def test_bundled_packages_follow_runtime_requirements_not_extras():
    names = {licenses.canonical(p.name) for p in licenses.bundled_packages()}
    # direct and transitive runtime requirements of groupmap
    assert {"pandas", "numpy", "pyside6-essentials", "shiboken6", "httpx", "h11"} <= names
    # the test and package extras are not shipped
    assert not names & {"pytest", "pytest-qt", "hypothesis", "ruff", "pyinstaller", "groupmap"}


@pytest.mark.parametrize("size", [16, 32, 48, 64, 128, 256, 512])
def test_committed_png_icons_have_their_size_and_content(size):
    image = QImage(str(ICONS / f"groupmap-{size}.png"))
    assert (image.width(), image.height()) == (size, size)
    assert image.pixelColor(size // 2, size // 2).alpha() == 255  # drawn, not transparent
    assert image.pixelColor(0, 0).alpha() < 255  # rounded corner stays see-through


def test_export_writes_readable_ico_and_icns(tmp_path):
    export_icons = _load_export_icons()
    pngs = {size: export_icons.render_png(ICONS / "groupmap.svg", size) for size in (16, 32, 256)}

    ico = tmp_path / "x.ico"
    ico.write_bytes(export_icons.ico_bytes(pngs))
    reader = QImageReader(str(ico))
    sizes = set()
    for _ in range(reader.imageCount()):
        sizes.add(reader.read().width())
        reader.jumpToNextImage()
    assert sizes == {16, 32, 256}

    icns = export_icons.icns_bytes(
        {
            s: export_icons.render_png(ICONS / "groupmap.svg", s)
            for s in (16, 32, 64, 128, 256, 512, 1024)
        }
    )
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    path = tmp_path / "x.icns"
    path.write_bytes(icns)
    assert QImage(str(path)).width() > 0


def test_committed_ico_and_icns_hold_every_platform_size():
    reader = QImageReader(str(ICONS / "groupmap.ico"))
    assert reader.imageCount() == 7
    data = (ICONS / "groupmap.icns").read_bytes()
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    for kind in (b"icp4", b"icp5", b"ic07", b"ic08", b"ic09", b"ic10"):
        assert kind in data


def test_desktop_entry_launches_groupmap_for_csv_and_xlsx():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "packaging" / "groupmap.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]

    assert desktop["Type"] == "Application"
    assert desktop["Name"] == "GroupMap"
    assert desktop["Exec"] == "groupmap %F"
    assert desktop["Icon"] == "groupmap"
    assert desktop["Categories"] == "Office;Utility;"
    mime = desktop["MimeType"].split(";")
    assert "text/csv" in mime
    assert "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" in mime
