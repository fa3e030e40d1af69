"""BPF_MAP_TYPE_LPM_TRIE: longest-prefix-match lookups over bit strings (IP routes).

A key is ``struct bpf_lpm_trie_key { __u32 prefixlen; __u8 data[]; }``: a
little-endian u32 prefix length in bits, then ``key_size - 4`` data bytes whose
bits are taken most significant first (network order). Not a hash map: lookups
find the longest stored prefix that matches, updates and deletes need the exact
prefix (the data bits past ``prefixlen`` do not matter, but the stored key keeps
the data of its last update, and ``get_next_key`` returns it).

The trie has the kernel's shape (``kernel/bpf/lpm_trie.c``): a binary trie whose
nodes each hold a prefix; a node's child 0 or 1 extends the prefix with the bit
after it; intermediate nodes (no value) join two subtrees that share a shorter
prefix and always have two children. So the order of ``get_next_key`` is the
kernel's: post-order, more specific prefixes before the prefixes they extend,
bit 0 before bit 1.

Layout of ``buf``: one slot of ``round8(value_size)`` bytes per element (slots
from a free list, ``buf`` grown in place); a node with a value holds its slot,
so a value stays at its offset while its prefix is in the trie (also when an
update replaces the value).

Semantics (checked against the running kernel, 6.x):

* create: ``BPF_F_NO_PREALLOC`` is required; only it, ``BPF_F_NUMA_NODE`` and the
  access flags are accepted; key_size 5..260 (1..256 data bytes), value_size
  1..``4 MiB - 256 - 24``, max_entries > 0; anything else EINVAL;
* update: flags above ``BPF_EXIST`` (so ``BPF_F_LOCK``) and a prefixlen above
  ``8 * (key_size - 4)`` are EINVAL; ``BPF_NOEXIST`` on an existing prefix is
  EEXIST, ``BPF_EXIST`` on a missing one ENOENT; a new prefix in a full trie is
  ENOSPC (not E2BIG); an existing prefix can be updated in a full trie.
  (Linux 6.1 ignored NOEXIST/EXIST here and gave ENOSPC for any update of a full
  trie; this follows the fixed behaviour of 6.13 and later.)
* lookup (syscall and program): the value of the longest stored prefix, no
  longer than the key's prefixlen, that matches the key; ENOENT (NULL for a
  program) when none matches or when the key's prefixlen exceeds the maximum;
* delete: exact prefix, ENOENT when missing, EINVAL for a prefixlen too large;
* get_next_key: None, a missing key or a prefixlen too large gives the first key
  in post-order; ENOENT after the last or in an empty trie;
* lookup_and_delete is ENOTSUPP (524); batches come from ``Map``.

>>> from ebpy.spec import MapSpec
>>> from ebpy.uapi import MapType, MapCreateFlags
>>> t = LpmTrieMap(MapSpec(MapType.LPM_TRIE, 8, 1, 8, MapCreateFlags.NO_PREALLOC))
>>> t[prefix_key(8, bytes([10, 0, 0, 0]))] = b"A"
>>> t[prefix_key(16, bytes([10, 1, 0, 0]))] = b"B"
>>> t.lookup_elem(prefix_key(32, bytes([10, 1, 2, 3])))
b'B'
>>> t.lookup_elem(prefix_key(32, bytes([10, 9, 2, 3])))
b'A'
>>> [split_key(k) for k in t]
[(16, b'\\n\\x01\\x00\\x00'), (8, b'\\n\\x00\\x00\\x00')]
"""

from __future__ import annotations

import errno

from ebpy.maps._hashtable import KMALLOC_MAX_SIZE, CoreMap, SlotAllocator
from ebpy.maps.base import ACCESS_MASK, ENOTSUPP, EXIST, NOEXIST, register, round8
from ebpy.uapi import MapCreateFlags, MapType

DATA_SIZE_MIN = 1
DATA_SIZE_MAX = 256
"""Bytes of ``data[]`` a key may have."""

NODE_SIZE = 24
"""``sizeof(struct lpm_trie_node)`` in the kernel we check against (40 in 6.1)."""

VALUE_SIZE_MAX = KMALLOC_MAX_SIZE - DATA_SIZE_MAX - NODE_SIZE

CREATE_FLAG_MASK = int(MapCreateFlags.NO_PREALLOC | MapCreateFlags.NUMA_NODE) | ACCESS_MASK


def prefix_key(prefixlen: int, data: bytes) -> bytes:
    """The bytes of ``struct bpf_lpm_trie_key`` for ``data/prefixlen``."""
    return prefixlen.to_bytes(4, "little") + bytes(data)


def split_key(key: bytes) -> tuple[int, bytes]:
    """``(prefixlen, data)`` of a ``struct bpf_lpm_trie_key``."""
    return int.from_bytes(key[:4], "little"), bytes(key[4:])


def _bit(bits: int, index: int, width: int) -> int:
    """Bit ``index`` of the ``width``-bit string ``bits``, most significant first."""
    return (bits >> (width - 1 - index)) & 1


