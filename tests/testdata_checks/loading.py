"""Loading corpus objects into the kernel with bpftool, for the kernel checks.

``load()`` runs ``bpftool prog loadall`` the way MANIFEST.json says (extra
arguments, dropped capabilities, ``pinmaps`` unless a map is pinned by name);
``check_map()`` compares bpftool's view of a map with its manifest entry;
``skip_unless_loadable()`` turns the manifest's "needs another loader or a
kernel option" into a pytest skip. Nothing here asserts about programs.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.testdata_checks.corpus import BPF_DIR, enum_value, tool


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


def show(bpftool: str, kind: str, how: str, what: str) -> dict[str, Any]:
    out = run(bpftool, "-j", kind, "show", how, what)
    assert out.returncode == 0, out.stderr
    info: dict[str, Any] = json.loads(out.stdout)
    return info


def kernel_config(option: str) -> bool | None:
    """Whether the running kernel has ``option`` (=y or =m); None when unknown."""
    text = None
    for path in (Path("/proc/config.gz"), Path(f"/boot/config-{os.uname().release}")):
        if path.exists():
            raw = path.read_bytes()
            text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode()
            break
    if text is None:
        return None
    return any(line in (f"{option}=y", f"{option}=m") for line in text.splitlines())


def possible_cpus() -> int:
    count = 0
    for part in Path("/sys/devices/system/cpu/possible").read_text().strip().split(","):
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    return count


def skip_unless_loadable(obj: dict[str, Any]) -> None:
    load = obj.get("load", {})
    if "loader" in load:
        pytest.skip(f"needs loader {load['loader']}: {load['why']}")
    if "kconfig" in load and kernel_config(load["kconfig"]) is False:
        pytest.skip(f"{load['kconfig']} is not set: {load['why']}")


def check_map(info: dict[str, Any], spec: dict[str, Any]) -> None:
    kind = info["type"]
    if isinstance(kind, int):  # bpftool prints numbers for map types it does not know
        assert kind == enum_value("map_type", spec["type"]), spec["name"]
    else:
        assert kind.upper() == spec["type"], spec["name"]
    assert info["bytes_key"] == spec["key_size"], spec["name"]
    assert info["bytes_value"] == spec["value_size"], spec["name"]
    max_entries = spec.get("kernel_max_entries", spec["max_entries"])
    if max_entries == "possible_cpus":
        max_entries = possible_cpus()
    assert info["max_entries"] == max_entries, spec["name"]
    assert info["flags"] == spec.get("kernel_flags", spec["flags"]), spec["name"]


def load(
    bpftool: str, name: str, obj: dict[str, Any], pin: Path
) -> subprocess.CompletedProcess[str]:
    args = [bpftool, "prog", "loadall", str(BPF_DIR / f"{name}.o"), str(pin)]
    if not any(m.get("pinning") == "by_name" for m in obj["maps"]):
        args += ["pinmaps", str(pin.with_name(pin.name + "_maps"))]
    args += obj.get("load", {}).get("bpftool_args", [])
    caps = obj.get("load", {}).get("drop_caps")
    if caps:
        setpriv = tool("setpriv")
        if setpriv is None:
            pytest.skip("setpriv is not installed: cannot drop capabilities")
        drop = ",".join(f"-{c}" for c in caps)
        args = [setpriv, "--inh-caps", drop, "--bounding-set", drop, *args]
    return run(*args)


def unpin_by_name(obj: dict[str, Any]) -> None:
    for m in obj["maps"]:
        if m.get("pinning") == "by_name":
            Path(m["pin_path"]).unlink(missing_ok=True)
