"""``ebpy run``: run a program on the userspace VM (or in the kernel) over memory, a packet, or a capture.

FILE is assembly, hex or raw bytecode, or a BPF ELF object. An object is
loaded whole (``ebpy.cli.runners``: its maps, global data, CO-RE, the
programs it tail-calls into) and one program runs: the one ``--program``
names, the first of ``--section``, or the first of the object; its type is
its section's (``--type`` wins). ``--backend kernel`` loads the same into the
running kernel and runs it with ``BPF_PROG_TEST_RUN`` (root only).

Three ways to run, chosen by the options:

* plain (assembly without ``--type``): r1 points at a copy of
  ``--mem``/``--data``, r2 is its length; prints r0 (``Vm.run_full``);
* one test run (a program type, or ``--ctx``): the program type builds the
  context from ``--mem``/``--data`` as ``data_in`` and ``--ctx`` as
  ``ctx_in``, as ``BPF_PROG_TEST_RUN`` does; prints the return value with its
  verdict name, ``data_out`` and ``ctx_out``;
* a capture (``--pcap IN``): one test run per packet of a pcap or pcapng file,
  a table of verdicts and packets per second, and with ``-w OUT`` the packets
  the program lets through, as the network stack would: XDP_PASS and XDP_TX
  (``data_out``, rewritten); for tc what is not dropped, consumed or redirected
  (``data_out``); for a socket filter the first ``retval`` bytes; for cgroup_skb
  an odd ``retval``; other types write every packet. Packets of other link
  types (raw IP, Linux cooked, loopback) are given an Ethernet header first,
  and the output is Ethernet. A ``VmError`` (or a ``TestRunError``, or a
  ``KernelError`` in the kernel) on one packet is counted by type and the run
  goes on unless ``--stop-on-error``.

``--map name:type:key_size:value_size:max_entries`` declares an assembly
program's maps in ``map[idx:N]`` order; the non-empty maps (an object's too)
are printed after the run. Everything is text or, with ``--json``, one JSON
object. This module reads options and prints; the loading is
``ebpy.cli.runners``' (and ``ebpy.backend``'s), the file formats ``ebpy.pcap``'s.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from ebpy.cli.runners import parse_map_spec
from ebpy.cli.runners import resolve_type as _resolve_type

if TYPE_CHECKING:
    from ebpy.cli.runners import Target, VmTarget
    from ebpy.pcap import CaptureReader
    from ebpy.progtypes import ProgTypeInfo

PROGRESS_MIN_BYTES = 1 << 20
"""Captures at least this large get a progress bar (when stderr is a terminal)."""

_PROGRESS_EVERY = 2048


# -- what a verdict lets through ---------------------------------------------------
Keep = Callable[[int, bytes, bytes, int], tuple[bytes, int] | None]
"""``(retval, frame, data_out, wire_len)`` -> the bytes to write and their wire length,
or None when the program type's verdict stops the packet."""

_XDP_PASS = frozenset({2, 3})  # XDP_PASS, XDP_TX (sent back out: written too)
# cls_bpf in direct-action mode acts on OK, SHOT, STOLEN, TRAP, REDIRECT and UNSPEC and
# turns every other value into UNSPEC (the next filter, by default: let through);
# SHOT drops, STOLEN and TRAP consume, REDIRECT sends elsewhere.
_CLS_STOP = frozenset({2, 4, 7, 8})
# act_bpf: SHOT drops, REDIRECT redirects; other values continue (unknown ones as UNSPEC).
_ACT_STOP = frozenset({2, 7})


def _keep_xdp(ret: int, frame: bytes, out: bytes, wire: int) -> tuple[bytes, int] | None:
    return (out, wire + len(out) - len(frame)) if ret in _XDP_PASS else None


def _keep_cls(ret: int, frame: bytes, out: bytes, wire: int) -> tuple[bytes, int] | None:
    return None if ret in _CLS_STOP else (out, wire + len(out) - len(frame))


def _keep_act(ret: int, frame: bytes, out: bytes, wire: int) -> tuple[bytes, int] | None:
    return None if ret in _ACT_STOP else (out, wire + len(out) - len(frame))


def _keep_socket(ret: int, frame: bytes, out: bytes, wire: int) -> tuple[bytes, int] | None:
    # a socket filter keeps the first ret bytes of the packet; it cannot change them
    return (frame[:ret], wire) if ret else None


