"""The kernel loads every object of the eBPF C corpus that should load, and refuses the broken ones.

As root with bpftool, each object goes through ``bpftool prog loadall OBJ DIR``
(no autoattach) into a directory of its own on the BPF file system, with its
maps pinned next to it (``pinmaps``) unless a map is pinned by name, which
libbpf already pins at the default root. The kernel's view is then compared
with MANIFEST.json: each program's type and the maps it holds, and each map's
type, key and value sizes, max_entries and flags. Everything is unpinned at
the end. Broken objects must be refused with one of the manifest's log lines.
Objects the manifest marks as needing a loader or kernel feature this machine
lacks are skipped with the manifest's reason. This proves the corpus is real;
it tests no ebpy code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.testdata_checks import loading
from tests.testdata_checks.corpus import objects, source_names

pytestmark = pytest.mark.kernel

NAMES = source_names()
GOOD = [n for n in NAMES if "broken" not in objects()[n]]
BROKEN = [n for n in NAMES if "broken" in objects()[n]]


@pytest.mark.parametrize("name", GOOD)
def test_kernel_loads_object(name: str, bpftool: str, pin_dir: Path) -> None:
    obj = objects()[name]
    loading.skip_unless_loadable(obj)
    loading.unpin_by_name(obj)  # a pin left by an interrupted run would be reused
    try:
        res = loading.load(bpftool, name, obj, pin_dir)
        if res.returncode != 0:
            may_fail = obj.get("load", {}).get("may_fail")
            if may_fail and may_fail in res.stderr:
                pytest.skip(f"refused here ({may_fail}): {obj['load']['why']}")
            pytest.fail(f"{name}.o did not load:\n{res.stderr[-3000:]}")
        _check_loaded(bpftool, obj, pin_dir)
    finally:
        loading.unpin_by_name(obj)


def _check_loaded(bpftool: str, obj: dict[str, Any], pin_dir: Path) -> None:
    by_kernel_name = {m["kernel_name"]: m for m in obj["maps"]}
    bound = {m["kernel_name"] for m in obj["maps"] if m.get("internal") and m["flags"] & 0x80}
    assert sorted(p.name for p in pin_dir.iterdir()) == sorted(p["name"] for p in obj["programs"])
    seen: set[str] = set()
    for prog in obj["programs"]:
        info = loading.show(bpftool, "prog", "pinned", str(pin_dir / prog["name"]))
        assert info["type"] == prog["type"].lower(), prog["name"]
        held = set()
        for map_id in info.get("map_ids", []):
            minfo = loading.show(bpftool, "map", "id", str(map_id))
            assert minfo["name"] in by_kernel_name, (
                f"{prog['name']}: unexpected map {minfo['name']}"
            )
            loading.check_map(minfo, by_kernel_name[minfo["name"]])
            held.add(minfo["name"])
        uses = {m["kernel_name"] for m in obj["maps"] if m["name"] in prog["maps"]}
        assert uses <= held, prog["name"]
        # libbpf 1.1 also binds read-only internal maps to every program
        assert held - uses <= bound, prog["name"]
        seen |= held
    maps_dir = pin_dir.with_name(pin_dir.name + "_maps")
    if maps_dir.exists():
        for pinned in maps_dir.iterdir():
            minfo = loading.show(bpftool, "map", "pinned", str(pinned))
            loading.check_map(minfo, by_kernel_name[minfo["name"]])
            seen.add(minfo["name"])
    for m in obj["maps"]:
        if m.get("pinning") == "by_name":
            minfo = loading.show(bpftool, "map", "pinned", m["pin_path"])
            loading.check_map(minfo, m)
            seen.add(minfo["name"])
    used = {m for p in obj["programs"] for m in p["maps"]}
    unseen = {m["name"] for m in obj["maps"] if m["kernel_name"] not in seen}
    # only maps no program uses can escape when pinmaps was not possible
    assert not unseen & used
    if maps_dir.exists():
        assert not unseen


@pytest.mark.parametrize("name", BROKEN)
def test_kernel_refuses_broken_object(name: str, bpftool: str, pin_dir: Path) -> None:
    obj = objects()[name]
    loading.skip_unless_loadable(obj)
    res = loading.load(bpftool, name, obj, pin_dir)
    assert res.returncode != 0, f"the kernel accepted {name}.o: {obj['broken']}"
    assert any(line in res.stderr for line in obj["kernel_log"]), res.stderr[-3000:]
