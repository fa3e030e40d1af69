"""Backends: where a BPF object is loaded - the userspace VM or the running kernel.

``load(path_or_spec, backend="vm", **options)`` reads an ELF object (a path,
bytes, or an ``ObjectSpec`` already read) and loads it on a backend of
``BACKENDS``:

* ``"vm"``: ``ebpy.vm.objects.VmObject`` (userspace maps, the interpreter);
* ``"kernel"``: ``ebpy.kernel.objects.KernelObject`` (bpf(2); needs root).

Both give the same face (``LoadedObject``): ``obj.maps[name]`` is a
``MutableMapping`` over bytes, ``obj.programs[name].test_run(data, ctx,
repeat)`` runs a program as ``BPF_PROG_TEST_RUN`` does (retval, data_out,
ctx_out, duration_ns), ``obj.close()`` (or ``with``) releases it. ``options``
go to the backend's ``load`` (``kconfig``, ``target_btf``, ``programs``,
``prog_types`` for both; ``ncpus``, ``budget`` for the VM; ``log_level`` for
the kernel). Backends are imported only when used. This module loads; it
does not parse ELF (``ebpy.elf``) or run anything itself.

>>> from pathlib import Path
>>> obj = load(Path(__file__).parents[2] / "tests/testdata/bpf/multi_prog.o")
>>> obj.programs["multi_xdp_drop"].test_run(bytes(64)).retval
1
>>> obj.maps["hits"][(1).to_bytes(4, "little")]
b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00'
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

from ebpy.errors import InputError

if TYPE_CHECKING:
    from ebpy.kernel.objects import KernelObject
    from ebpy.spec import ObjectSpec
    from ebpy.vm.objects import VmObject

__all__ = ["BACKENDS", "LoadedObject", "LoadedProgram", "RunResult", "load", "read_spec"]


class RunResult(Protocol):
    """What a test run gives, on every backend."""

    @property
    def retval(self) -> int: ...
    @property
    def data_out(self) -> bytes: ...
    @property
    def ctx_out(self) -> bytes | None: ...
    @property
    def duration_ns(self) -> int: ...


class LoadedProgram(Protocol):
    """A program of a loaded object."""

    @property
    def name(self) -> str: ...
    @property
    def prog_type(self) -> int: ...

    def test_run(
        self, data: bytes | None = None, ctx: bytes | None = None, repeat: int = 1
    ) -> RunResult: ...


class LoadedObject(Protocol):
    """An object loaded on a backend."""

    @property
    def maps(self) -> Mapping[str, MutableMapping[bytes, bytes]]: ...
    @property
    def programs(self) -> Mapping[str, LoadedProgram]: ...

    def close(self) -> None: ...


BACKENDS: dict[str, tuple[str, str]] = {
    "vm": ("ebpy.vm.objects", "VmObject"),
    "kernel": ("ebpy.kernel.objects", "KernelObject"),
}
"""Backend name -> (module, class with a ``load(spec, **options)`` classmethod)."""


def read_spec(source: ObjectSpec | str | os.PathLike[str] | bytes) -> ObjectSpec:
    """The ``ObjectSpec`` of a path, of an object's bytes, or ``source`` itself."""
    from ebpy.elf.loader import load_file, load_object
    from ebpy.spec import ObjectSpec

    if isinstance(source, ObjectSpec):
        return source
    if isinstance(source, bytes | bytearray):
        return load_object(bytes(source))
    return load_file(os.fspath(source))


@overload
def load(
    source: ObjectSpec | str | os.PathLike[str] | bytes,
    backend: Literal["vm"] = "vm",
    **options: Any,
) -> VmObject: ...
@overload
def load(
    source: ObjectSpec | str | os.PathLike[str] | bytes,
    backend: Literal["kernel"],
    **options: Any,
) -> KernelObject: ...
@overload
def load(
    source: ObjectSpec | str | os.PathLike[str] | bytes, backend: str, **options: Any
) -> LoadedObject: ...
def load(
    source: ObjectSpec | str | os.PathLike[str] | bytes, backend: str = "vm", **options: Any
) -> Any:
    """Load an object on ``backend`` (see the module docstring)."""
    where = BACKENDS.get(backend)
    if where is None:
        known = ", ".join(BACKENDS)
        raise InputError(f"unknown backend {backend!r} (backends: {known})")
    spec = read_spec(source)
    module, name = where
    cls = getattr(importlib.import_module(module), name)
    try:
        inspect.signature(cls.load).bind(spec, **options)
    except TypeError as exc:
        raise InputError(f"backend {backend}: {exc}") from None
    return cls.load(spec, **options)
