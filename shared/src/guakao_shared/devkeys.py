"""The development signing key: generated once per machine in the user's cache directory,
never committed. `guakao token` signs with it; services in development verify against its JWKS.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

DEV_ISSUER = "guakao-dev"
DEV_KID = "guakao-dev-1"


def cache_dir() -> Path:
    base = os.environ.get("GUAKAO_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "guakao"
    )
    return Path(base)


def _key_dir() -> Path:
    path = cache_dir() / "dev-keys"
    path.mkdir(parents=True, exist_ok=True)
    return path


def dev_private_key_pem() -> bytes:
    """The development RSA private key (PEM), created on first use; first writer wins."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = _key_dir() / "dev-signing-key.pem"
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    for _ in range(100):  # a concurrent first writer may still be writing
        data = path.read_bytes()
        if data.endswith(b"-----END PRIVATE KEY-----\n"):
            return data
    raise RuntimeError(f"development key at {path} is incomplete; delete it and retry")


def dev_jwks_url() -> str:
    """A file: URL of the development JWKS (PyJWT's JWKS client reads it like an https URL)."""
    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = _key_dir() / "dev-jwks.json"
    key = load_pem_private_key(dev_private_key_pem(), password=None)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))  # type: ignore[arg-type]
    jwk.update({"kid": DEV_KID, "alg": "RS256", "use": "sig"})
    body = json.dumps({"keys": [jwk]}, indent=2)
    if not path.exists() or path.read_text() != body:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(body)
        tmp.replace(path)
    return path.resolve().as_uri()
