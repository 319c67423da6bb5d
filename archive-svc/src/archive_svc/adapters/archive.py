"""The WORM archive in S3-compatible storage, through the S3 API only (the `minio` SDK), so the
same code runs on MinIO, Ceph RGW, SeaweedFS or AWS S3.

Filing copies a source document into the archive bucket (created with Object Lock and
versioning) in two steps: `fetch` reads the exact source version while hashing it into a spool
file and refuses it when the SHA-256 differs from the claim check; `store` writes those same
bytes with COMPLIANCE retention (and legal hold when asked) in the same request, so no archived
version ever exists without its lock. Nothing is written unless every document of a record has
been fetched and verified first: a refused filing leaves nothing behind in a bucket where
nothing can be deleted.

Storage outages (connection refused, reset, timeouts) surface as `StorageUnavailable`, a
`ConnectionError`, so that the shared inbox keeps retrying until the storage is back instead of
dead-lettering the event.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, BinaryIO, TypeVar, cast

import urllib3.exceptions
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import S3Error
from minio.retention import Retention

from guakao_shared.events import DocumentRef

T = TypeVar("T")
CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024
SHA256_META = "sha256"
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchBucket"})


class StorageUnavailable(ConnectionError):
    """The object store cannot be reached; retrying later can help."""


class ChecksumMismatch(Exception):
    """The source bytes do not hash to the SHA-256 of the claim check: never filed."""

    def __init__(self, ref: DocumentRef, actual: str) -> None:
        super().__init__(
            f"sha256 mismatch for {ref.filename} ({ref.bucket}/{ref.key}"
            f"{f'@{ref.version_id}' if ref.version_id else ''}): the claim check says "
            f"{ref.sha256[:12]}…, the stored bytes hash to {actual[:12]}…"
        )
        self.ref, self.actual = ref, actual


class SourceMissing(Exception):
    """The source object (or the version named by the claim check) does not exist."""

    def __init__(self, bucket: str, key: str, version_id: str | None, code: str) -> None:
        where = f"{bucket}/{key}{f'@{version_id}' if version_id else ''}"
        super().__init__(f"source document {where} not found ({code})")


_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.MaxRetryError,  # every retry failed: refused, reset, 5xx
    urllib3.exceptions.ProtocolError,  # the connection broke mid-response
    urllib3.exceptions.TimeoutError,  # connect or read timeout (incl. NewConnectionError)
    ConnectionError,  # refused/reset/aborted from the socket layer
    TimeoutError,
)


def _s3(call: Callable[[], T]) -> T:
    """Run one blocking S3 call, turning transport failures into `StorageUnavailable`."""
    try:
        return call()
    except _TRANSPORT_ERRORS as exc:
        raise StorageUnavailable(f"object storage unreachable: {exc}") from exc


@dataclass
class StagedDocument:
    """Verified source bytes, spooled (memory, then disk), ready to be archived."""

    ref: DocumentRef
    sha256: str
    size: int
    spool: IO[bytes] = field(repr=False)

    def close(self) -> None:
        self.spool.close()


@dataclass(frozen=True)
class ArchivedObject:
    bucket: str
    key: str
    version_id: str | None


@dataclass(frozen=True)
class ObjectCheck:
    """What the archive holds for one version: its SHA-256 (re-hashed) and its lock."""

    exists: bool
    sha256: str | None = None
    size: int | None = None
    retention_mode: str | None = None
    retain_until: datetime | None = None


class S3Archive:
    def __init__(self, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    async def fetch(self, ref: DocumentRef) -> StagedDocument:
        """Read the source version named by `ref` while hashing it; refuse a SHA-256 mismatch."""
        return await asyncio.to_thread(self._fetch, ref)

    def _fetch(self, ref: DocumentRef) -> StagedDocument:
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            sha, size = _s3(
                lambda: self._copy_into(ref.bucket, ref.key, ref.version_id, spool.write)
            )
            if sha != ref.sha256:
                raise ChecksumMismatch(ref, sha)
            spool.seek(0)
            return StagedDocument(ref=ref, sha256=sha, size=size, spool=spool)
        except BaseException:
            spool.close()
            raise

    def _copy_into(
        self, bucket: str, key: str, version_id: str | None, sink: Callable[[bytes], Any]
    ) -> tuple[str, int]:
        try:
            response = self.client.get_object(bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code in MISSING_CODES:
                raise SourceMissing(bucket, key, version_id, exc.code) from exc
            raise
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in response.stream(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                sink(chunk)
        finally:
            response.close()
            response.release_conn()
        return digest.hexdigest(), size

    async def store(
        self, staged: StagedDocument, *, key: str, retain_until: datetime, legal_hold: bool = False
    ) -> ArchivedObject:
        """Write the verified bytes under `key` with COMPLIANCE retention until `retain_until`.

        Keys embed the record id and the SHA-256, so an object already there holds these same
        bytes (a retried filing after a crash): it is reused rather than written again."""
        return await asyncio.to_thread(self._store, staged, key, retain_until, legal_hold)

    def _store(
        self, staged: StagedDocument, key: str, retain_until: datetime, legal_hold: bool
    ) -> ArchivedObject:
        existing = _s3(lambda: self._stat(key))
        if existing is not None and existing.metadata.get(f"x-amz-meta-{SHA256_META}") == (
            staged.sha256
        ):
            self._retain_at_least(key, existing.version_id, retain_until)
            return ArchivedObject(self.bucket, key, existing.version_id)
        staged.spool.seek(0)
        result = _s3(
            lambda: self.client.put_object(
                self.bucket,
                key,
                cast(BinaryIO, staged.spool),
                length=staged.size,
                content_type=staged.ref.content_type,
                metadata={SHA256_META: staged.sha256},
                retention=Retention(COMPLIANCE, retain_until),
                legal_hold=legal_hold,
            )
        )
        return ArchivedObject(self.bucket, key, result.version_id)

    def _retain_at_least(self, key: str, version_id: str | None, until: datetime) -> None:
        """COMPLIANCE retention can be extended, never shortened: extend it when it ends early."""
        current = _s3(lambda: self.client.get_object_retention(self.bucket, key, version_id))
        if current is None or current.retain_until_date < until:
            _s3(
                lambda: self.client.set_object_retention(
                    self.bucket, key, Retention(COMPLIANCE, until), version_id=version_id
                )
            )

    def _stat(self, key: str) -> Any:
        try:
            return self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in MISSING_CODES:
                return None
            raise

    async def check(self, bucket: str, key: str, version_id: str | None) -> ObjectCheck:
        """Re-read one archived version, re-hash it, and read its retention."""
        return await asyncio.to_thread(self._check, bucket, key, version_id)

    def _check(self, bucket: str, key: str, version_id: str | None) -> ObjectCheck:
        try:
            sha, size = _s3(lambda: self._copy_into(bucket, key, version_id, lambda _: None))
        except SourceMissing:
            return ObjectCheck(exists=False)
        retention = _s3(
            lambda: self.client.get_object_retention(bucket, key, version_id=version_id)
        )
        return ObjectCheck(
            exists=True,
            sha256=sha,
            size=size,
            retention_mode=None if retention is None else retention.mode,
            retain_until=None if retention is None else retention.retain_until_date,
        )

    async def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> None:
        """Legal hold on one archived version: while on, nobody can delete it, retention over
        or not (S3 Object Lock legal hold)."""

        def call() -> None:
            if on:
                self.client.enable_object_legal_hold(self.bucket, key, version_id=version_id)
            else:
                self.client.disable_object_legal_hold(self.bucket, key, version_id=version_id)

        await asyncio.to_thread(_s3, call)

    async def remove(self, key: str, version_id: str | None) -> None:
        """Delete one archived version; S3 refuses while its retention or a legal hold lasts."""
        await asyncio.to_thread(
            _s3, lambda: self.client.remove_object(self.bucket, key, version_id=version_id)
        )

    async def read(self, key: str, version_id: str | None) -> bytes:
        def call() -> bytes:
            response = self.client.get_object(self.bucket, key, version_id=version_id)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(_s3, call)

    async def presigned_get(self, key: str, version_id: str | None, minutes: int = 15) -> str:
        from datetime import timedelta

        return await asyncio.to_thread(
            _s3,
            lambda: self.client.presigned_get_object(
                self.bucket, key, expires=timedelta(minutes=minutes), version_id=version_id
            ),
        )

    async def ready(self) -> bool:
        return await asyncio.to_thread(lambda: _s3(lambda: self.client.bucket_exists(self.bucket)))