def _keep_cgroup_skb(ret: int, frame: bytes, out: bytes, wire: int) -> tuple[bytes, int] | None:
    return (frame, wire) if ret & 1 else None


def _keep_all(ret: int, frame: bytes, out: bytes, wire: int) -> tuple[bytes, int] | None:
    data = out or frame
    return data, wire + len(data) - len(frame)


def _keep_table() -> dict[int, Keep]:
    from ebpy.uapi import ProgType

    return {
        ProgType.XDP: _keep_xdp,
        ProgType.SCHED_CLS: _keep_cls,
        ProgType.SCHED_ACT: _keep_act,
        ProgType.SOCKET_FILTER: _keep_socket,
        ProgType.CGROUP_SKB: _keep_cgroup_skb,
    }


# -- maps after a run -----------------------------------------------------------------
def _maps_doc(maps: Iterable[Any], btf: Any = None) -> dict[str, list[dict[str, Any]]]:
    """The non-empty maps: name -> [{key, value} in hex]. Array maps, whose every
    key always exists, show only their non-zero values. With the object's BTF,
    each entry also has ``formatted``: key and value by their BTF types, as
    ``bpftool -j map dump`` shows them."""
    from ebpy.errors import BpfError
    from ebpy.uapi import MapType

    arrays = (MapType.ARRAY, MapType.PERCPU_ARRAY)
    doc: dict[str, list[dict[str, Any]]] = {}
    for i, m in enumerate(maps):
        dense = m.map_type in arrays
        items = []
        try:
            for k in list(m):
                try:
                    v = m[k]
                except KeyError:  # a slot listed but empty (kernel fd arrays)
                    continue
                if not dense or any(v):
                    item: dict[str, Any] = {"key": k.hex(), "value": v.hex()}
                    formatted = _formatted(btf, m, k, v)
                    if formatted is not None:
                        item["formatted"] = formatted
                    items.append(item)
        except BpfError:  # a map kind whose contents cannot be listed
            continue
        if items:
            doc[m.name or f"map{i}"] = items
    return doc


def _formatted(btf: Any, m: Any, key: bytes, value: bytes) -> dict[str, Any] | None:
    """``key`` and ``value`` of map ``m`` by their BTF types, or None without BTF
    (or for per-CPU maps, whose values the syscall face gives as one block)."""
    from ebpy.btf.format import format_entry
    from ebpy.errors import BpfError

    spec = getattr(m, "spec", None)
    if btf is None or spec is None or not spec.btf_value_type_id or getattr(m, "percpu", False):
        return None
    try:
        return format_entry(btf, spec.btf_key_type_id, spec.btf_value_type_id, key, value)
    except BpfError:
        return None


def _echo_maps(maps: list[Any], btf: Any = None) -> None:
    for name, items in _maps_doc(maps, btf).items():
        click.echo(f"map {name}:")
        for item in items:
            formatted = item.get("formatted")
            if formatted is None:
                click.echo(f"  key {item['key']}  value {item['value']}")
                continue
            shown = "  ".join(f"{k}: {json.dumps(v)}" for k, v in formatted.items())
            click.echo(f"  {shown}")


