"""CO-RE on real objects (tests/testdata/core/*.o) against libbpf and the kernel.

The reference is libbpf 1.1 through bpftool: ``bpftool -d prog loadall`` prints
libbpf's CO-RE debug lines (candidates, specs, patched values, poisoning,
ambiguity errors), and ``bpftool prog dump xlated`` shows what the kernel got.
Three ways to compare, so that something runs everywhere:

* against ``/sys/kernel/btf/vmlinux``, line for line with the recorded libbpf
  log (``tests/golden/core``), when this machine's vmlinux BTF is the one the
  record was made on, and the relocated fields with the recorded xlated dumps;
* against the objects' minimal BTF (``bpftool gen min_core_btf``, committed),
  which runs anywhere: every final value but target type ids must equal
  libbpf's;
* live, as root with bpftool: load now and compare log and xlated programs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ebpy.btf.core import POISON_HELPER, relocate
from ebpy.btf.ext import CoreReloKind
from ebpy.btf.parse import load_vmlinux, parse_btf
from ebpy.errors import CoreError
from tests.btf.core_support import (
    CORE_LINE,
    GOLDEN_DIR,
    OBJECTS,
    VMLINUX,
    LibbpfRecord,
    compare_xlated,
    golden_record,
    parse_xlated,
    read_object,
    relocate_object,
    vmlinux_sha256,
)

IDS = [p.stem for p in OBJECTS]
LOADABLE = [p for p in OBJECTS if not p.stem.startswith("ambiguous")]


def test_objects_present() -> None:
    assert {"task_direct", "probe_reads", "bitfields", "exists", "pruning", "type_matches"} <= set(
        IDS
    )
    assert all((GOLDEN_DIR / f"{p.stem}.libbpf.txt").exists() for p in OBJECTS)


@pytest.fixture(scope="module")
def vmlinux() -> object:
    if not VMLINUX.exists():
        pytest.skip("no /sys/kernel/btf/vmlinux")
    return load_vmlinux()


def _check_log(obj_path: Path, record: LibbpfRecord, target: object) -> None:
    obj = read_object(obj_path)
    ours = relocate_object(obj, target)  # type: ignore[arg-type]
    if record.status == 0:
        assert ours.error is None
        assert ours.lines == record.lines
        return
    # libbpf refused the object: we refuse it at the same relocation, for the same reason.
    assert ours.error is not None, "libbpf failed but we relocated everything"
    failing = [line for line in record.lines if "failed to relocate" not in line]
    *before, last = failing
    assert ours.lines[:-1] == before
    assert ours.lines[-1].startswith(last)


def _same_vmlinux(record: LibbpfRecord) -> None:
    sha = vmlinux_sha256()
    if sha is None:
        pytest.skip("no /sys/kernel/btf/vmlinux")
    if record.header.get("vmlinux-btf-sha256") != sha:
        pytest.skip("this kernel's BTF is not the one the libbpf record was made on")


@pytest.mark.parametrize("obj", OBJECTS, ids=IDS)
def test_log_matches_recorded_libbpf(obj: Path, vmlinux: object) -> None:
    record = golden_record(obj)
    _same_vmlinux(record)
    _check_log(obj, record, vmlinux)


@pytest.mark.parametrize("obj", LOADABLE, ids=[p.stem for p in LOADABLE])
def test_values_against_min_btf(obj: Path) -> None:
    """Relocated against the object's minimal BTF: libbpf's final values (not type ids)."""
    target = parse_btf((GOLDEN_DIR / f"{obj.stem}.min.btf").read_bytes())
    record = golden_record(obj)
    ours = relocate_object(read_object(obj), target)
    assert ours.error is None
    expected = record.patched()
    poisoned = record.poisoned()
    checked = set()
    for prog, res in ours.results:
        key = (prog, res.index)
        assert res.poisoned == (key in poisoned), res.log
        if res.poisoned or res.relo.kind is CoreReloKind.TYPE_ID_TARGET:
            continue
        assert res.target_value == expected[key], res.log
        checked.add(key)
    type_ids = {(p, r.index) for p, r in ours.results if r.relo.kind is CoreReloKind.TYPE_ID_TARGET}
    assert checked == set(expected) - type_ids
    assert checked


def _xlated_goldens(obj: Path) -> dict[str, Path]:
    prefix = f"{obj.stem}."
    return {
        p.name[len(prefix) : -len(".xlated.txt")]: p
        for p in GOLDEN_DIR.glob(f"{obj.stem}.*.xlated.txt")
    }


@pytest.mark.parametrize("obj", LOADABLE, ids=[p.stem for p in LOADABLE])
def test_relocated_fields_match_recorded_xlated(obj: Path, vmlinux: object) -> None:
    record = golden_record(obj)
    _same_vmlinux(record)
    ours = relocate_object(read_object(obj), vmlinux)  # type: ignore[arg-type]
    goldens = _xlated_goldens(obj)
    assert set(goldens) == set(ours.programs)
    for prog, path in goldens.items():
        results = [r for p, r in ours.results if p == prog]
        problems, compared = compare_xlated(
            ours.programs[prog], results, parse_xlated(path.read_text())
        )
        assert problems == []
        assert compared >= len(results) * 3 // 4


def test_xlated_comparison_sees_a_wrong_value() -> None:
    """The comparison can fail: a relocated offset off by 8 is reported."""
    obj = next(p for p in OBJECTS if p.stem == "task_direct")
    xlated = parse_xlated((GOLDEN_DIR / "task_direct.on_switch.xlated.txt").read_text())
    target = parse_btf((GOLDEN_DIR / "task_direct.min.btf").read_bytes())
    ours = relocate_object(read_object(obj), target)
    insns = ours.programs["on_switch"]
    results = [r for _, r in ours.results]
    assert compare_xlated(insns, results, xlated) == ([], len(results))
    k = results[0].insn  # no lddw before it: slot == index
    bad = [*insns[:k], insns[k].replace(off=insns[k].off + 8), *insns[k + 1 :]]
    problems, _ = compare_xlated(bad, results, xlated)
    assert len(problems) == 1 and problems[0].startswith("relo #0:")


def test_strict_mode_names_the_missing_field(vmlinux: object) -> None:
    obj = read_object(next(p for p in OBJECTS if p.stem == "exists"))
    sec, insns, relos = obj.programs["existence"]
    with pytest.raises(CoreError) as info:
        relocate(insns, relos, obj.btf, vmlinux, section=sec)  # type: ignore[arg-type]
    err = info.value
    assert (err.kind, err.access, err.type_name, err.section) == (
        "byte_off",
        "0:0",
        "task_struct___old",
        sec,
    )
    assert err.insn == 7


def test_poisoned_instructions_are_invalid_calls(vmlinux: object) -> None:
    obj = read_object(next(p for p in OBJECTS if p.stem == "exists"))
    ours = relocate_object(obj, vmlinux)  # type: ignore[arg-type]
    prog = ours.programs["existence"]
    calls = [i for i in prog if i.is_call and i.imm == POISON_HELPER]
    assert len(calls) == 3  # a ldx and both slots of an lddw
    assert sum(i.width for i in prog) == sum(i.width for i in obj.programs["existence"][1])


# -- live: libbpf through bpftool, now ------------------------------------------------


def _live_reason() -> str | None:
    if os.geteuid() != 0:
        return "loading programs needs root"
    if shutil.which("bpftool") is None:
        return "bpftool is not installed"
    if not VMLINUX.exists():
        return "no /sys/kernel/btf/vmlinux"
    return None


def _bpffs() -> Path:
    from ebpy.kernel.fs import bpffs

    path = bpffs()
    if path is None:
        pytest.skip("no BPF file system")
    return path


@pytest.mark.tools
@pytest.mark.skipif(_live_reason() is not None, reason=str(_live_reason()))
@pytest.mark.parametrize("obj", OBJECTS, ids=IDS)
def test_live_against_bpftool(obj: Path, vmlinux: object) -> None:
    pin = Path(tempfile.mkdtemp(prefix="ebpy_core_", dir=_bpffs()))
    pin.rmdir()
    try:
        run = subprocess.run(
            ["bpftool", "-d", "prog", "loadall", str(obj), str(pin)],
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [line for line in (run.stdout + run.stderr).splitlines() if CORE_LINE.match(line)]
        status = 0 if run.returncode == 0 else 255
        record = LibbpfRecord.parse("\n".join([*lines, f"# status {status}"]))
        _check_log(obj, record, vmlinux)
        if status:
            return
        ours = relocate_object(read_object(obj), vmlinux)  # type: ignore[arg-type]
        for prog, insns in ours.programs.items():
            dump = subprocess.run(
                ["bpftool", "prog", "dump", "xlated", "pinned", str(pin / prog), "opcodes"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results = [r for p, r in ours.results if p == prog]
            problems, compared = compare_xlated(insns, results, parse_xlated(dump))
            assert problems == []
            assert compared >= len(results) * 3 // 4
    finally:
        if pin.exists():
            for p in pin.iterdir():
                p.unlink()
            pin.rmdir()
