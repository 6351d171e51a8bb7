"""Templates: formats, escaping of hostile feed text, checks at load, size cap, Slack payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from alerts.delivery import DeliveryError, Sender
from alerts.render import (
    Renderer,
    TemplateProblem,
    build_context,
    neutralise,
    safe_url,
    sample_alert,
)
from wirewatch.events import AlertDecision
from wirewatch.notify_config import load_notify_config

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def hostile() -> AlertDecision:
    alert = sample_alert()
    return alert.model_copy(
        update={
            "article": alert.article.model_copy(
                update={
                    "title": "Breaking <img src=x onerror=alert(1)> & <!channel>",
                    "summary": "<script>steal()</script>",
                    "url": "javascript:alert(1)",
                    "source": "Evil *Wire*",
                }
            )
        }
    )


def test_html_escapes_feed_text_and_drops_non_http_links() -> None:
    message = Renderer(20_000).render([hostile()], "html", UTC_ZONE, False, NOW)
    assert "<img" not in message.body
    # The zero-width space (neutralise) keeps a chat target from reading a mention.
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;\u200b!channel&gt;" in message.body
    assert "<script>" not in message.body
    assert 'href=""' in message.body
    assert "javascript:" not in message.body
    assert message.body_format == "html"


def test_slack_markdown_escapes_link_and_mention_syntax() -> None:
    message = Renderer(20_000).render([hostile()], "slack", UTC_ZONE, False, NOW)
    assert "<!channel>" not in message.body
    assert "\\<\u200b!channel\\>" in message.body
    assert "\\<img src=x onerror=alert(1)\\> &" in message.body
    assert message.body_format == "markdown"


def test_safe_url_keeps_slack_link_syntax_intact() -> None:
    assert safe_url("https://x.example/a|b>c", "slack") == "https://x.example/a%7Cb%3Ec"
    assert safe_url("ftp://x.example/", "html") == ""
    assert safe_url(" https://x.example/?q=1&r=2 ", "html") == "https://x.example/?q=1&r=2"


def test_digest_groups_rules_by_story_and_counts_other_outlets() -> None:
    base = sample_alert()
    second_rule = base.model_copy(
        update={
            "alert_id": "other-rule:s1",
            "rule": base.rule.model_copy(update={"rule_id": "other-rule", "name": "Other"}),
        }
    )
    ctx = build_context([base, second_rule], "text", UTC_ZONE, True, NOW)
    (story,) = ctx["stories"]
    assert [r["id"] for r in story["rules"]] == ["sample-rule", "other-rule"]
    assert story["other_outlets"] == 2
    assert story["other_names"] == ["Other Paper", "Third Post"]
    message = Renderer(20_000).render([base, second_rule], "text", UTC_ZONE, True, NOW)
    assert message.title == "wirewatch digest: 1 story (2024-05-01 12:00 UTC)"
    assert "Rule: Sample rule (matched: sample)" in message.body
    assert "Rule: Other (matched: sample)" in message.body


def test_output_is_capped() -> None:
    long = sample_alert().model_copy(update={"story_id": "x"})
    alerts = [long.model_copy(update={"story_id": f"s{i}"}) for i in range(200)]
    message = Renderer(500).render(alerts, "text", UTC_ZONE, True, NOW)
    assert len(message.body) == 500
    assert message.body.endswith("[message truncated]")


def test_user_template_overrides_and_is_checked_at_load(tmp_path: Path) -> None:
    good = tmp_path / "good.j2"
    good.write_text("{% for s in stories %}NEWS {{ s.headline }}{% endfor %}")
    message = Renderer(1000, {"text": good}).render([sample_alert()], "text", UTC_ZONE, False, NOW)
    assert message.body == "NEWS Sample headline <b>&</b>"

    typo = tmp_path / "typo.j2"
    typo.write_text("{% for s in stories %}{{ s.headlin }}{% endfor %}")
    with pytest.raises(TemplateProblem) as info:
        Renderer(1000, {"text": typo})
    assert info.value.errors[0].startswith(f"{typo}:1: template error:")
    assert "headlin" in info.value.errors[0]

    broken = tmp_path / "broken.j2"
    broken.write_text("line one\n{% for s in stories %}\n")
    with pytest.raises(TemplateProblem) as info:
        Renderer(1000, {"slack": broken})
    assert info.value.errors[0].startswith(f"{broken}:")


def test_user_template_cannot_escape_the_sandbox(tmp_path: Path) -> None:
    evil = tmp_path / "evil.j2"
    evil.write_text("{{ stories.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateProblem):
        Renderer(1000, {"text": evil})


class FakeResponse:
    def __init__(self, status: int, content: bytes) -> None:
        self.status_code = status
        self.content = content


SLACK_YAML = (
    "urls:\n  - slack://T1234ABCD/B1234ABCD/abcdefghijklmnopqrstuvwx/#news:\n      tag: desk\n"
)


async def test_slack_payload_built_by_apprise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # slack:// always posts to hooks.slack.com; apprise's Slack plugin calls
    # requests.request(), so intercept there and look at the exact JSON.
    calls: list[dict[str, Any]] = []

    def fake_request(method: str, url: str, **kwargs: Any) -> FakeResponse:
        calls.append({"method": method, "url": url, **kwargs})
        return FakeResponse(200, b"ok")

    monkeypatch.setattr(requests, "request", fake_request)
    path = tmp_path / "notify.yaml"
    path.write_text(SLACK_YAML)
    sender = Sender(load_notify_config(path).targets)
    (endpoint,) = sender.route(["desk"])
    assert endpoint.fmt == "slack"
    message = Renderer(20_000).render([hostile()], "slack", ZoneInfo("Europe/Berlin"), False, NOW)
    await sender.send(endpoint, message, 5)

    (call,) = calls
    assert call["method"].upper() == "POST"
    assert call["url"] == (
        "https://hooks.slack.com/services/T1234ABCD/B1234ABCD/abcdefghijklmnopqrstuvwx"
    )
    payload = json.loads(call["data"])
    assert payload["channel"] == "#news"
    assert payload["mrkdwn"] is True
    (attachment,) = payload["attachments"]
    assert attachment["title"] == (
        "Breaking &lt;img src=x onerror=alert(1)&gt; &amp; &lt;\u200b!channel&gt; (Evil *Wire*)"
    )
    # The javascript: link was dropped, so the headline is bold text, not a link;
    # feed markup arrives as entities: no mention, no image, no link.
    assert attachment["text"].splitlines() == [
        "*Breaking &lt;img src=x onerror=alert(1)&gt; &amp; &lt;\u200b!channel&gt;*",
        "Evil _Wire_ · 2024-01-02 04:04 CET",
        "Rule *Sample rule*: matched `sample`",
        "_Also reported by 2 other outlets: Example Wire, Other Paper, Third Post_",
    ]


async def test_slack_headline_links_to_the_story(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []

    def fake_request(method: str, url: str, **kwargs: Any) -> FakeResponse:
        calls.append(kwargs)
        return FakeResponse(200, b"ok")

    monkeypatch.setattr(requests, "request", fake_request)
    path = tmp_path / "notify.yaml"
    path.write_text(SLACK_YAML)
    sender = Sender(load_notify_config(path).targets)
    (endpoint,) = sender.route(["desk"])
    alert = sample_alert()
    alert = alert.model_copy(
        update={"article": alert.article.model_copy(update={"url": "https://e.com/a?b=1&c=(2)"})}
    )
    message = Renderer(20_000).render([alert], "slack", UTC_ZONE, False, NOW)
    await sender.send(endpoint, message, 5)
    text = json.loads(calls[0]["data"])["attachments"][0]["text"]
    assert text.splitlines()[0] == (
        "*<https://e.com/a?b=1&amp;c=(2)|Sample headline &lt;b&gt;&amp;&lt;/b&gt;>*"
    )


async def test_slack_http_error_becomes_delivery_error_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(requests, "request", lambda *a, **k: FakeResponse(500, b"boom"))
    path = tmp_path / "notify.yaml"
    path.write_text(SLACK_YAML)
    sender = Sender(load_notify_config(path).targets)
    (endpoint,) = sender.route(["desk"])
    message = Renderer(20_000).render([sample_alert()], "slack", UTC_ZONE, False, NOW)
    with pytest.raises(DeliveryError) as info:
        await sender.send(endpoint, message, 5)
    assert "WARNING" in str(info.value)
    assert "500" in str(info.value)
    assert "abcdefghijklmnopqrstuvwx" not in str(info.value)
    assert "abcdefghijklmnopqrstuvwx" not in endpoint.key


async def test_each_send_reaches_only_its_own_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # apprise's "always" tag joins every tagged notify; per-target sends must not.
    urls: list[str] = []

    def fake_request(method: str, url: str, **kwargs: Any) -> FakeResponse:
        urls.append(url)
        return FakeResponse(200, b"ok")

    monkeypatch.setattr(requests, "request", fake_request)
    path = tmp_path / "notify.yaml"
    path.write_text(
        "urls:\n"
        "  - slack://T1111AAAA/B1111AAAA/aaaaaaaaaaaaaaaaaaaaaaaa:\n      tag: desk\n"
        "  - slack://T2222BBBB/B2222BBBB/bbbbbbbbbbbbbbbbbbbbbbbb:\n      tag: always\n"
    )
    sender = Sender(load_notify_config(path).targets)
    routed = sender.route(["desk"])
    # Routing follows apprise: "always" targets join every routed alert.
    assert len(routed) == 2
    message = Renderer(20_000).render([sample_alert()], "slack", UTC_ZONE, False, NOW)
    desk = next(e for e in routed if "desk" in e.tags)
    await sender.send(desk, message, 5)
    assert [u.rsplit("/", 1)[1] for u in urls] == ["aaaaaaaaaaaaaaaaaaaaaaaa"]


def test_followup_title_says_how_many_outlets_now_carry_it() -> None:
    followup = sample_alert().model_copy(update={"reason": "followup", "source_count": 5})
    message = Renderer(20_000).render([followup], "text", UTC_ZONE, False, NOW)
    assert message.title == "[now 5 outlets] Sample headline <b>&</b> (Example Wire)"
    assert "Also reported by 4 other outlets" in message.body


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("text", "New since the first alert:\n- Other Paper: https://example.org/other"),
        ("slack", "New since the first alert:\n- [Other Paper](<https://example.org/other>)"),
        ("html", '<li><a href="https://example.org/other">Other Paper</a></li>'),
    ],
)
def test_followup_lists_the_new_outlets_with_links(fmt: str, expected: str) -> None:
    from alerts.render import sample_followup

    message = Renderer(20_000).render([sample_followup()], fmt, UTC_ZONE, False, NOW)  # type: ignore[arg-type]
    assert expected in message.body
    first = Renderer(20_000).render([sample_alert()], fmt, UTC_ZONE, False, NOW)  # type: ignore[arg-type]
    assert "New since the first alert" not in first.body


Z = "\u200b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@everyone now", f"@{Z}everyone now"),
        ("(@here)", f"(@{Z}here)"),
        ("@channel @all @room @alice", f"@{Z}channel @{Z}all @{Z}room @{Z}alice"),
        ("write to desk@example.com", "write to desk@example.com"),
        ("<!channel> <!here|x>", f"<{Z}!channel> <{Z}!here|x>"),
        ("<@U123> <#C9> <@&42>", f"<{Z}@{Z}U123> <{Z}#C9> <{Z}@&42>"),
        ("[click](https://evil.example)", f"[click]{Z}(https:{Z}//evil.example)"),
        ("![img](x) [a][b] [r]: y", f"![img]{Z}(x) [a]{Z}[b]{Z} [r]{Z}: y"),
        ("<https://evil.example>", f"<{Z}https:{Z}//evil.example>"),
        ("see www.evil.example", f"see www{Z}.evil.example"),
        ("Quake <Springfield> & more [live]", "Quake <Springfield> & more [live]"),
    ],
)
def test_neutralise_breaks_mentions_and_links_only(text: str, expected: str) -> None:
    assert neutralise(text) == expected
