"""Documents in S3-compatible object storage through the S3 API only (the `minio` SDK), so the
same code runs on MinIO, Ceph RGW, SeaweedFS or AWS S3. Uploads are streamed, size-limited and
hashed (SHA-256) on the way in; callers get a `DocumentRef` claim check back.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import BinaryIO, cast

from minio import Minio

from guakao_shared.events import DocumentRef


class DocumentTooLarge(Exception):
    pass


class _HashingReader:
    """Wraps a binary stream: hashes and counts what is read, refuses more than `limit` bytes."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream, self._limit = stream, limit
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self._stream.read(n)
        self.size += len(chunk)
        if self.size > self._limit:
            raise DocumentTooLarge(f"document exceeds the limit of {self._limit} bytes")
        self.sha256.update(chunk)
        return chunk


class S3DocumentStore:
    PART_SIZE = 8 * 1024 * 1024

    def __init__(
        self, endpoint: str, access_key: str, secret_key: str, *, secure: bool, region: str
    ) -> None:
        self.client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region
        )

    async def put(
        self,
        *,
        bucket: str,
        key: str,
        stream: BinaryIO,
        max_bytes: int,
        content_type: str,
        filename: str,
        document_type: str,
    ) -> DocumentRef:
        """Stream `stream` into the bucket; nothing is left behind if it is too large."""

        def _put() -> DocumentRef:
            reader = _HashingReader(stream, max_bytes)
            result = self.client.put_object(
                bucket,
                key,
                cast(BinaryIO, reader),
                length=-1,
                part_size=self.PART_SIZE,
                content_type=content_type,
            )
            return DocumentRef(
                bucket=bucket,
                key=key,
                version_id=result.version_id,
                sha256=reader.sha256.hexdigest(),
                size=reader.size,
                content_type=content_type,
                filename=filename,
                document_type=document_type,
            )

        return await asyncio.to_thread(_put)

    async def delete(self, ref: DocumentRef) -> None:
        await asyncio.to_thread(
            self.client.remove_object, ref.bucket, ref.key, version_id=ref.version_id
        )

    async def read(self, ref: DocumentRef) -> bytes:
        def _read() -> bytes:
            response = self.client.get_object(ref.bucket, ref.key, version_id=ref.version_id)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(_read)

    async def ready(self, bucket: str) -> bool:
        return await asyncio.to_thread(self.client.bucket_exists, bucket)
