"""What the VM uses for the parts of an object that ``ebpy.maps`` and ``ebpy.progtypes`` leave out.

Maps of kernel objects. Some map types hold what only a kernel has: network
devices (``DEVMAP``, ``DEVMAP_HASH``), CPU queues (``CPUMAP``), AF_XDP sockets
(``XSKMAP``), sockets (``SOCKMAP``, ``SOCKHASH``, ``REUSEPORT_SOCKARRAY``),
cgroups (``CGROUP_ARRAY``), per-object storage (``SK_STORAGE``,
``TASK_STORAGE``, ``INODE_STORAGE``, ``CGRP_STORAGE``, the cgroup storages) or
a ring that user space fills through ``mmap`` (``USER_RINGBUF``). ``ebpy.maps``
implements none of them, yet an object that names one must still load on the
VM and its programs must still run: ``kernel_only_map(spec)`` makes a map of
that type that programs can name (it has an id, a slot and an empty buffer)
and that stays empty, as such a map is in a kernel where nothing was put in
it. Programs find nothing (``bpf_map_lookup_elem`` gives NULL, so
``bpf_redirect_map`` falls back to the verdict in its flags); on the syscall
side lookups and deletes are ``ENOENT``, iteration ends at once, and updates
are ``EOPNOTSUPP`` (there is no device, socket or cgroup here whose fd could
be stored). ``create_map`` does not know these: only ``ebpy.vm.objects`` uses
them, for types ``ebpy.maps`` lacks.

Program types whose rules change with the expected attach type. The kernel
looks at a program's ``expected_attach_type`` for some types; an object's
programs carry one (from their ``SEC()`` name), so ``ebpy.vm.objects`` asks
``attach_variant(prog_type, expected_attach_type)`` for the model to use: the
type's own unless a variant is registered in ``ATTACH_VARIANTS``:

* ``xdp/devmap`` (``BPF_XDP_DEVMAP``): may read ``egress_ifindex``;
* ``xdp/devmap`` and ``xdp/cpumap`` (``BPF_XDP_CPUMAP``): refused by
  ``BPF_PROG_TEST_RUN`` (``EINVAL``), as the kernel refuses them.

This is not an implementation of those map types nor of the program types.

>>> m = kernel_only_map(MapSpec(MapType.DEVMAP, 4, 4, 8, name="ports"))
>>> m.map_type.name, len(m), m.prog_lookup(bytes(4))
('DEVMAP', 0, None)
>>> from ebpy.uapi import AttachType
>>> attach_variant(ProgType.XDP, AttachType.XDP_DEVMAP).access(20, 4, False)
(20, 4)
"""

from __future__ import annotations

import errno
from typing import ClassVar, NoReturn

from ebpy.errors import TestRunError
from ebpy.maps.base import Map
from ebpy.memory import AddressSpace
from ebpy.progtypes import PROG_TYPES, ProgTypeInfo
from ebpy.progtypes.base import CtxField
from ebpy.progtypes.xdp import Xdp
from ebpy.spec import MapSpec
from ebpy.uapi import AttachType, MapType, ProgType

__all__ = [
    "ATTACH_VARIANTS",
    "KernelOnlyMap",
    "XdpCpumap",
    "XdpDevmap",
    "attach_variant",
    "kernel_only_map",
]


# -- maps of kernel objects ----------------------------------------------------------
class KernelOnlyMap(Map):
    """A map of a type whose values only a kernel has; always empty here."""

    map_type: ClassVar[MapType] = MapType.UNSPEC
    value_writable: ClassVar[bool] = False
    batch_ops: ClassVar[frozenset[str]] = frozenset()

    def _validate(self) -> None:
        self._check_common()

    def _lookup(self, key: bytes) -> bytes:
        raise self._error("lookup", errno.ENOENT)

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        raise self._error(
            "update", errno.EOPNOTSUPP, f"{self.spec.type_name} values are kernel objects"
        )

    def _delete(self, key: bytes) -> None:
        raise self._error("delete", errno.ENOENT)

    def _next_key(self, key: bytes | None) -> bytes:
        raise self._error("get_next_key", errno.ENOENT)

    def _count(self) -> int:
        return 0


_CLASSES: dict[MapType, type[KernelOnlyMap]] = {}


def kernel_only_map(spec: MapSpec, *, ncpus: int = 1) -> KernelOnlyMap:
    """An empty map of ``spec``'s type (``map_type`` is the type, ``UNSPEC`` for types
    ``ebpy.uapi`` does not name)."""
    cls = _CLASSES.get(spec.type)
    if cls is None:
        name = "KernelOnly" + "".join(p.title() for p in spec.type.name.split("_")) + "Map"
        cls = type(name, (KernelOnlyMap,), {"map_type": spec.type, "__module__": __name__})
        _CLASSES[spec.type] = cls
    return cls(spec, ncpus=ncpus)


# -- program types by expected attach type --------------------------------------------
class XdpCpumap(Xdp):
    """XDP programs run by a cpumap entry: no test run."""

    def prepare(
        self, memory: AddressSpace, data_in: bytes | None, ctx_in: bytes | None
    ) -> NoReturn:
        raise TestRunError(errno.EINVAL, "devmap and cpumap XDP programs cannot be test-run")


class XdpDevmap(XdpCpumap):
    """XDP programs run by a devmap entry: ``egress_ifindex`` is readable."""

    fields: ClassVar[tuple[CtxField, ...]] = tuple(
        CtxField(f.name, f.offset, f.size, read=True, narrow=False)
        if f.name == "egress_ifindex"
        else f
        for f in Xdp.fields
    )


ATTACH_VARIANTS: dict[tuple[ProgType, AttachType], ProgTypeInfo] = {
    (ProgType.XDP, AttachType.XDP_DEVMAP): XdpDevmap(),
    (ProgType.XDP, AttachType.XDP_CPUMAP): XdpCpumap(),
}
"""Models that replace a type's own for one expected attach type."""


def attach_variant(prog_type: int, expected_attach_type: int | None) -> ProgTypeInfo | None:
    """The VM's model of ``prog_type`` attached as ``expected_attach_type`` (None when the
    VM does not model the type)."""
    try:
        kind = ProgType(prog_type)
    except ValueError:
        return None
    if expected_attach_type is not None:
        try:
            variant = ATTACH_VARIANTS.get((kind, AttachType(expected_attach_type)))
        except ValueError:
            variant = None
        if variant is not None:
            return variant
    return PROG_TYPES.get(kind)