@click.command("run")
@click.argument("file")
@click.option("-s", "--section", help="ELF object: the section of the program to run.")
@click.option("-p", "--program", "program_name", help="ELF object: the program to run, by name.")
@click.option(
    "--backend",
    type=click.Choice(["vm", "kernel"]),
    default="vm",
    show_default=True,
    help="Run on the userspace VM or, as root, in the kernel (BPF_PROG_TEST_RUN).",
)
@click.option(
    "--mem",
    "mem_hex",
    metavar="HEX",
    help="Input memory as hex; r1 points at it, r2 is its length.",
)
@click.option(
    "--data", "data_file", type=click.Path(dir_okay=False), help="Input memory from a file."
)
@click.option(
    "--pcap",
    "pcap_in",
    metavar="IN",
    help="Run over every packet of a pcap or pcapng file (- for stdin).",
)
@click.option(
    "-w", "--write", "write_out", metavar="OUT", help="With --pcap: write the packets let through."
)
@click.option(
    "-t",
    "--type",
    "prog_type",
    metavar="PROGTYPE",
    help="Program type: xdp, tc, sched_act, socket_filter, ...",
)
@click.option(
    "--map",
    "map_specs",
    multiple=True,
    metavar="SPEC",
    help="A map, in idx order: name:type:key_size:value_size:max_entries.",
)
@click.option("--ctx", "ctx_hex", metavar="HEX", help="The context (ctx_in) as hex.")
@click.option("--budget", type=click.IntRange(min=1), default=None, help="Instruction budget.")
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Run N times and report the mean duration.",
)
@click.option("--stop-on-error", is_flag=True, help="With --pcap: stop at the first failed run.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--seed", type=int, default=None, help="Seed for bpf_get_prandom_u32.")
def run_cmd(
    file: str,
    section: str | None,
    program_name: str | None,
    backend: str,
    mem_hex: str | None,
    data_file: str | None,
    pcap_in: str | None,
    write_out: str | None,
    prog_type: str | None,
    map_specs: tuple[str, ...],
    ctx_hex: str | None,
    budget: int | None,
    repeat: int,
    stop_on_error: bool,
    as_json: bool,
    seed: int | None,
) -> None:
    """Run FILE (assembly, hex, raw bytecode or an ELF object) on the VM or in the kernel."""
    from ebpy.cli.inputs import parse_hex, program_from_bytes, read_bytes, read_object
    from ebpy.cli.runners import asm_target, object_target
    from ebpy.errors import InputError
    from ebpy.vm import DEFAULT_BUDGET

    given = (("--mem", mem_hex), ("--data", data_file), ("--pcap", pcap_in))
    inputs = [option for option, value in given if value is not None]
    if len(inputs) > 1:
        raise InputError(f"{' and '.join(inputs)} exclude each other")
    if write_out is not None and pcap_in is None:
        raise InputError("-w/--write needs --pcap")
    if pcap_in is not None and repeat > 1:
        raise InputError("--repeat applies to one input (--mem, --data), not to --pcap")
    if section is not None and program_name is not None:
        raise InputError("--section and --program exclude each other")
    mem = parse_hex(mem_hex, "--mem") if mem_hex is not None else None
    if data_file is not None:
        mem = read_bytes(data_file)
    ctx = parse_hex(ctx_hex, "--ctx") if ctx_hex is not None else None
    budget = budget or DEFAULT_BUDGET
    data = read_bytes(file)
    spec = read_object(data, file)
    if spec is not None:
        if map_specs:
            raise InputError("--map declares an assembly program's maps; an object has its own")
        target = object_target(spec, section, program_name, prog_type, backend, budget)
    else:
        if program_name is not None:
            raise InputError(f"{file}: --program needs an ELF object")
        loaded = program_from_bytes(data, file, section)
        maps = [parse_map_spec(m, i) for i, m in enumerate(map_specs)]
        target = asm_target(loaded.insns, _resolve_type(prog_type, None), maps, backend, budget)
    try:
        _dispatch(target, spec is not None, mem, ctx, pcap_in, write_out, repeat, seed,
                  stop_on_error, as_json)  # fmt: skip
    finally:
        target.close()


def _dispatch(
    target: Target,
    from_object: bool,
    mem: bytes | None,
    ctx: bytes | None,
    pcap_in: str | None,
    write_out: str | None,
    repeat: int,
    seed: int | None,
    stop_on_error: bool,
    as_json: bool,
) -> None:
    from ebpy.cli.runners import VmTarget
    from ebpy.errors import InputError, NotSupportedError

    info = target.info
    if pcap_in is not None:
        if info is None:
            raise InputError("--pcap needs a program type (--type xdp, tc, socket_filter ...)")
        if not info.has_packet:
            raise InputError(f"program type {info.name} takes no packet: --pcap does not apply")
        _run_capture(target, info, pcap_in, write_out, ctx, seed, stop_on_error, as_json)
    elif info is not None or (from_object and target.backend == "kernel"):
        _run_once(target, info, mem, ctx, repeat, seed, as_json)
    elif from_object:
        raise NotSupportedError(
            f"test-running program {target.name} on the VM",
            "the VM has no model of its type's context (try --backend kernel)",
        )
    elif ctx is not None:
        raise InputError("--ctx needs a program type (--type)")
    else:
        assert isinstance(target, VmTarget)
        _run_plain(target, mem, repeat, seed, as_json)


# -- one run ---------------------------------------------------------------------------
def _trace(runtime: Any) -> list[str]:
    return [line.decode("utf-8", "replace") for line in runtime.trace_lines]


def _echo_trace(runtime: Any) -> None:
    for line in _trace(runtime):
        click.echo(line)


