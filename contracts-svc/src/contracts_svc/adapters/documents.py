"""The contracts' documents in object storage: rendered versions and signature evidence are
written to the contracts bucket (versioned) and read back by their claim check."""

from __future__ import annotations

import io

from guakao_shared.events import DocumentRef
from guakao_shared.objectstore import S3DocumentStore


class ContractDocuments:
    def __init__(self, store: S3DocumentStore, bucket: str) -> None:
        self._store, self.bucket = store, bucket

    async def put(
        self, key: str, body: bytes, *, content_type: str, filename: str, document_type: str
    ) -> DocumentRef:
        return await self._store.put(
            bucket=self.bucket,
            key=key,
            stream=io.BytesIO(body),
            max_bytes=len(body),
            content_type=content_type,
            filename=filename,
            document_type=document_type,
        )

    async def read(self, ref: DocumentRef) -> bytes:
        return await self._store.read(ref)
