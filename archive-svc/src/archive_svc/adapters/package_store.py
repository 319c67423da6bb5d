"""Evidence packages in object storage (the S3 API, like the rest of the archive): archived
versions are streamed out of the archive bucket into a package, and the package is stored back
in the archive bucket under `exports/`, with a presigned URL to download it.

The calls here block: the service layer runs them in a worker thread, and turns storage
outages into `StorageUnavailable` (a `ConnectionError`) like every other archive call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from minio.error import S3Error

from archive_svc.adapters.archive import CHUNK, MISSING_CODES, SHA256_META, S3Archive, _s3

T = TypeVar("T")
EXPORTS_PREFIX = "exports"
URL_MINUTES = 15


class ArchivedVersionMissing(Exception):
    """An archived version named by a record is gone (disposed of, or never there)."""

    def __init__(self, bucket: str, key: str, version_id: str | None, code: str) -> None:
        super().__init__(f"archived version {bucket}/{key}@{version_id} does not exist ({code})")


class PackageStore:
    def __init__(self, archive: S3Archive) -> None:
        self._archive = archive
        self.bucket = archive.bucket

    def chunks(self, bucket: str, key: str, version_id: str | None) -> Iterator[bytes]:
        """The bytes of exactly that archived version, a chunk at a time."""
        try:
            response = self._archive.client.get_object(bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code in MISSING_CODES:
                raise ArchivedVersionMissing(bucket, key, version_id, exc.code) from exc
            raise
        try:
            yield from response.stream(CHUNK)
        finally:
            response.close()
            response.release_conn()

    def put(self, key: str, package: BinaryIO, size: int, sha256: str) -> str | None:
        """Store a package (no retention: its SHA-256 is in the ledger); its version id."""
        result = self._archive.client.put_object(
            self.bucket,
            key,
            package,
            length=size,
            content_type="application/zip",
            metadata={SHA256_META: sha256},
        )
        return result.version_id

    async def presigned_url(self, key: str, version_id: str | None) -> str:
        """A GET URL for exactly that version, valid for 15 minutes."""
        return await self._archive.presigned_get(key, version_id, minutes=URL_MINUTES)

    @staticmethod
    async def run(call: Callable[[], T]) -> T:
        """Run blocking storage work in a thread; an unreachable store is `StorageUnavailable`."""
        return await asyncio.to_thread(_s3, call)
