"""The values of ``__kconfig`` externs: what a loader writes into an object's ``.kconfig`` map.

An object declares ``extern u32 CONFIG_HZ __kconfig;`` and the like; the ELF
loader gives each extern a slot (``ebpy.spec.KconfigExtern``: offset, size,
kind) in a frozen array map. At load time a backend fills the slots, as
libbpf does:

* ``LINUX_KERNEL_VERSION``: ``KERNEL_VERSION(major, minor, patch)`` of the
  running kernel's release (``uname -r``), the patch capped at 255;
  ``LINUX_HAS_BPF_COOKIE`` and ``LINUX_HAS_SYSCALL_WRAPPER`` as this kernel
  has them; any other ``LINUX_`` name is an error;
* ``CONFIG_*``: from ``/boot/config-$(uname -r)`` or else ``/proc/config.gz``,
  the first one readable; a value is ``y``/``n``/``m``, a number or a quoted
  string, written as the extern's kind wants it (``bool``: 1 or 0, ``m`` is
  refused; ``tristate``: 1, 0 or 2; ``char``: the letter; ``int``: the number,
  which must fit; ``char_array``: the string, cut to fit with its NUL);
* an extern the config does not set is 0 when it is ``__weak``, and an error
  otherwise.

``overrides`` (name -> ``bool``, ``int`` or the text of a config value such as
``"m"`` or ``'"str"'``) win over everything. This module reads files of the
running system and returns bytes; it does not create maps (the backends do).

>>> from ebpy.spec import KconfigExtern
>>> exts = (KconfigExtern("CONFIG_HZ", 0, 4, "int"), KconfigExtern("CONFIG_X", 4, 1, "bool", weak=True))
>>> kconfig_bytes(exts, 5, overrides={"CONFIG_HZ": 250}, config={}).hex()
'fa00000000'
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from ebpy.errors import InputError, NotSupportedError
from ebpy.spec import KconfigExtern

__all__ = [
    "KconfigValue",
    "config_paths",
    "kconfig_bytes",
    "kernel_version_code",
    "parse_config",
    "read_kernel_config",
]

KconfigValue = bool | int | str
"""What ``overrides`` may give for an extern."""

_TRISTATE = {"n": 0, "y": 1, "m": 2}
_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


def kernel_version_code(release: str | None = None) -> int:
    """``KERNEL_VERSION(a, b, c)`` of ``release`` (default: the running kernel).

    >>> hex(kernel_version_code("6.18.44-fc"))
    '0x6122c'
    >>> hex(kernel_version_code("5.4.300"))
    '0x504ff'
    """
    text = os.uname().release if release is None else release
    m = _RELEASE.match(text)
    if m is None:
        return 0
    major, minor, patch = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    return (major << 16) + (minor << 8) + min(patch, 255)


def config_paths() -> tuple[str, ...]:
    """Where the running kernel's config may be, in the order libbpf tries them."""
    return (f"/boot/config-{os.uname().release}", "/proc/config.gz")


def parse_config(text: str) -> dict[str, str]:
    """``CONFIG_NAME=value`` lines as a dict (comments and other lines skipped).

    >>> parse_config('CONFIG_A=y\\n# CONFIG_B is not set\\nCONFIG_C="x y"\\n')
    {'CONFIG_A': 'y', 'CONFIG_C': '"x y"'}
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("CONFIG_"):
            continue
        name, sep, value = line.partition("=")
        if sep and name and value:
            out[name] = value
    return out


@lru_cache(maxsize=4)
def _read_config(paths: tuple[str, ...]) -> tuple[tuple[str, str], ...] | None:
    for path in paths:
        try:
            with open(path, "rb") as f:
                raw = f.read()
            if path.endswith(".gz"):
                raw = gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile):
            continue
        return tuple(parse_config(raw.decode("utf-8", "replace")).items())
    return None


def read_kernel_config(paths: Sequence[str] | None = None) -> dict[str, str] | None:
    """The running kernel's config (``parse_config``), None when no file is readable."""
    found = _read_config(tuple(config_paths() if paths is None else paths))
    return None if found is None else dict(found)


def _has_syscall_wrapper() -> int:
    prefixes = (b" __x64_sys_", b" __arm64_sys_", b" __s390x_sys_", b" __riscv_sys_")
    try:
        with open("/proc/kallsyms", "rb") as f:
            for line in f:
                if any(p in line for p in prefixes):
                    return 1
    except OSError:
        return 0
    return 0


