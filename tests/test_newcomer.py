"""Small things a newcomer trips over: the favicon, `make help`'s address, the packaging
warning (the `index rollback` and YAML-line cases live with the ingestion tests)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ROOT


def test_favicon_is_an_icon(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # the ICO header
    assert 0 < len(response.content) < 10_000


@pytest.mark.parametrize(
    ("args", "address"),
    [([], "http://127.0.0.1:8000"), (["HOST=0.0.0.0", "PORT=9123"], "http://0.0.0.0:9123")],
)
def test_make_help_prints_the_real_address(args: list[str], address: str) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        [make, "-s", "--no-print-directory", "help", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    [run] = [line for line in result.stdout.splitlines() if "make run " in line]
    assert run.endswith(f"the console on {address}")
    assert "$(" not in result.stdout


def test_building_the_package_gives_no_license_warning(tmp_path: Path) -> None:
    """setuptools deprecates `project.license` as a table; an SPDX string builds quietly."""
    source = tmp_path / "source"  # a copy: building in place leaves build/ in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("bot", "ingest"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__py*"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp_path / "wheel"), str(source)],
        capture_output=True,
        text=True,
        env={"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PATH": "/usr/bin:/bin",
             "TMPDIR": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "project.license" not in output
    assert "Warning" not in output
    assert list((tmp_path / "wheel").glob("supportbot-*.whl"))

