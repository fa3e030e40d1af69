"""Constants from the Linux kernel's UAPI headers (linux/bpf.h, bpf_common.h, pkt_cls.h).

Everything here lives in ``_generated.py``, which ``tools/gen_uapi.py`` writes
from the installed headers; it is never edited by hand. Module-level names keep
their C spelling (``BPF_ALU64``, ``BPF_MAP_TYPE_HASH``, ``TC_ACT_SHOT``); the
enum classes (``BpfCmd``, ``MapType``, ``ProgType``, ``AttachType``, ``LinkType``,
``XdpAction``, ``TcAction``, ``HelperId``) and flag classes (``MapUpdateFlags``,
``MapCreateFlags``, ``ProgLoadFlags``) drop the common prefix. ``HELPER_NAMES``
maps a helper id to its name and ``HEADER_VERSION`` records the linux-libc-dev
version the constants were taken from.

This package is a table of numbers, not an API for bpf(2) calls: it has no
structures, no syscall wrappers and no logic.
"""

from ebpy.uapi._generated import *  # noqa: F403
from ebpy.uapi._generated import __all__ as __all__
