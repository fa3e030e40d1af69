"""``Closing``: the one ``with`` face of everything ebpy opens.

Files, sockets, kernel fds and loaded objects are released by ``close()``;
a ``with`` block calls it at its end. Subclasses implement ``close()`` (again
must be a no-op). This module holds nothing else: what is closed, and when an
object is collected, is each subclass's business.

>>> class Door(Closing):
...     shut = False
...     def close(self) -> None:
...         self.shut = True
>>> with Door() as d:
...     pass
>>> d.shut
True
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["Closing"]


class Closing(ABC):
    """``with`` support: ``close()`` at the end of the block."""

    @abstractmethod
    def close(self) -> None:
        """Release what the object holds; closing again does nothing."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
