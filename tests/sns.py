"""Amazon SNS's side for the tests: a signing certificate of our own, served (with the
subscription confirmation URL) by a local HTTP server, and envelopes signed as SNS signs them."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from bridgekeeper.web.sns import string_to_sign

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ops-alarms"
LOCAL_PATTERN = r"http://127\.0\.0\.1:\d+/"


def certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.eu-west-1.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class FakeSns:
    url: str
    key: rsa.RSAPrivateKey
    confirmations: list[str] = field(default_factory=list)
    certificate_fetches: int = 0

    def envelope(
        self,
        kind: str,
        message: str,
        *,
        version: str = "2",
        topic: str = TOPIC,
        subject: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": message,
            "Timestamp": "2025-11-14T10:00:05.123Z",
            "SignatureVersion": version,
            "SigningCertURL": f"{self.url}/SimpleNotificationService-test.pem",
        }
        if subject is not None:
            body["Subject"] = subject
        if kind != "Notification":
            body |= {"Token": uuid.uuid4().hex, "SubscribeURL": f"{self.url}/?Action=Confirm"}
        return self.signed(body)

    def notification(self, message: Any, **options: Any) -> dict[str, Any]:
        text = message if isinstance(message, str) else json.dumps(message)
        return self.envelope("Notification", text, **options)

    def signed(self, body: dict[str, Any]) -> dict[str, Any]:
        algorithm = hashes.SHA1() if body["SignatureVersion"] == "1" else hashes.SHA256()
        signature = self.key.sign(string_to_sign(body), padding.PKCS1v15(), algorithm)
        return body | {"Signature": base64.b64encode(signature).decode()}


@cache
def signing_key() -> rsa.RSAPrivateKey:
    """One key for the test process: each new one takes about 50 ms of CPU."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@asynccontextmanager
async def fake_sns() -> AsyncIterator[FakeSns]:
    key = signing_key()
    pem = certificate(key)
    sns: FakeSns | None = None

    async def cert(request: web.Request) -> web.Response:
        assert sns is not None
        sns.certificate_fetches += 1
        return web.Response(body=pem, content_type="application/x-pem-file")

    async def confirm(request: web.Request) -> web.Response:
        assert sns is not None
        sns.confirmations.append(request.query_string)
        return web.Response(text="<ConfirmSubscriptionResponse/>", content_type="text/xml")

    app = web.Application()
    app.router.add_get("/SimpleNotificationService-test.pem", cert)
    app.router.add_get("/", confirm)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sns = FakeSns(f"http://127.0.0.1:{runner.addresses[0][1]}", key)
    try:
        yield sns
    finally:
        await runner.cleanup()
