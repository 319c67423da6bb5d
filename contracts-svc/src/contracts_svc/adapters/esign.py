"""Electronic signatures behind one interface: an external provider plugs in here; the built-in
provider (development) seals each signature with an HMAC over exactly what was signed."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SignatureEvidence:
    method: str
    evidence: str


class SignatureProvider(Protocol):
    def sign(
        self, *, contract_id: str, version: int, party: str, signer: str, document_sha256: str
    ) -> SignatureEvidence: ...


class BuiltinSignatureProvider:
    method = "builtin-hmac-sha256"

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(
        self, *, contract_id: str, version: int, party: str, signer: str, document_sha256: str
    ) -> SignatureEvidence:
        message = f"{contract_id}|{version}|{party}|{signer}|{document_sha256}".encode()
        seal = hmac.new(self._secret, message, hashlib.sha256).hexdigest()
        return SignatureEvidence(self.method, seal)

    def verify(
        self,
        evidence: str,
        *,
        contract_id: str,
        version: int,
        party: str,
        signer: str,
        document_sha256: str,
    ) -> bool:
        expected = self.sign(
            contract_id=contract_id,
            version=version,
            party=party,
            signer=signer,
            document_sha256=document_sha256,
        ).evidence
        return hmac.compare_digest(expected, evidence)