def _echo_doc(target: Target, doc: dict[str, Any]) -> None:
    """Print a run's JSON ``doc``, with the maps' contents when the program has maps."""
    if target.name:
        doc["program"] = target.name
        doc["section"] = target.section
    doc["backend"] = target.backend
    if target.maps:
        doc["maps"] = _maps_doc(target.maps, target.btf)
    click.echo(json.dumps(doc))


def _run_plain(
    target: VmTarget, mem: bytes | None, repeat: int, seed: int | None, as_json: bool
) -> None:
    vm = target.vm
    result = None
    start = time.perf_counter_ns()
    for _ in range(repeat):
        result = vm.run_full(mem, runtime=vm.new_runtime(seed=seed))
    elapsed = (time.perf_counter_ns() - start) // repeat
    assert result is not None
    if as_json:
        doc: dict[str, Any] = {
            "r0": result.r0,
            "r0_hex": f"{result.r0:#x}",
            "insns": result.insn_count,
            "duration_ns": elapsed,
            "trace": _trace(result.runtime),
        }
        _echo_doc(target, doc)
        return
    _echo_trace(result.runtime)
    signed = result.r0 - (1 << 64) if result.r0 >> 63 else result.r0
    click.echo(f"r0 = {result.r0:#x} ({signed})")
    if repeat > 1:
        click.echo(f"{repeat} runs, mean {elapsed} ns, {result.insn_count} insns per run")
    _echo_maps(target.maps, target.btf)


def _run_once(
    target: Target,
    info: ProgTypeInfo | None,
    mem: bytes | None,
    ctx: bytes | None,
    repeat: int,
    seed: int | None,
    as_json: bool,
) -> None:
    from ebpy.cli.runners import trace_lines

    res = target.test_run(mem, ctx, repeat, seed)
    verdict = info.verdict_name(res.retval) if info is not None else str(res.retval)
    if as_json:
        doc: dict[str, Any] = {
            "retval": res.retval,
            "verdict": verdict,
            "data_out": res.data_out.hex(),
            "ctx_out": res.ctx_out.hex() if res.ctx_out is not None else None,
            "duration_ns": res.duration_ns,
            "repeat": repeat,
            "trace": trace_lines(res),
        }
        _echo_doc(target, doc)
        return
    for line in trace_lines(res):
        click.echo(line)
    click.echo(f"retval = {res.retval:#x} ({verdict})")
    if res.data_out and res.data_out != mem:
        click.echo(f"data_out = {res.data_out.hex()}")
    if res.ctx_out is not None:
        click.echo(f"ctx_out = {res.ctx_out.hex()}")
    if repeat > 1:
        click.echo(f"{repeat} runs, mean {res.duration_ns} ns")
    _echo_maps(target.maps, target.btf)


# -- a capture -------------------------------------------------------------------------
@dataclass
class CaptureStats:
    """What a run over a capture counted."""

    packets: int = 0
    written: int = 0
    verdicts: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    duration_ns: int = 0
    run_ns: int = 0
    """The programs' own time, summed (``TestRunResult.duration_ns``)."""

    @property
    def per_second(self) -> float:
        return self.packets * 1e9 / self.duration_ns if self.duration_ns else 0.0


def run_capture(
    target: Target,
    info: ProgTypeInfo,
    reader: CaptureReader,
    writer: Any = None,
    ctx: bytes | None = None,
    seed: int | None = None,
    stop_on_error: bool = False,
    progress: Callable[[int], None] | None = None,
) -> CaptureStats:
    """Test-run ``target`` on every packet of ``reader``; write what passes to ``writer``."""
    from ebpy.errors import KernelError, TestRunError, VmError
    from ebpy.pcap import ETHERNET_CONVERTIBLE, LinkTypeError, to_ethernet

    if reader.format == "pcap" and reader.interfaces[0].linktype not in ETHERNET_CONVERTIBLE:
        raise LinkTypeError(reader.interfaces[0].linktype, 20).with_path(reader.path)
    keep = _keep_table().get(info.prog_type, _keep_all)
    stats = CaptureStats()
    verdicts, errors = stats.verdicts, stats.errors
    test_run = target.test_run
    write = writer.write_frame if writer is not None else None
    run_ns = 0
    n = 0
    start = time.perf_counter_ns()
    for packet in reader:
        n += 1
        data = packet.data
        if packet.linktype == 1:
            frame = data
        else:
            try:
                frame = to_ethernet(data, packet.linktype)
            except LinkTypeError as exc:
                why = f"packet {n}: {exc.reason}"
                raise LinkTypeError(exc.linktype, reader.offset, why).with_path(
                    reader.path
                ) from None
        try:
            res = test_run(frame, ctx, 1, None if seed is None else seed + n)
        except (VmError, TestRunError, KernelError) as exc:
            if stop_on_error:
                raise
            name = type(exc).__name__
            errors[name] = errors.get(name, 0) + 1
            continue
        ret = res.retval
        verdicts[ret] = verdicts.get(ret, 0) + 1
        run_ns += res.duration_ns
        if write is not None:
            kept = keep(ret, frame, res.data_out, packet.orig_len + len(frame) - len(data))
            if kept is not None:
                write(kept[0], packet.ts_ns, kept[1])
                stats.written += 1
        if progress is not None and not n % _PROGRESS_EVERY:
            progress(reader.offset)
    stats.duration_ns = time.perf_counter_ns() - start
    stats.packets = n
    stats.run_ns = run_ns
    return stats


