"""How the sandbox signs its webhooks: SendGrid's ECDSA event signature and Twilio's HMAC-SHA1.

Written from the providers' descriptions rather than with the SDK helpers, so that the tests, which verify
with the SDK helpers, check the two sides against each other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

PRIVATE_KEY_FILE = "sendgrid_webhook_private_key.pem"
PUBLIC_KEY_FILE = "sendgrid_webhook_public_key.txt"
SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"


class EventSigner:
    """Signs SendGrid event batches with a P-256 key kept in the sandbox's data directory."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self.private_key = private_key
        der = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode("ascii")

    @classmethod
    def load_or_create(cls, data_dir: Path) -> EventSigner:
        """The key of ``data_dir``, generated on first use; the public half is written next to it."""
        data_dir.mkdir(parents=True, exist_ok=True)
        private_path = data_dir / PRIVATE_KEY_FILE
        if private_path.exists():
            key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{private_path} does not hold an elliptic-curve key")
        else:
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            _write_private(private_path, pem)
        signer = cls(key)
        public_path = data_dir / PUBLIC_KEY_FILE
        if not public_path.exists() or public_path.read_text(encoding="ascii").strip() != signer.public_key:
            tmp = public_path.with_suffix(".tmp")
            tmp.write_text(signer.public_key + "\n", encoding="ascii")
            tmp.replace(public_path)  # readers never see half a key
        return signer

    def headers(self, body: bytes, timestamp: int) -> dict[str, str]:
        """The signature headers for ``body`` sent at ``timestamp``: ECDSA/SHA-256 over timestamp + body."""
        signature = self.private_key.sign(str(timestamp).encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
        return {
            SENDGRID_SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"),
            SENDGRID_TIMESTAMP_HEADER: str(timestamp),
        }


def _write_private(path: Path, pem: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(pem)


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Base64 HMAC-SHA1 with the auth token over the URL followed by each parameter's name and value, sorted."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
