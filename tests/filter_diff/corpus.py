"""The 20,000-packet test corpus as a file, written once per test process.

``corpus_path()`` writes ``ebpy.pcap.corpus`` (20,000 packets, the default
seed) to a temporary directory (removed when the process ends) the first time
it is asked for and gives the same path afterwards; the file is about 2 MB, so it is generated, never
committed. ``corpus_records()`` gives the packets with their kinds, and
``corpus_index()`` maps a timestamp back to the packet's index (the corpus's
timestamps all differ). ``TCPDUMP`` is the tcpdump binary, or None.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

from ebpy.pcap import Packet
from ebpy.pcap.corpus import DEFAULT_SEED, Kind, corpus_records, write_corpus

CORPUS_SIZE = 20_000
TCPDUMP = shutil.which("tcpdump")


@functools.cache
def _directory() -> Path:
    path = Path(tempfile.mkdtemp(prefix="ebpy-corpus-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def corpus_path(n: int = CORPUS_SIZE, seed: int = DEFAULT_SEED) -> Path:
    """The corpus written as a classic pcap file (once per process)."""
    path = _directory() / f"corpus-{seed}-{n}.pcap"
    write_corpus(path, n, seed)
    return path


@functools.cache
def records(n: int = CORPUS_SIZE, seed: int = DEFAULT_SEED) -> tuple[tuple[Kind, Packet], ...]:
    """The corpus's ``(kind, packet)`` pairs."""
    return tuple(corpus_records(n, seed))


@functools.cache
def corpus_index(n: int = CORPUS_SIZE, seed: int = DEFAULT_SEED) -> dict[int, int]:
    """Timestamp (ns) -> index of the packet in the corpus."""
    index = {packet.ts_ns: i for i, (_, packet) in enumerate(records(n, seed))}
    assert len(index) == n, "corpus timestamps must be unique"
    return index


def tcpdump(*args: str) -> subprocess.CompletedProcess[str]:
    """Run tcpdump with ``args`` (text output, no check)."""
    assert TCPDUMP is not None
    return subprocess.run([TCPDUMP, *args], capture_output=True, text=True, check=False)
