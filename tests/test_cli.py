"""The `portal` command: exit codes, messages, and files, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from portal.catalog.csvformat import COLUMNS

HEADER = "record_id,title,language,authors,translators,work,publisher,year,isbn,subjects,donor,donated_on,library,copies\n"


def portal(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "portal", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_bad_file_exits_1_and_names_every_problem(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "x1,Dəli Kür,az,,,,,,,,,2021-02-30,SHU,0\n", encoding="utf-8")
    result = portal(tmp_path / "data", "import", str(bad))
    assert result.returncode == 1
    assert f"{bad}:2: column 'donated_on'" in result.stderr
    assert f"{bad}:2: column 'copies'" in result.stderr
    assert "nothing imported" in result.stderr


def test_import_dry_run_then_real_then_export(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(
        HEADER + "x1,Dəli Kür,az,İsmayıl Şıxlı,,deli-kur,Gənclik,1967,,Novels,"
        "Private donors,2021-06-01,SHU,4\n",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    dry = portal(data, "import", "--dry-run", str(good))
    assert dry.returncode == 0 and "would import 1 rows" in dry.stdout
    real = portal(data, "import", str(good))
    assert real.returncode == 0 and "records 1 new" in real.stdout
    again = portal(data, "import", str(good))
    assert "records 0 new, 0 updated, 1 unchanged" in again.stdout
    out = tmp_path / "out.csv"
    exported = portal(data, "export", str(out))
    assert exported.returncode == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(COLUMNS)  # every column, other_titles too
    assert "Dəli Kür" in lines[1] and lines[1].endswith(",SHU,4")
    assert portal(data, "reindex").returncode == 0
    assert (data / "index").is_symlink() and (data / "catalog.sqlite3").exists()


def test_a_bad_setting_is_named_without_a_traceback(tmp_path):
    for name, value in [("PORTAL_REQUEST_THREADS", "zero"), ("PORTAL_MAX_UPLOAD_MB", "0")]:
        env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path / "data"), name: value}
        result = subprocess.run(
            [sys.executable, "-m", "portal", "check"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 2
        assert name in result.stderr and repr(value) in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "data").exists()  # nothing was created
