"""tracefs and bpffs: found, or mounted when missing and we are root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ebpy.kernel import fs


def test_is_mounted_root() -> None:
    assert fs.is_mounted("/")
    assert not fs.is_mounted("/proc/self")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")
def test_tracefs_is_there_or_mounted() -> None:
    path = fs.tracefs()
    assert path is not None and (path / "trace").exists()
    assert (path / "events").is_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")
def test_bpffs_is_there_or_mounted() -> None:
    path = fs.bpffs()
    assert path == fs.BPFFS and fs.is_mounted(path)


def test_without_mounting_gives_none_or_a_real_mount() -> None:
    for found in (fs.tracefs(mount_if_missing=False), fs.bpffs(mount_if_missing=False)):
        assert found is None or isinstance(found, Path)


def test_mount_refuses_quietly_where_it_cannot(tmp_path: Path) -> None:
    assert fs.mount("no-such-fs-type", tmp_path / "m") is False
