"""`POST /alerts/aws-sns`: Amazon SNS's HTTPS subscription.

Every message is verified before anything else: its signature (SignatureVersion 1, SHA1withRSA,
or 2, SHA256withRSA) against the certificate at SigningCertURL, fetched only from an SNS host
and cached; its topic must be one of `[alerts] sns_topics`. Then a SubscriptionConfirmation is
confirmed by fetching its SubscribeURL (an SNS host too), an UnsubscribeConfirmation is logged,
and a Notification is parsed (domain/alerts/aws.py) and stored like any alert.
Answers: 401 a signature that does not verify; 403 a topic not allowed; 400/422 malformed.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import logging
import re
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from bridgekeeper import metrics
from bridgekeeper.config import AlertSettings
from bridgekeeper.domain.alerts import aws
from bridgekeeper.domain.alerts.model import PayloadError
from bridgekeeper.web.alerts import BodyTooLarge, answer, error, read_limited

if TYPE_CHECKING:  # cryptography is imported when a message is verified: a 35 ms import
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bridgekeeper.clock import Clock
    from bridgekeeper.services.intake import IntakeService

log = logging.getLogger(__name__)
KINDS = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SIGNED_FIELDS["UnsubscribeConfirmation"] = SIGNED_FIELDS["SubscriptionConfirmation"]
HASHES = {"1": "SHA1", "2": "SHA256"}  # SignatureVersion: the hash in cryptography's names
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10)
CACHED_CERTIFICATES = 32


class NotVerified(Exception):
    """The message's signature does not verify (HTTP 401)."""


class Certificates:
    """SNS signing certificates by URL, fetched only from hosts the pattern allows."""

    def __init__(self, settings: AlertSettings) -> None:
        self.allowed = re.compile(settings.sns_url_pattern)
        self.keys: dict[str, rsa.RSAPublicKey] = {}

    async def key(self, url: str) -> rsa.RSAPublicKey:
        if not self.allowed.match(url):
            raise NotVerified("SigningCertURL is not an SNS address")
        if url not in self.keys:
            if len(self.keys) >= CACHED_CERTIFICATES:
                self.keys.pop(next(iter(self.keys)))
            self.keys[url] = await self._fetch(url)
        return self.keys[url]

    async def _fetch(self, url: str) -> rsa.RSAPublicKey:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            async with (
                aiohttp.ClientSession(timeout=FETCH_TIMEOUT) as session,
                session.get(url, allow_redirects=False) as response,
            ):
                response.raise_for_status()
                pem = await response.read()
            key = x509.load_pem_x509_certificate(pem).public_key()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise NotVerified(f"the signing certificate could not be read: {exc}") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise NotVerified("the signing certificate holds no RSA key")
        return key


def string_to_sign(message: dict[str, Any]) -> bytes:
    """SNS's canonical form: each signed field present, as `name\\nvalue\\n`, in order."""
    names = SIGNED_FIELDS[str(message.get("Type"))]
    present = [name for name in names if isinstance(message.get(name), str)]
    return "".join(f"{name}\n{message[name]}\n" for name in present).encode()


async def verify(message: dict[str, Any], certificates: Certificates) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise NotVerified("SignatureVersion must be 1 or 2")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise NotVerified("Signature is not base64") from None
    key = await certificates.key(str(message.get("SigningCertURL", "")))
    try:
        key.verify(
            signature, string_to_sign(message), padding.PKCS1v15(), getattr(hashes, algorithm)()
        )
    except InvalidSignature:
        raise NotVerified("the signature does not verify") from None


class SnsEndpoint:
    def __init__(self, *, settings: AlertSettings, clock: Clock, intake: IntakeService) -> None:
        self.settings = settings
        self.clock = clock
        self.intake = intake
        self.certificates = Certificates(self.settings)

    async def handle(self, request: web.Request) -> web.Response:
        response = await self._handle(request)
        if response.status >= 400:
            metrics.alert_refused(aws.SOURCE)
        return response

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            message = json.loads(await read_limited(request, self.settings.max_body_bytes))
        except BodyTooLarge:
            return error(413, f"the body is larger than {self.settings.max_body_bytes} bytes")
        except (ValueError, RecursionError) as exc:
            return error(400, f"the body is not valid JSON: {str(exc)[:200]}")
        if not isinstance(message, dict) or message.get("Type") not in KINDS:
            return error(422, "this is not an SNS message: Type must be " + ", ".join(KINDS))
        try:
            await verify(message, self.certificates)
        except NotVerified as exc:
            return error(401, f"the SNS message is refused: {exc}")
        topic = str(message.get("TopicArn", ""))
        if not any(fnmatch.fnmatchcase(topic, allowed) for allowed in self.settings.sns_topics):
            return error(403, f"the topic {topic[:300]} is not in [alerts] sns_topics")
        return await self._act(message)

    async def _act(self, message: dict[str, Any]) -> web.Response:
        kind, topic = message["Type"], message.get("TopicArn")
        if kind == "SubscriptionConfirmation":
            return await self._confirm(message)
        if kind == "UnsubscribeConfirmation":
            log.info("SNS says bridgekeeper was unsubscribed from %s", topic)
            return web.json_response({"unsubscribed": topic})
        try:
            alerts = aws.parse(message, received_at=self.clock.now())
        except PayloadError as exc:
            return error(422, str(exc))
        outcomes = await self.intake.receive_and_tell(alerts)
        metrics.alerts_received(aws.SOURCE, outcomes)
        return web.json_response(answer(outcomes), status=202)

    async def _confirm(self, message: dict[str, Any]) -> web.Response:
        url = str(message.get("SubscribeURL", ""))
        if not self.certificates.allowed.match(url):
            return error(422, "SubscribeURL is not an SNS address")
        try:
            async with (
                aiohttp.ClientSession(timeout=FETCH_TIMEOUT) as session,
                session.get(url, allow_redirects=False) as response,
            ):
                response.raise_for_status()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("SNS subscription to %s not confirmed: %s", message.get("TopicArn"), exc)
            return error(502, "the subscription could not be confirmed; SNS will send it again")
        log.info("SNS subscription to %s confirmed", message.get("TopicArn"))
        return web.json_response({"confirmed": message.get("TopicArn")})
