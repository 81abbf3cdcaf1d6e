"""Amazon SNS's side of the aws-sns example: SNS signs every message it delivers with a key
whose certificate it serves, and bridgekeeper checks both. The sandbox holds a key of its own,
serves its certificate on the web client (/sns/signing-cert.pem) and signs as SNS does."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from bridgekeeper.web.sns import string_to_sign

TOPIC = "arn:aws:sns:eu-west-1:123456789012:sandbox-alarms"
CERT_PATH = "/sns/signing-cert.pem"
URL_PATTERN = r"http://127\.0\.0\.1:\d+/sns/"  # where bridgekeeper may fetch the certificate


class SnsSigner:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @cached_property
    def certificate(self) -> bytes:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.eu-west-1.amazonaws.com")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    def delivered(self, message: dict[str, Any], *, base_url: str) -> dict[str, Any]:
        """The notification as SNS delivers one publish: a new MessageId, signed (version 2)."""
        body = message | {
            "MessageId": str(uuid.uuid4()),
            "TopicArn": TOPIC,
            "SignatureVersion": "2",
            "SigningCertURL": base_url + CERT_PATH,
        }
        signature = self.key.sign(string_to_sign(body), padding.PKCS1v15(), hashes.SHA256())
        return body | {"Signature": base64.b64encode(signature).decode()}
