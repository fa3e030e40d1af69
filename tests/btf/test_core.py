"""CO-RE relocation of hand-built local/target BTF pairs: every kind, every rule, patching.

The local types are what a program was compiled against; the target types are
a "kernel" whose layout differs (fields renamed, reordered, resized, missing,
nested in anonymous unions, ___flavoured names, enum values moved). Expected
values follow the CO-RE semantics libbpf implements.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ebpy.btf.core import POISON_HELPER, Relocator, relocate, resolve
from ebpy.btf.ext import CoreRelo
from ebpy.btf.ext import CoreReloKind as K
from ebpy.btf.types import Btf, Enum64, EnumValue, Int
from ebpy.errors import CoreError
from ebpy.isa.builder import ALU64, EXIT, LDDW, LDX, R0, R1, R2, ST, STX
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import Size
from tests.btf.core_support import B

# -- a local program's view and a target kernel's ------------------------------------


def local_btf() -> tuple[Btf, dict[str, int]]:
    b = B()
    i = b.int()
    u32 = b.int("unsigned int", signed=False)
    task = b.next_id + 2
    ptr = b.ptr(task)
    arr = b.array(i, 4)
    assert b.next_id == task
    b.struct(
        "task",
        48,
        ("pid", i, 0),
        ("flags", u32, 32),
        ("parent", ptr, 64),
        ("arr", arr, 128),
        ("nr", u32, 256),
        ("cnt", i, 288),
        ("comm", i, 320),
    )
    v2 = b.struct("task___v2", 8, ("pid", i, 0), ("gone", i, 32))
    e = b.enum("state", ("RUNNING", 0), ("SLEEPING", 1), ("GONE", 7), ("NEG", 0xFFFFFFFE))
    anon = b.struct("", 4, ("x", i, 0))
    td = b.typedef("task_t", task)
    return b.build(), {"task": task, "v2": v2, "enum": e, "anon": anon, "td": td, "int": i}


def target_btf() -> tuple[Btf, dict[str, int]]:
    b = B()
    i = b.int()
    u32 = b.int("unsigned int", signed=False)
    u64 = b.int("long unsigned int", 8, signed=False)
    s64 = b.int("long int", 8)
    task = b.next_id + 4
    ptr = b.ptr(task)
    arr = b.array(i, 8)
    inner = b.struct("", 4, ("pid", i, 0))
    anon = b.struct("", 4, ("", inner, 0), ("other", u32, 0), union=True)
    assert b.next_id == task
    b.struct(
        "task",
        72,
        ("pad", u64, 0),
        ("flags", u32, 64),
        ("", anon, 96),
        ("nr", u64, 128),
        ("parent", ptr, 192),
        ("arr", arr, 256),
        ("cnt", s64, 512),
    )
    e = b.enum("state", ("NEG", -1 & 0xFFFFFFFF), ("GONE", 9), ("RUNNING", 3), ("SLEEPING", 4))
    td = b.typedef("task_t", task)
    return b.build(), {"task": task, "enum": e, "td": td}


L, LID = local_btf()
T, TID = target_btf()


def one(
    insn: Instruction,
    kind: K,
    access: str,
    root: str = "task",
    *,
    strict: bool = True,
    local: Btf = L,
    target: Btf = T,
) -> tuple[list[Instruction], object]:
    relo = CoreRelo(0, LID[root], access, kind)
    new, results = relocate([insn, EXIT()], [relo], local, target, strict=strict, section="s")
    return new, results[0]


# -- field offsets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("access", "local", "target"),
    [
        ("0:0", 0, 12),  # pid: moved into an anonymous struct in an anonymous union
        ("0:1", 4, 8),  # flags: reordered
        ("0:2", 8, 24),  # parent
        ("0:3:2", 24, 40),  # arr[2]
        ("0:4", 32, 16),  # nr
        ("1:1", 48 + 4, 72 + 8),  # root array index: task[1].flags
    ],
)
def test_byte_offsets_in_alu_immediates(access: str, local: int, target: int) -> None:
    new, res = one(ALU64.MOV.imm(R1, local), K.FIELD_BYTE_OFFSET, access)
    assert new[0] == ALU64.MOV.imm(R1, target)
    assert (res.local_value, res.target_value, res.target_type_id) == (local, target, TID["task"])


def test_anonymous_members_in_the_target_path() -> None:
    _, res = one(ALU64.MOV.imm(R1, 0), K.FIELD_BYTE_OFFSET, "0:0")
    assert res.target_spec.raw == (0, 2, 0, 0)
    assert [a.name for a in res.target_spec.accessors] == [None, "pid"]


def test_offsets_in_loads_and_stores() -> None:
    for insn, want in [
        (LDX(Size.W, R0, R1, 4), LDX(Size.W, R0, R1, 8)),
        (STX(Size.W, R1, R2, 4), STX(Size.W, R1, R2, 8)),
        (ST(Size.W, R1, 4, 77), ST(Size.W, R1, 8, 77)),
    ]:
        new, _ = one(insn, K.FIELD_BYTE_OFFSET, "0:1")
        assert new[0] == want


def test_unsigned_field_widens_the_load() -> None:
    new, res = one(LDX(Size.W, R0, R1, 32), K.FIELD_BYTE_OFFSET, "0:4")
    assert new[0] == LDX(Size.DW, R0, R1, 16)
    assert res.log[-1].endswith("patched insn #0 (LDX/ST/STX) mem_sz 4 -> 8")


def test_signed_field_of_another_size_poisons_the_load() -> None:
    with pytest.raises(CoreError) as info:
        one(LDX(Size.W, R0, R1, 36), K.FIELD_BYTE_OFFSET, "0:5")
    assert (info.value.kind, info.value.access, info.value.type_name) == ("byte_off", "0:5", "task")
    new, res = one(LDX(Size.W, R0, R1, 36), K.FIELD_BYTE_OFFSET, "0:5", strict=False)
    assert new[0].is_call and new[0].imm == POISON_HELPER and res.poisoned
    # an ALU use of the same offset is fine: only loads and stores change width
    new, _ = one(ALU64.MOV.imm(R1, 36), K.FIELD_BYTE_OFFSET, "0:5")
    assert new[0].imm == 64


def test_load_of_the_wrong_width_is_an_error() -> None:
    with pytest.raises(CoreError):
        one(LDX(Size.H, R0, R1, 32), K.FIELD_BYTE_OFFSET, "0:4")


def test_missing_field() -> None:
    with pytest.raises(CoreError) as info:
        one(LDX(Size.W, R0, R1, 40), K.FIELD_BYTE_OFFSET, "0:6")
    err = info.value
    assert (err.section, err.insn, err.kind, err.access, err.type_name) == (
        "s",
        0,
        "byte_off",
        "0:6",
        "task",
    )
    new, res = one(LDX(Size.W, R0, R1, 40), K.FIELD_BYTE_OFFSET, "0:6", strict=False)
    assert new[0] == Instruction(0x85, imm=POISON_HELPER)
    assert res.poisoned and res.target_spec is None and res.target_type_id == 0
    assert res.log[-2].endswith("no matching targets found")
    assert res.log[-1].endswith("substituting insn #0 w/ invalid insn")


def test_array_index_past_the_target_array() -> None:
    b = B()
    i = b.int()
    small = b.struct("task", 8, ("arr", b.array(i, 2), 0))
    target = b.build()
    assert small
    _, res = one(ALU64.MOV.imm(R1, 24), K.FIELD_BYTE_OFFSET, "0:3:2", strict=False, target=target)
    assert res.poisoned
    _, res = one(ALU64.MOV.imm(R1, 1), K.FIELD_EXISTS, "0:3:2", target=target)
    assert res.target_value == 0
    _, res = one(ALU64.MOV.imm(R1, 1), K.FIELD_EXISTS, "0:3:1", target=target)
    assert res.target_value == 1


def test_flexible_target_array_takes_any_index() -> None:
    b = B()
    i = b.int()
    b.struct("task", 8, ("pid", i, 0), ("arr", b.array(i, 0), 32))
    _, res = one(ALU64.MOV.imm(R1, 24), K.FIELD_BYTE_OFFSET, "0:3:2", target=b.build())
    assert res.target_value == 4 + 8


def test_flavoured_local_type_matches_the_plain_target() -> None:
    _, res = one(ALU64.MOV.imm(R1, 0), K.FIELD_BYTE_OFFSET, "0:0", "v2")
    assert (res.target_value, res.target_type_id) == (12, TID["task"])
    _, res = one(ALU64.MOV.imm(R1, 1), K.FIELD_EXISTS, "0:1", "v2")
    assert res.target_value == 0


def test_flavoured_target_type_matches_too() -> None:
    b = B()
    b.struct("task___6_1", 4, ("pid", b.int(), 0))
    _, res = one(ALU64.MOV.imm(R1, 0), K.FIELD_BYTE_OFFSET, "0:0", target=b.build())
    assert res.target_value == 0 and res.candidates == (2,)


def test_typedef_roots_match_typedef_candidates() -> None:
    _, res = one(ALU64.MOV.imm(R1, 4), K.FIELD_BYTE_OFFSET, "0:1", "td")
    assert (res.target_value, res.target_type_id) == (8, TID["td"])


def test_incompatible_member_type_does_not_match() -> None:
    b = B()
    b.struct("task", 8, ("pid", b.ptr(b.int()), 0))
    _, res = one(ALU64.MOV.imm(R1, 1), K.FIELD_EXISTS, "0:0", target=b.build())
    assert res.target_value == 0


# -- other field kinds ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "access", "local", "target"),
    [
        (K.FIELD_BYTE_SIZE, "0:1", 4, 4),
        (K.FIELD_BYTE_SIZE, "0:4", 4, 8),
        (K.FIELD_BYTE_SIZE, "0:3", 16, 32),  # the whole array
        (K.FIELD_BYTE_SIZE, "0:3:1", 4, 4),  # an element
        (K.FIELD_EXISTS, "0:0", 1, 1),
        (K.FIELD_EXISTS, "0:6", 1, 0),
        (K.FIELD_SIGNED, "0:0", 1, 1),
        (K.FIELD_SIGNED, "0:1", 0, 0),
        (K.FIELD_SIGNED, "0:2", 0, 0),  # a pointer
        (K.FIELD_LSHIFT_U64, "0:1", 32, 32),
        (K.FIELD_LSHIFT_U64, "0:4", 32, 0),
        (K.FIELD_RSHIFT_U64, "0:4", 32, 0),
        (K.FIELD_RSHIFT_U64, "0:5", 32, 0),
    ],
)
def test_field_kinds(kind: K, access: str, local: int, target: int) -> None:
    new, res = one(ALU64.MOV.imm(R1, local), kind, access)
    assert (res.local_value, res.target_value) == (local, target)
    assert new[0].imm == target


def test_array_elements_have_no_signedness() -> None:
    with pytest.raises(CoreError):
        one(ALU64.MOV.imm(R1, 1), K.FIELD_SIGNED, "0:3:1")


@pytest.mark.parametrize(
    ("make", "signed"),
    [
        (lambda b: b.enum("e", ("A", -1), signed=True), 1),
        (lambda b: b.enum("e", ("A", 1)), 0),
        (lambda b: b.add(Int, "char", size=1, encoding=Int.CHAR, bits=8), 0),
        (lambda b: b.add(Int, "signed char", size=1, encoding=Int.SIGNED | Int.CHAR, bits=8), 1),
        (lambda b: b.add(Int, "_Bool", size=1, encoding=Int.BOOL, bits=8), 0),
        (lambda b: b.typedef("s8", b.int("signed char", 1)), 1),
    ],
)
def test_signedness_of_enums_chars_and_bools(make: object, signed: int) -> None:
    def btf() -> Btf:
        b = B()
        b.struct("task", 4, ("pid", make(b), 0))  # type: ignore[operator]
        return b.build()

    local, target = btf(), btf()
    relo = CoreRelo(0, len(local) - 1, "0:0", K.FIELD_SIGNED)
    assert resolve(relo, local, target).target_value == signed


# -- type kinds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "root", "insn_value", "target"),
    [
        (K.TYPE_ID_LOCAL, "task", 999, "LOCAL"),  # never validated: the local id itself
        (K.TYPE_ID_TARGET, "task", 999, "TASK"),
        (K.TYPE_ID_TARGET, "td", 999, "TD"),
        (K.TYPE_ID_TARGET, "v2", 999, "TASK"),
        (K.TYPE_EXISTS, "task", 1, 1),
        (K.TYPE_SIZE, "task", 48, 72),
        (K.TYPE_SIZE, "td", 48, 72),
        (K.TYPE_SIZE, "enum", 4, 4),
        (K.TYPE_MATCHES, "task", 1, 0),
    ],
)
def test_type_kinds(kind: K, root: str, insn_value: int, target: object) -> None:
    expected = {"LOCAL": LID[root], "TASK": TID["task"], "TD": TID["td"]}.get(str(target), target)
    new, res = one(LDDW(R1, insn_value), kind, "0", root)
    assert new[0] == LDDW(R1, expected)
    assert res.target_value == expected


def test_missing_types_give_zero() -> None:
    empty = B().build()
    for kind, insn in [
        (K.TYPE_EXISTS, ALU64.MOV.imm(R1, 1)),
        (K.TYPE_MATCHES, ALU64.MOV.imm(R1, 1)),
        (K.TYPE_SIZE, ALU64.MOV.imm(R1, 48)),
        (K.TYPE_ID_TARGET, LDDW(R1, LID["task"])),
    ]:
        new, res = one(insn, kind, "0", target=empty)
        assert res.target_value == 0 and not res.poisoned and new[0].imm == 0


def test_type_matches_against_a_matching_layout() -> None:
    b = B()
    i = b.int()
    b.struct("task___m", 4, ("pid", i, 0))
    local = b.build()
    t = B()
    ti = t.int()
    t.struct("task", 8, ("x", ti, 0), ("pid", ti, 32))
    relo = CoreRelo(0, 2, "0", K.TYPE_MATCHES)
    assert resolve(relo, local, t.build()).target_value == 1


def test_local_type_id_works_for_anonymous_types() -> None:
    new, res = one(LDDW(R1, 0), K.TYPE_ID_LOCAL, "0", "anon")
    assert new[0].imm == LID["anon"] and res.target_type_id == 0


def test_anonymous_roots_have_no_candidates() -> None:
    with pytest.raises(CoreError) as info:
        one(ALU64.MOV.imm(R1, 4), K.TYPE_SIZE, "0", "anon")
    assert info.value.type_name == ""


# -- enum values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("idx", "local", "target"),
    [
        (0, 0, 3),  # RUNNING moved
        (1, 1, 4),
        (2, 7, 9),
        (3, 2**64 - 2, 2**64 - 1),  # 32-bit enumerators are sign-extended
    ],
)
def test_enum_values(idx: int, local: int, target: int) -> None:
    new, res = one(LDDW(R1, local), K.ENUMVAL_VALUE, str(idx), "enum")
    assert new[0] == LDDW(R1, target)
    assert (res.local_value, res.target_value) == (local, target)


def test_enum_value_missing() -> None:
    b = B()
    b.enum("state", ("RUNNING", 5))
    target = b.build()
    _, res = one(LDDW(R1, 1), K.ENUMVAL_EXISTS, "1", "enum", target=target)
    assert res.target_value == 0
    new, res = one(LDDW(R1, 1), K.ENUMVAL_VALUE, "1", "enum", strict=False, target=target)
    assert new[:2] == [Instruction(0x85, imm=POISON_HELPER)] * 2 and res.poisoned
    assert sum(i.width for i in new) == 3
    with pytest.raises(CoreError) as info:
        one(LDDW(R1, 1), K.ENUMVAL_VALUE, "1", "enum", target=target)
    assert (info.value.kind, info.value.access) == ("enumval_value", "1")


def test_enum64_target_and_flavoured_enumerators() -> None:
    b = B()
    b.add(Enum64, "state", size=8, values=(EnumValue("GONE___new", 2**40),), signed=False)
    new, res = one(LDDW(R1, 7), K.ENUMVAL_VALUE, "2", "enum", target=b.build())
    assert new[0] == LDDW(R1, 2**40) and res.target_spec.accessors[0].name == "GONE___new"


# -- several candidates --------------------------------------------------------------


def _two_tasks(second_pid_bits: int, second_size: int = 8) -> Btf:
    b = B()
    i = b.int()
    b.struct("task", 8, ("pid", i, 0), ("flags", i, 32))
    b.struct("task___other", second_size, ("pid", i, second_pid_bits))
    return b.build()


def test_candidates_that_agree_are_fine() -> None:
    _, res = one(ALU64.MOV.imm(R1, 0), K.FIELD_BYTE_OFFSET, "0:0", target=_two_tasks(0))
    assert res.candidates == (2, 3) and res.target_value == 0


def test_candidates_that_disagree_on_the_offset() -> None:
    with pytest.raises(CoreError) as info:
        one(ALU64.MOV.imm(R1, 0), K.FIELD_BYTE_OFFSET, "0:0", target=_two_tasks(32))
    assert "field offset ambiguity" in info.value.reason


def test_candidates_that_disagree_on_the_value() -> None:
    with pytest.raises(CoreError) as info:
        one(ALU64.MOV.imm(R1, 48), K.TYPE_SIZE, "0", target=_two_tasks(0, 16))
    assert "relocation decision ambiguity" in info.value.reason


def test_matching_narrows_the_candidates_for_later_relocations() -> None:
    """As libbpf: once `flags` matched only the first task, the size is no longer ambiguous."""
    target = _two_tasks(0, 16)
    relos = [
        CoreRelo(0, LID["task"], "0:1", K.FIELD_BYTE_OFFSET),
        CoreRelo(8, LID["task"], "0", K.TYPE_SIZE),
    ]
    new, res = relocate([ALU64.MOV.imm(R1, 4), ALU64.MOV.imm(R2, 48), EXIT()], relos, L, target)
    assert res[0].candidates == (2,) and res[1].candidates == (2,)
    assert new[1].imm == 8


# -- instructions --------------------------------------------------------------------


@pytest.mark.parametrize(
    "insn",
    [
        ALU64.MOV.imm(R1, 5),  # not the local value
        LDX(Size.W, R0, R1, 0),
        LDDW(R1, 5),
        ALU64.MOV.reg(R1, R2),  # no immediate
        Instruction(0x05, off=4),  # a jump
        LDDW(R1, 4).replace(src=2),  # a map load
    ],
)
def test_instructions_that_cannot_take_the_value(insn: Instruction) -> None:
    with pytest.raises(CoreError) as info:
        one(insn, K.FIELD_BYTE_OFFSET, "0:1")
    assert info.value.insn == 0


def test_offset_too_big_for_a_load() -> None:
    b = B()
    i = b.int()
    b.struct("task", 36004, ("pad", b.array(i, 9000), 0), ("flags", i, 9000 * 32))
    target = b.build()
    with pytest.raises(CoreError):
        one(LDX(Size.W, R0, R1, 4), K.FIELD_BYTE_OFFSET, "0:1", target=target)
    new, _ = one(ALU64.MOV.imm(R1, 4), K.FIELD_BYTE_OFFSET, "0:1", target=target)
    assert new[0].imm == 36000


@pytest.mark.parametrize("insn_off", [4, 16, 32, 800])
def test_bad_instruction_offsets(insn_off: int) -> None:
    """Not a multiple of 8, inside an lddw (slot 2), past the end (slot 4 and on)."""
    prog = [ALU64.MOV.imm(R1, 4), LDDW(R2, 1), EXIT()]  # slots 0, 1-2, 3
    relo = CoreRelo(insn_off, LID["task"], "0:1", K.FIELD_BYTE_OFFSET)
    with pytest.raises(CoreError) as info:
        relocate(prog, [relo], L, T)
    assert "instruction offset" in info.value.reason


def test_offsets_count_slots_after_an_lddw() -> None:
    prog = [LDDW(R2, 1), ALU64.MOV.imm(R1, 4), EXIT()]
    new, res = relocate(prog, [CoreRelo(16, LID["task"], "0:1", K.FIELD_BYTE_OFFSET)], L, T)
    assert new[1].imm == 8 and res[0].insn == 2


def test_log_lines_read_like_libbpf() -> None:
    relocator = Relocator(L, T)
    relos = [CoreRelo(0, LID["task"], "0:1", K.FIELD_BYTE_OFFSET)]
    relocator.relocate([LDX(Size.W, R0, R1, 4), EXIT()], relos, prog="p")
    assert relocator.log == [
        f"CO-RE relocating [{LID['task']}] struct task: found target candidate "
        f"[{TID['task']}] struct task in [vmlinux]",
        f"prog 'p': relo #0: <byte_off> [{LID['task']}] struct task.flags (0:1 @ offset 4)",
        f"prog 'p': relo #0: matching candidate #0 <byte_off> [{TID['task']}] struct "
        "task.flags (0:1 @ offset 8)",
        "prog 'p': relo #0: patched insn #0 (LDX/ST/STX) off 4 -> 8",
    ]


def test_failed_relocations_end_the_log_with_the_reason() -> None:
    relocator = Relocator(L, _two_tasks(32))
    with pytest.raises(CoreError):
        relocator.relocate(
            [ALU64.MOV.imm(R1, 0)], [CoreRelo(0, LID["task"], "0:0", K.FIELD_BYTE_OFFSET)]
        )
    assert relocator.log[-1].startswith("relo #0: field offset ambiguity: 32 != 0")


def test_errors_name_bad_type_ids() -> None:
    with pytest.raises(CoreError) as info:
        relocate([ALU64.MOV.imm(R1, 0)], [CoreRelo(0, 999, "0:0", K.FIELD_BYTE_OFFSET)], L, T)
    assert (info.value.type_name, info.value.access) == ("", "0:0")


@pytest.mark.skipif(not Path("/sys/kernel/btf/vmlinux").exists(), reason="no vmlinux BTF")
def test_default_target_is_this_kernel() -> None:
    b = B()
    i = b.int()
    b.struct("task_struct", 8, ("flags", b.int("unsigned int", signed=False), 0), ("pid", i, 32))
    res = resolve(CoreRelo(0, 3, "0:1", K.FIELD_EXISTS), b.build())
    assert res.target_value == 1 and res.target_type_id > 0
