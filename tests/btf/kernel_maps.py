"""Test helpers: a kernel map's BTF and key/value type ids, by map id.

``bpftool map dump`` formats a map with the BTF the kernel holds for it (the
object's BTF after libbpf fixed it up: data section sizes and offsets). To
format the same bytes ourselves the tests fetch that very BTF from the kernel
(``BPF_BTF_GET_FD_BY_ID`` then ``BPF_OBJ_GET_INFO_BY_FD``) and the map's type
ids (``BPF_MAP_GET_FD_BY_ID``, map info). Root only.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

from ebpy.btf.parse import parse_btf
from ebpy.btf.types import Btf
from ebpy.kernel._syscall import ATTR_SIZE, ObjInfoAttr, bpf
from ebpy.kernel.map import KernelMap, MapInfo
from ebpy.uapi import BpfCmd

_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64


class _GetFdByIdAttr(ctypes.Structure):
    _fields_ = [
        ("id", _u32),
        ("next_id", _u32),
        ("open_flags", _u32),
        ("_pad", ctypes.c_uint8 * (ATTR_SIZE - 12)),
    ]


class _BtfInfo(ctypes.Structure):
    """``struct bpf_btf_info``."""

    _fields_ = [
        ("btf", _u64),
        ("btf_size", _u32),
        ("id", _u32),
        ("name", _u64),
        ("name_len", _u32),
        ("kernel_btf", _u32),
    ]


def _fd_by_id(cmd: int, obj_id: int) -> int:
    attr = _GetFdByIdAttr()
    attr.id = obj_id
    return bpf(cmd, attr)


def _btf_info(fd: int, buf: ctypes.Array[ctypes.c_char] | None) -> _BtfInfo:
    info = _BtfInfo()
    if buf is not None:
        info.btf = ctypes.addressof(buf)
        info.btf_size = len(buf)
    attr = ObjInfoAttr()
    attr.bpf_fd = fd
    attr.info_len = ctypes.sizeof(info)
    attr.info = ctypes.addressof(info)
    bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr)
    return info


def kernel_btf(btf_id: int) -> Btf:
    """The BTF object ``btf_id`` of the kernel, parsed."""
    fd = _fd_by_id(BpfCmd.BTF_GET_FD_BY_ID, btf_id)
    try:
        size = _btf_info(fd, None).btf_size
        buf = ctypes.create_string_buffer(size)
        _btf_info(fd, buf)
        return parse_btf(buf.raw[:size])
    finally:
        os.close(fd)


@dataclass(frozen=True)
class MapBtf:
    info: MapInfo
    btf: Btf


def map_btf(map_id: int) -> MapBtf:
    """Map ``map_id``'s info (type ids) and its BTF as the kernel holds it."""
    fd = _fd_by_id(BpfCmd.MAP_GET_FD_BY_ID, map_id)
    try:
        with KernelMap.from_fd(os.dup(fd)) as kmap:
            info = kmap.info()
    finally:
        os.close(fd)
    return MapBtf(info, kernel_btf(info.btf_id))
