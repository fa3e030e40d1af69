"""The bpf_conformance suite through ``ebpy conformance-plugin``.

Every file of ``tests/`` must pass; every file of ``negative/`` must be
rejected with a clear error (by the assembler, the plugin, or a wrong
result), never a traceback. The files are read from ../shared/conformance and
the tests skip when that folder is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ebpy.cli.main import cli
from tests.conformance.suite import SUITE, judge, suite_files

TESTS = suite_files("tests")
NEGATIVE = suite_files("negative")
needs_suite = pytest.mark.skipif(not SUITE.is_dir(), reason=f"{SUITE} is absent")


def in_process_plugin(prog: str, mem: str | None) -> tuple[int, str]:
    args = ["conformance-plugin"] + ([mem] if mem is not None else [])
    result = CliRunner().invoke(cli, args, input=prog + "\n")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout


def _ebpy_command() -> list[str]:
    exe = shutil.which("ebpy", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "ebpy.cli.main"]


def subprocess_plugin(prog: str, mem: str | None) -> tuple[int, str]:
    cmd = _ebpy_command() + ["conformance-plugin"] + ([mem] if mem is not None else [])
    proc = subprocess.run(cmd, input=prog + "\n", capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc.returncode, proc.stdout


@needs_suite
def test_suite_is_complete() -> None:
    assert len(TESTS) == 313
    assert len(NEGATIVE) == 60


@needs_suite
@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.stem)
def test_conformance(path: Path) -> None:
    verdict = judge(path, in_process_plugin)
    assert verdict.passed, verdict.reason


@needs_suite
@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: p.stem)
def test_negative_is_rejected(path: Path) -> None:
    verdict = judge(path, in_process_plugin)
    rejected = not verdict.passed or verdict.reason.startswith("plugin rejected")
    assert rejected, verdict.reason
    assert verdict.reason.strip()
    assert "\n" not in verdict.reason.strip()


@needs_suite
@pytest.mark.parametrize("path", TESTS[::16] + NEGATIVE[::6], ids=lambda p: p.stem)
def test_real_plugin_process(path: Path) -> None:
    """The real console script, one process per test, as the suite's runner starts it."""
    in_proc = judge(path, in_process_plugin)
    real = judge(path, subprocess_plugin)
    assert (real.passed, real.reason) == (in_proc.passed, in_proc.reason)
