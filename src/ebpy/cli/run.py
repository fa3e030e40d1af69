"""``ebpy run``: run a program on the userspace VM and show r0.

The command reads the program (``cli.inputs``), the input memory from
``--mem`` (hex) or ``--data`` (a file), runs it and prints the result as text
or JSON. It holds no execution logic of its own.
"""

from __future__ import annotations

import json
import time

import click


@click.command("run")
@click.argument("file")
@click.option("-s", "--section", help="ELF section to run.")
@click.option("--mem", "mem_hex", help="Input memory as hex; r1 points at it, r2 is its length.")
@click.option(
    "--data", "data_file", type=click.Path(dir_okay=False), help="Input memory from a file."
)
@click.option("--budget", type=click.IntRange(min=1), default=None, help="Instruction budget.")
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Run N times and report the mean duration.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--seed", type=int, default=None, help="Seed for bpf_get_prandom_u32.")
def run_cmd(
    file: str,
    section: str | None,
    mem_hex: str | None,
    data_file: str | None,
    budget: int | None,
    repeat: int,
    as_json: bool,
    seed: int | None,
) -> None:
    """Run FILE (assembly, hex, raw bytecode or ELF) on the userspace VM."""
    from ebpy.cli.inputs import load_program, parse_hex, read_bytes
    from ebpy.errors import InputError
    from ebpy.vm import DEFAULT_BUDGET, Runtime, Vm

    if mem_hex is not None and data_file is not None:
        raise InputError("--mem and --data exclude each other")
    mem = parse_hex(mem_hex, "--mem") if mem_hex is not None else None
    if data_file is not None:
        mem = read_bytes(data_file)
    loaded = load_program(file, section)
    vm = Vm(loaded.insns, budget=budget or DEFAULT_BUDGET)
    result = None
    start = time.perf_counter_ns()
    for _ in range(repeat):
        rt = Runtime(seed=seed)
        result = vm.run_full(mem, runtime=rt)
    elapsed = (time.perf_counter_ns() - start) // repeat
    assert result is not None
    if as_json:
        doc = {
            "r0": result.r0,
            "r0_hex": f"{result.r0:#x}",
            "insns": result.insn_count,
            "duration_ns": elapsed,
            "trace": [line.decode("utf-8", "replace") for line in result.runtime.trace_lines],
        }
        click.echo(json.dumps(doc))
        return
    for line in result.runtime.trace_lines:
        click.echo(line.decode("utf-8", "replace"))
    signed = result.r0 - (1 << 64) if result.r0 >> 63 else result.r0
    click.echo(f"r0 = {result.r0:#x} ({signed})")
    if repeat > 1:
        click.echo(f"{repeat} runs, mean {elapsed} ns, {result.insn_count} insns per run")
