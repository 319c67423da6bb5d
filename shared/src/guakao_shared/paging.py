"""One way to page every list: the request (limit and offset, or an opaque cursor) and the
slice a repository returns (its items and the total that matched)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from guakao_shared.refusals import Invalid

T = TypeVar("T")
V = TypeVar("V")

MAX_LIMIT = 200


@dataclass(frozen=True)
class PageRequest:
    limit: int = 50
    offset: int = 0

    @classmethod
    def of(cls, *, limit: int, offset: int, cursor: str | None) -> PageRequest:
        """A cursor, when given, carries the offset of the next page (it wins over `offset`)."""
        return cls(limit=limit, offset=decode_cursor(cursor) if cursor else offset)


@dataclass(frozen=True)
class Slice(Generic[T]):
    items: Sequence[T]
    total: int
    request: PageRequest

    def map(self, fn: Callable[[T], V]) -> Slice[V]:
        return Slice([fn(i) for i in self.items], self.total, self.request)

    @property
    def next_cursor(self) -> str | None:
        end = self.request.offset + len(self.items)
        return encode_cursor(end) if end < self.total else None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        offset = int(value)
        if kind != "o" or offset < 0:
            raise ValueError(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("cursor", "valid_cursor", "not a cursor this API returned") from None
    return offset
