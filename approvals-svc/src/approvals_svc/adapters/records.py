"""Where the generated decision records (the minutes of an approval) are kept: object storage."""

from __future__ import annotations

import io

from guakao_shared.events import DocumentRef
from guakao_shared.objectstore import S3DocumentStore


class S3RecordStore:
    """Markdown minutes in the service's records bucket."""

    def __init__(self, documents: S3DocumentStore, bucket: str) -> None:
        self._documents, self._bucket = documents, bucket

    async def put(self, *, key: str, body: bytes, filename: str) -> DocumentRef:
        return await self._documents.put(
            bucket=self._bucket,
            key=key,
            stream=io.BytesIO(body),
            max_bytes=len(body),
            content_type="text/markdown",
            filename=filename,
            document_type="meeting_minutes",
        )
