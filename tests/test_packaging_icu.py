"""packaging/slim_icu.py: the trimmed ICU data keeps Qt's sorting and casing intact."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _slim_icu():
    spec = importlib.util.spec_from_file_location("slim_icu", ROOT / "packaging" / "slim_icu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _icu_data_library() -> Path:
    import PySide6

    found = sorted((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    if not found:
        pytest.skip("this PySide6 build links no ICU data library (not Linux)")
    return found[0]


def test_keeps_collation_zones_and_core_tables_drops_names_and_codepages():
    wanted = _slim_icu().wanted
    kept = [
        "icudt73l/coll/sv.res",
        "icudt73l/coll/root.res",
        "icudt73l/zone/de.res",
        "icudt73l/root.res",
        "icudt73l/en_GB.res",
        "icudt73l/pool.res",
        "icudt73l/likelySubtags.res",
        "icudt73l/cnvalias.icu",
        "icudt73l/ucadata.icu",
    ]
    dropped = [
        "icudt73l/brkitr/cjdict.dict",
        "icudt73l/curr/de.res",
        "icudt73l/lang/fr.res",
        "icudt73l/unit/ja.res",
        "icudt73l/translit/root.res",
        "icudt73l/de.res",
        "icudt73l/ibm-943_P15A-2003.cnv",
        "icudt73l/unames.icu",
    ]
    assert [name for name in kept if not wanted(name)] == []
    assert [name for name in dropped if wanted(name)] == []


@pytest.mark.skipif(not shutil.which("readelf"), reason="needs readelf (binutils)")
def test_package_round_trips_item_for_item():
    slim = _slim_icu()
    library = _icu_data_library()
    _symbol, offset, size = slim.data_symbol(library)
    blob = library.read_bytes()[offset : offset + size]
    header, items = slim.find_package(blob)

    again_header, again = slim.find_package(slim.write_package(header, items))
    assert again_header == header
    assert [name for name, _ in again] == [name for name, _ in items]
    assert again == items  # every item keeps its bytes, already 16-byte aligned
    assert len(items) > 1000


@pytest.mark.skipif(not (shutil.which("cc") and shutil.which("readelf")), reason="needs cc")
def test_slim_library_sorts_and_cases_like_the_full_one(tmp_path):
    library = _icu_data_library()
    slim = _slim_icu().slim_library(library, tmp_path)
    assert slim.stat().st_size < library.stat().st_size / 3

    probe = (
        "from PySide6.QtCore import QCollator, QLocale\n"
        "words = ['Zebra', 'ärger', 'apple', 'Öl', 'ångström', 'Ćevapi', 'İzmir', '東京', '北京',"
        " 'chata', 'hrad', 'Łódź', 'ß', 'ss', '10', '9']\n"
        "for loc in ['de_DE', 'sv_SE', 'tr_TR', 'cs_CZ', 'pl_PL', 'ja_JP', 'zh_CN', 'en_US']:\n"
        "    print(loc, sorted(words, key=QCollator(QLocale(loc)).sortKey))\n"
        "    print(QLocale(loc).toUpper('istanbul ß'), QLocale(loc).toLower('İSTANBUL'))\n"
        "print([line.split()[-1] for line in open('/proc/self/maps') if 'libicudata' in line][0])\n"
    )

    def run(extra_env: dict[str, str]) -> list[str]:
        env = {**os.environ, **extra_env, "QT_QPA_PLATFORM": "offscreen"}
        out = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        ).stdout.splitlines()
        return out

    full = run({})
    trimmed = run({"LD_LIBRARY_PATH": str(tmp_path)})
    assert trimmed[-1] == str(slim)  # the probe really loaded the slim library
    assert full[-1] == str(library.resolve()) or full[-1] == str(library)
    assert trimmed[:-1] == full[:-1]