def _linux_value(name: str) -> int:
    if name == "LINUX_KERNEL_VERSION":
        return kernel_version_code()
    if name == "LINUX_HAS_BPF_COOKIE":
        return int(kernel_version_code() >= 0x050F00)  # bpf_get_attach_cookie: Linux 5.15
    if name == "LINUX_HAS_SYSCALL_WRAPPER":
        return _has_syscall_wrapper()
    raise InputError(f"unrecognized extern {name!r}: LINUX_ names are the loader's own")


def _as_text(value: KconfigValue) -> str:
    if isinstance(value, bool):
        return "y" if value else "n"
    if isinstance(value, int):
        return str(value)
    return value


def _fail(ext: KconfigExtern, why: str) -> InputError:
    return InputError(f"kconfig extern {ext.name} ({ext.kind}, {ext.size} bytes): {why}")


def _number(ext: KconfigExtern, value: int) -> bytes:
    bits = 8 * ext.size
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if ext.signed else (0, (1 << bits) - 1)
    if not low <= value <= high:
        raise _fail(ext, f"value {value} does not fit")
    return value.to_bytes(ext.size, "little", signed=ext.signed)


def encode_value(ext: KconfigExtern, text: str) -> bytes:
    """``text`` (a config value) as the bytes of ``ext``'s slot.

    >>> encode_value(KconfigExtern("CONFIG_T", 0, 4, "tristate"), "m").hex()
    '02000000'
    >>> encode_value(KconfigExtern("CONFIG_S", 0, 4, "char_array"), '"abcdef"')
    b'abc\\x00'
    """
    if text in _TRISTATE:
        if ext.kind == "bool":
            if text == "m":
                raise _fail(ext, "'m' is not a boolean value")
            return bytes([text == "y"])
        if ext.kind == "tristate":
            return _TRISTATE[text].to_bytes(4, "little")
        if ext.kind == "char":
            return text.encode("ascii")
        raise _fail(ext, f"{text!r} is not a value for this kind")
    if text.startswith('"'):
        if ext.kind != "char_array":
            raise _fail(ext, "a string is not a value for this kind")
        if len(text) < 2 or not text.endswith('"'):
            raise _fail(ext, "unterminated string")
        raw = text[1:-1].encode("utf-8", "surrogateescape")[: ext.size - 1]
        return raw + bytes(ext.size - len(raw))
    try:
        number = int(text, 0)
    except ValueError:
        raise _fail(ext, f"{text!r} is not a number") from None
    if ext.kind == "bool":
        if number not in (0, 1):
            raise _fail(ext, f"{number} is not a boolean value")
        return bytes([number])
    if ext.kind not in ("int", "char"):
        raise _fail(ext, "a number is not a value for this kind")
    return _number(ext, number)


def kconfig_bytes(
    externs: Sequence[KconfigExtern],
    size: int,
    *,
    overrides: Mapping[str, KconfigValue] | None = None,
    config: Mapping[str, str] | None = None,
) -> bytes:
    """The ``size``-byte contents of a ``.kconfig`` map holding ``externs``.

    ``config`` is the kernel config to use (default: ``read_kernel_config()``,
    read only when a ``CONFIG_`` extern needs it). A strong extern without a
    value raises ``NotSupportedError``; bad values raise ``InputError``.
    """
    overrides = dict(overrides or {})
    buf = bytearray(size)
    cfg: Mapping[str, str] | None = config
    for ext in externs:
        if ext.offset < 0 or ext.offset + ext.size > size:
            raise _fail(ext, f"slot outside the {size}-byte .kconfig map")
        text: str | None = None
        if ext.name in overrides:
            text = _as_text(overrides[ext.name])
        elif ext.name.startswith("LINUX_"):
            text = str(_linux_value(ext.name))
        elif ext.name.startswith("CONFIG_"):
            if cfg is None:
                cfg = read_kernel_config() or {}
            text = cfg.get(ext.name)
        if text is None:
            if ext.weak:
                continue
            where = " or ".join(config_paths())
            raise NotSupportedError(
                f"the value of kconfig extern {ext.name}",
                f"not set in this kernel's config ({where}); pass it in kconfig=",
            )
        buf[ext.offset : ext.offset + ext.size] = encode_value(ext, text)
    return bytes(buf)