def _run_capture(
    target: Target,
    info: ProgTypeInfo,
    pcap_in: str,
    write_out: str | None,
    ctx: bytes | None,
    seed: int | None,
    stop_on_error: bool,
    as_json: bool,
) -> None:
    from ebpy.pcap import open_capture, open_writer

    source: Any = sys.stdin.buffer if pcap_in == "-" else pcap_in
    with open_capture(source) as reader:
        writer = None
        if write_out is not None:
            fmt = "pcapng" if write_out.lower().endswith(".pcapng") else "pcap"
            # pcapng interfaces are not known yet: keep nanoseconds, which lose nothing
            nanosecond = reader.nanosecond if reader.format == "pcap" else True
            writer = open_writer(write_out, fmt, nanosecond=nanosecond)
        try:
            size = os.path.getsize(pcap_in) if os.path.isfile(pcap_in) else 0
            show = not as_json and size >= PROGRESS_MIN_BYTES and _stderr_is_terminal()
            if show:
                stats = _with_progress(target, info, reader, writer, ctx, seed, stop_on_error, size)
            else:
                stats = run_capture(target, info, reader, writer, ctx, seed, stop_on_error)
        finally:
            if writer is not None:
                writer.close()
    if as_json:
        _echo_doc(target, _capture_doc(stats, info, write_out))
    else:
        _print_capture(stats, info, target, write_out)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def _with_progress(
    target: Target,
    info: ProgTypeInfo,
    reader: CaptureReader,
    writer: Any,
    ctx: bytes | None,
    seed: int | None,
    stop_on_error: bool,
    size: int,
) -> CaptureStats:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("packets", total=size)
        stats = run_capture(
            target,
            info,
            reader,
            writer,
            ctx,
            seed,
            stop_on_error,
            lambda offset: bar.update(task, completed=offset),
        )
        bar.update(task, completed=size)
    return stats


def _verdict_rows(stats: CaptureStats, info: ProgTypeInfo) -> list[tuple[str, int]]:
    return [
        (info.verdict_name(ret), count)
        for ret, count in sorted(stats.verdicts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _capture_doc(stats: CaptureStats, info: ProgTypeInfo, write_out: str | None) -> dict[str, Any]:
    return {
        "packets": stats.packets,
        "verdicts": dict(_verdict_rows(stats, info)),
        "written": stats.written if write_out is not None else None,
        "duration_ns": stats.duration_ns,
        "run_ns": stats.run_ns,
        "packets_per_second": round(stats.per_second, 1),
        "errors": dict(sorted(stats.errors.items())),
        "prog_type": info.name,
    }


def _print_capture(
    stats: CaptureStats, info: ProgTypeInfo, target: Target, write_out: str | None
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title=f"{stats.packets} packets, {info.name}")
    table.add_column("verdict")
    table.add_column("count", justify="right")
    table.add_column("percent", justify="right")
    total = stats.packets or 1
    for name, count in _verdict_rows(stats, info):
        table.add_row(name, str(count), f"{100 * count / total:.1f}%")
    for name, count in sorted(stats.errors.items()):
        table.add_row(f"error: {name}", str(count), f"{100 * count / total:.1f}%")
    console.print(table)
    seconds = stats.duration_ns / 1e9
    console.print(f"{stats.packets} packets in {seconds:.3f} s: {stats.per_second:,.0f} packets/s")
    if write_out is not None:
        console.print(f"{stats.written} packets written to {write_out}")
    _echo_maps(target.maps, target.btf)
