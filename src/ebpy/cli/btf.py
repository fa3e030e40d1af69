"""``ebpy btf``: read BTF and print it the way ``bpftool btf dump`` does.

``ebpy btf dump FILE [--format raw] [-B BASE]``. FILE is a BPF (or any
ELF) object with a ``.BTF`` section, a raw BTF file such as
``/sys/kernel/btf/vmlinux``, or the name of a kernel module with BTF in
``/sys/kernel/btf/`` (split over vmlinux, as is any other file there).
``-B``/``--base-btf`` (bpftool's option) names the base of split BTF (a file,
or a module name); files in ``/sys/kernel/btf/`` other than vmlinux get
vmlinux as their base, as in bpftool.

Output formats are a registry (``FORMATS``: name -> function of a ``Btf``);
adding one is one entry. This module only reads input and writes output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import click

from ebpy.btf.dump_c import dump_c
from ebpy.btf.dump_raw import dump_raw
from ebpy.btf.types import Btf

__all__ = ["FORMATS", "btf_cmd", "dump_cmd", "load_btf_file"]

FORMATS: dict[str, Callable[[Btf], str]] = {
    "raw": dump_raw,
    "c": dump_c,
}
"""``--format`` name -> the function that prints a whole table."""

SYSFS_BTF = "/sys/kernel/btf"


def _sysfs_name(name: str) -> str | None:
    """The sysfs path of module ``name`` when ``name`` is not a file but a module is."""
    if os.path.exists(name) or "/" in name or not name or name in (".", ".."):
        return None
    path = os.path.join(SYSFS_BTF, name)
    return path if os.path.exists(path) else None


def load_btf_file(file: str, base: str | None = None) -> Btf:
    """The BTF in ``file`` (an object, a raw BTF file or a module name), split over ``base``."""
    from ebpy.btf.parse import VMLINUX_PATH, load_vmlinux, parse_btf
    from ebpy.cli.inputs import read_bytes
    from ebpy.elf.btf_sections import load_object_btf
    from ebpy.elf.reader import is_elf
    from ebpy.errors import BtfError

    path = _sysfs_name(file) or file
    if os.path.realpath(path) == os.path.realpath(VMLINUX_PATH) and base is None:
        return load_vmlinux(path)
    base_btf: Btf | None = None
    if base is not None:
        base_btf = load_btf_file(base)
    elif os.path.dirname(os.path.abspath(path)) == SYSFS_BTF:
        base_btf = load_vmlinux()
    data = read_bytes(path)
    if is_elf(data):
        if base_btf is not None:
            raise BtfError("--base applies to raw BTF files, not to objects", section=file)
        btf, _ = load_object_btf(data)
        if btf is None:
            raise BtfError("no .BTF section", section=file)
        return btf
    return parse_btf(data, base=base_btf, section=file)


@click.group("btf")
def btf_cmd() -> None:
    """Inspect BTF (BPF Type Format) in objects, vmlinux and modules."""


@btf_cmd.command("dump")
@click.argument("file")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="raw",
    show_default=True,
    help="Output format (raw: as bpftool btf dump file F; c: as ... format c).",
)
@click.option(
    "-B", "--base-btf", "--base", "base", help="Base BTF of split BTF (a file or a module name)."
)
def dump_cmd(file: str, fmt: str, base: str | None) -> None:
    """Print the types of FILE: an object, a raw BTF file or a kernel module name."""
    text = FORMATS[fmt](load_btf_file(file, base))
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.buffer.flush()
