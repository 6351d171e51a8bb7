"""Feed text reaches no target as a mass mention or a link, whatever format apprise uses.

One hostile alert (``@everyone``, ``@here``, ``<!channel>``, ``[text](url)``,
``<https://...>``, bare links, in the headline, summary and outlet names) is rendered
for each target and sent by apprise for real: to a loopback HTTP server (json://
as text, markdown and html, Mattermost, ntfy), to aiosmtpd (email, HTML and text
parts), or, for slack:// and discord:// whose hosts are fixed, answered in-process.
What each target received is searched for mention and link syntax that would still
work there.
"""

from __future__ import annotations

import email
import html
import json
import re
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

import pytest

from alerts.delivery import Sender
from alerts.render import Renderer
from tests.security.alert_servers import AuthSmtp, RawSink, intercept_non_loopback
from wirewatch.events import AlertDecision, Article, RuleMatch, utcnow
from wirewatch.notify_config import load_notify_config

pytestmark = pytest.mark.integration

LIVE = {
    "mass mention": re.compile(r"(?<![\w.+-])@(everyone|here|channel|all|room)\b", re.I),
    "angle-bracket mention": re.compile(r"<(?:!(?:channel|here|everyone)|@U|@&|#C)", re.I),
    "markdown link or image": re.compile(r"\]\s*[(\[]"),
    "hostile link": re.compile(r"(https?://|www\.)evil", re.I),
}

HOSTILE = AlertDecision(
    alert_id="evil:s1",
    rule=RuleMatch(rule_id="evil", name="Quakes", terms=("quake",), notify=("t",)),
    story_id="s1",
    article=Article(
        id="a1",
        title="Quake @everyone [click me](https://evil.example/login) <!channel> @here",
        summary="@channel read <https://evil.example/a> or www.evil.example/b "
        "![pixel](https://evil.example/p.png) <@U0123> <@&42> @all @room",
        url="https://news.example.com/s1",
        source="Evil Wire @everyone",
    ),
    source_count=2,
    story_sources=("Evil Wire @everyone", "[Other](https://evil.example/o)"),
)


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def http_text(body: bytes, headers: dict[str, str]) -> str:
    raw = body.decode(errors="replace")
    try:
        parts = strings(json.loads(raw))
    except ValueError:
        parts = [unquote_plus(raw)]
    return " ".join(parts + list(headers.values()))


def email_text(data: bytes) -> str:
    message = email.message_from_bytes(data)
    parts = [str(email.header.make_header(email.header.decode_header(message["Subject"])))]
    for part in message.walk():
        if isinstance(part, Message) and part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            parts.append(payload.decode())
    return " ".join(parts)


# (target URL, where it lands) for each way apprise renders a body differently.
TARGETS = [
    pytest.param("json://127.0.0.1:{http}/text", "http", id="json-text"),
    pytest.param("json://127.0.0.1:{http}/md?format=markdown", "http", id="json-markdown"),
    pytest.param("json://127.0.0.1:{http}/html?format=html", "http", id="json-html"),
    pytest.param("mmost://127.0.0.1:{http}/abcdefghijklmnop", "http", id="mattermost"),
    pytest.param("ntfy://127.0.0.1:{http}/alerts", "http", id="ntfy"),
    pytest.param(
        "mailto://wwuser:wwsecret-smtp-pass@127.0.0.1:{smtp}"
        "?to=desk@example.com&from=ww@example.com&mode=insecure",
        "smtp",
        id="email-html",
    ),
    pytest.param("slack://T1234ABCD/B1234ABCD/abcdefghijklmnopqrstuvwx/#news", "fixed", id="slack"),
    pytest.param("discord://123456789/abcdefghijklmnopqrstuvwxyz", "fixed", id="discord"),
]


@pytest.mark.parametrize(("url", "lands"), TARGETS)
async def test_feed_text_carries_no_live_mention_or_link(
    url: str,
    lands: str,
    raw_sink: RawSink,
    auth_smtp: AuthSmtp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixed_calls = intercept_non_loopback(monkeypatch)
    notify = tmp_path / "notify.yaml"
    notify.write_text(
        f"urls:\n  - {url.format(http=raw_sink.port, smtp=auth_smtp.port)}:\n      tag: t\n"
    )
    sender = Sender(load_notify_config(notify).targets)
    (endpoint,) = sender.route(["t"])
    message = Renderer(20_000).render([HOSTILE], endpoint.fmt, ZoneInfo("UTC"), False, utcnow())
    await sender.send(endpoint, message, 10)

    received: Callable[[], list[str]] = {
        "http": lambda: [http_text(r.body, r.headers) for r in raw_sink.delivered],
        "smtp": lambda: [email_text(d) for d in auth_smtp.delivered],
        "fixed": lambda: [
            http_text(
                (c.get("data") or json.dumps(c.get("json") or {})).encode()
                if isinstance(c.get("data") or "", str)
                else c["data"],
                {},
            )
            for c in fixed_calls
        ],
    }[lands]
    (text,) = received()
    text = html.unescape(text)
    assert "click me" in text and "Quake" in text  # the words still arrive
    live = {name: pattern.findall(text) for name, pattern in LIVE.items()}
    assert {name: found for name, found in live.items() if found} == {}, text