class _Node:
    """A trie node: a prefix, two children, and a value slot (None: intermediate).

    ``data`` is the key's data as last written, ``bits`` the same as a big-endian int.
    """

    __slots__ = ("bits", "child", "data", "prefixlen", "slot")

    def __init__(self, prefixlen: int, data: bytes, slot: int | None) -> None:
        self.prefixlen = prefixlen
        self.data = data
        self.bits = int.from_bytes(data, "big")
        self.slot = slot
        self.child: list[_Node | None] = [None, None]


def _match(node: _Node, prefixlen: int, bits: int, width: int) -> int:
    """The kernel's ``longest_prefix_match``: shared leading bits, capped by both lengths."""
    return min(width - (node.bits ^ bits).bit_length(), node.prefixlen, prefixlen)


@register
class LpmTrieMap(CoreMap):
    """BPF_MAP_TYPE_LPM_TRIE (see the module docstring)."""

    map_type = MapType.LPM_TRIE
    create_flags = CREATE_FLAG_MASK

    def _validate(self) -> None:
        self._check_create()
        if not self.flags & MapCreateFlags.NO_PREALLOC:
            self._fail("create", errno.EINVAL, "LPM tries need BPF_F_NO_PREALLOC")
        if not DATA_SIZE_MIN + 4 <= self.key_size <= DATA_SIZE_MAX + 4:
            self._fail("create", errno.EINVAL, "key_size must be 5..260")
        if not 1 <= self.value_size <= VALUE_SIZE_MAX or not self.max_entries:
            self._fail("create", errno.EINVAL, "bad value_size or max_entries")
        self.data_size = self.key_size - 4
        self.max_prefixlen = 8 * self.data_size
        self.stride = round8(self.value_size)
        self.slots = SlotAllocator(self.buf, self.stride, self.max_entries)
        self.root: _Node | None = None
        self.n_entries = 0

    # -- walking ------------------------------------------------------------------
    def _exact(self, prefixlen: int, data: bytes) -> tuple[list[_Node], _Node | None]:
        """The path to the node of exactly ``data/prefixlen`` (None if there is none,
        or it is intermediate), as the kernel's delete and get_next_key walk it."""
        path: list[_Node] = []
        bits, width = int.from_bytes(data, "big"), self.max_prefixlen
        node = self.root
        while node is not None:
            path.append(node)
            matchlen = _match(node, prefixlen, bits, width)
            if node.prefixlen != matchlen or node.prefixlen == prefixlen:
                if node.prefixlen == prefixlen == matchlen and node.slot is not None:
                    return path, node
                break
            node = node.child[_bit(bits, node.prefixlen, width)]
        return path, None

    def _longest(self, key: bytes) -> _Node | None:
        prefixlen, data = split_key(key)
        if prefixlen > self.max_prefixlen:
            return None
        found = None
        bits, width = int.from_bytes(data, "big"), self.max_prefixlen
        node = self.root
        while node is not None:
            matchlen = _match(node, prefixlen, bits, width)
            if matchlen == width:
                return node
            if matchlen < node.prefixlen:
                break
            if node.slot is not None:
                found = node
            node = node.child[_bit(bits, node.prefixlen, width)]
        return found

    def _write(self, slot: int, value: bytes) -> None:
        off = slot * self.stride
        self.buf[off : off + self.value_size] = value

    # -- Map hooks ----------------------------------------------------------------
    def _lookup(self, key: bytes) -> bytes:
        node = self._longest(key)
        if node is None or node.slot is None:
            raise self._error("lookup", errno.ENOENT)
        off = node.slot * self.stride
        return bytes(self.buf[off : off + self.value_size])

    def _check_room(self, flags: int) -> int:
        """The kernel's ``trie_check_add_elem``: a slot for a new prefix."""
        if flags == EXIST:
            self._fail("update", errno.ENOENT)
        slot = self.slots.alloc() if self.n_entries < self.max_entries else None
        if slot is None:
            raise self._error("update", errno.ENOSPC, "trie is full")
        self.n_entries += 1
        return slot

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        if not isinstance(flags, int) or not 0 <= flags <= EXIST:
            self._fail("update", errno.EINVAL, f"bad flags {flags!r}")
        prefixlen, data = split_key(key)
        if prefixlen > self.max_prefixlen:
            self._fail("update", errno.EINVAL, f"prefixlen {prefixlen} > {self.max_prefixlen}")
        parent: _Node | None = None
        side = 0
        bits, width = int.from_bytes(data, "big"), self.max_prefixlen
        node = self.root
        matchlen = 0
        while node is not None:
            matchlen = _match(node, prefixlen, bits, width)
            if node.prefixlen != matchlen or node.prefixlen == prefixlen:
                break
            parent, side = node, _bit(bits, node.prefixlen, width)
            node = node.child[side]
        if node is None:
            node = _Node(prefixlen, data, self._check_room(flags))
            self._attach(parent, side, node)
        elif node.prefixlen == matchlen:  # the same prefix: replace the node's key
            if node.slot is not None:
                if flags == NOEXIST:
                    self._fail("update", errno.EEXIST)
            else:
                node.slot = self._check_room(flags)
            node.data, node.bits = data, bits
        else:
            new = _Node(prefixlen, data, self._check_room(flags))
            if matchlen == prefixlen:  # the new prefix is an ancestor of node
                new.child[_bit(node.bits, matchlen, width)] = node
                self._attach(parent, side, new)
            else:  # they part at matchlen: join them under an intermediate node
                joint = _Node(matchlen, node.data, None)
                bit = _bit(bits, matchlen, width)
                joint.child[bit] = new
                joint.child[1 - bit] = node
                self._attach(parent, side, joint)
            node = new
        assert node.slot is not None
        self._write(node.slot, value)

    def _attach(self, parent: _Node | None, side: int, node: _Node | None) -> None:
        if parent is None:
            self.root = node
        else:
            parent.child[side] = node

    def _delete(self, key: bytes) -> None:
        prefixlen, data = split_key(key)
        if prefixlen > self.max_prefixlen:
            self._fail("delete", errno.EINVAL, f"prefixlen {prefixlen} > {self.max_prefixlen}")
        path, node = self._exact(prefixlen, data)
        if node is None or node.slot is None:
            raise self._error("delete", errno.ENOENT)
        self.slots.free(node.slot)
        self.n_entries -= 1
        node.slot = None
        if node.child[0] is not None and node.child[1] is not None:
            return  # it stays, as an intermediate node
        parent = path[-2] if len(path) > 1 else None
        if parent is not None and parent.slot is None and node.child == [None, None]:
            # drop the intermediate parent too: its other child takes its place
            grand = path[-3] if len(path) > 2 else None
            other = parent.child[1] if parent.child[0] is node else parent.child[0]
            self._attach(grand, 0 if grand is None or grand.child[0] is parent else 1, other)
            return
        only = node.child[0] if node.child[0] is not None else node.child[1]
        side = 0 if parent is None or parent.child[0] is node else 1
        self._attach(parent, side, only)

    def _next_key(self, key: bytes | None) -> bytes:
        if self.root is None:
            raise self._error("get_next_key", errno.ENOENT)
        subtree: _Node | None = self.root
        if key is not None:
            prefixlen, data = split_key(key)
            if prefixlen <= self.max_prefixlen:
                path, found = self._exact(prefixlen, data)
                if found is not None:
                    subtree, ancestor = self._after(path)
                    if ancestor is not None:
                        return self._key_of(ancestor)
                    if subtree is None:
                        raise self._error("get_next_key", errno.ENOENT)
        return self._key_of(self._leftmost(subtree))

    @staticmethod
    def _after(path: list[_Node]) -> tuple[_Node | None, _Node | None]:
        """What follows ``path[-1]`` in post-order: ``(subtree, None)`` when it is the
        leftmost node of ``subtree``, ``(None, ancestor)`` when it is an ancestor
        with a value, ``(None, None)`` at the end."""
        node = path[-1]
        for parent in reversed(path[:-1]):
            if parent.child[0] is node and parent.child[1] is not None:
                return parent.child[1], None
            if parent.slot is not None:
                return None, parent
            node = parent
        return None, None

    @staticmethod
    def _leftmost(node: _Node | None) -> _Node:
        """The first node with a value in post-order under ``node`` (a leaf)."""
        last = node
        while node is not None:
            last = node
            node = node.child[0] if node.child[0] is not None else node.child[1]
        assert last is not None
        return last

    def _key_of(self, node: _Node) -> bytes:
        return prefix_key(node.prefixlen, node.data)

    def _count(self) -> int:
        return self.n_entries

    def _lookup_and_delete(self, key: bytes | None) -> bytes:
        raise self._error("lookup_and_delete", ENOTSUPP, "LPM tries cannot")

    def lookup_batch(
        self, start: bytes | None, count: int, *, delete: bool = False
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """``BPF_MAP_LOOKUP_BATCH``; there is no lookup-and-delete batch (ENOTSUPP)."""
        with self.lock:
            if delete:
                raise self._no_batch("lookup_and_delete_batch", read=True, write=True)
            return super().lookup_batch(start, count)

    # -- the program face ---------------------------------------------------------
    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int = 0) -> int:
        """``bpf_map_update_elem``: 0 or ``-errno`` (ENOSPC when full ...)."""
        if len(key) != self.key_size or len(value) != self.value_size:
            return -errno.EINVAL
        return super().prog_update(bytes(key), bytes(value), flags, cpu)

    def prog_delete(self, key: bytes) -> int:
        """``bpf_map_delete_elem``: 0 or ``-errno``."""
        if len(key) != self.key_size:
            return -errno.EINVAL
        return super().prog_delete(bytes(key))

    def prog_lookup(self, key: bytes, cpu: int = 0) -> int | None:
        """``bpf_map_lookup_elem``: the offset of the longest match's value, or None."""
        key = bytes(key)
        if len(key) != self.key_size:
            return None
        with self.lock:
            node = self._longest(key)
            return None if node is None or node.slot is None else node.slot * self.stride
