"""Fixtures of the corpus checks that need the kernel: bpftool as root, a bpffs directory."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ebpy.kernel import fs
from tests.testdata_checks.corpus import tool


@pytest.fixture(scope="session")
def bpftool() -> str:
    path = tool("bpftool")
    if os.geteuid() != 0:
        pytest.skip("loading into the kernel needs root")
    if path is None:
        pytest.skip("bpftool is not installed")
    return path


@pytest.fixture
def pin_dir(bpftool: str) -> Iterator[Path]:
    root = fs.bpffs()
    if root is None:
        pytest.skip("no BPF file system at /sys/fs/bpf")
    base = root / f"ebpy_corpus_{os.getpid()}"
    shutil.rmtree(base, ignore_errors=True)
    yield base
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(base.with_name(base.name + "_maps"), ignore_errors=True)
