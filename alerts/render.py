"""Alert messages: Jinja2 templates per target format, rendered in a sandbox.

Feed content is hostile input. Templates run in ``ImmutableSandboxedEnvironment``
with ``StrictUndefined``; the HTML template is autoescaped; the Slack template writes
CommonMark (apprise 2.3 converts it to Slack mrkdwn) and gets feed text with link and
mention syntax escaped; links other than http(s) are dropped; every output is cut at
``max_chars``. In every format, feed text is first neutralised (``neutralise``): a
zero-width space breaks mass and user mentions and markdown/auto-link syntax, because
text and HTML bodies reach chat targets (Discord, Mattermost, Matrix...) that render
markdown and mentions themselves. Every template (default and user) is rendered once at
load against the full field set, so a typo fails start-up, not the first alert.

Fields (see ``FIELDS``): ``digest``, ``generated_at``, ``timezone`` and ``stories``,
a list of {headline, outlet, url, published, summary, severity, story_id, reason,
source_count, other_outlets, other_names, outlets: [{name, url}] (a follow-up's new
outlets, linked), rules: [{id, name, terms}]}. One message
covers one story unless it is a digest; several rules on one story are listed together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from wirewatch.events import AlertDecision, Article, Outlet, RuleMatch

Format = Literal["slack", "html", "text"]
TEMPLATE_DIR = Path(__file__).parent / "templates"
DEFAULT_TEMPLATES: dict[str, str] = {
    "slack": "slack.md.j2",
    "html": "email.html.j2",
    "text": "text.txt.j2",
    "title": "title.txt.j2",
}
# What apprise is told the body is, per format (so it does no conversion of its own).
BODY_FORMAT: dict[Format, str] = {"slack": "markdown", "html": "html", "text": "text"}
FIELDS = (
    "digest generated_at timezone stories[].headline .outlet .url .published .summary "
    ".severity .story_id .reason .source_count .other_outlets .other_names "
    ".outlets[].name .url "
    ".rules[].id .name .terms"
)
_SPACE_RE = re.compile(r"\s+")
_TITLE_MAX = 250
_SUMMARY_MAX = 600
_TRUNCATED = "\n[message truncated]"


class TemplateProblem(Exception):
    """One or more templates failed to compile or to render the full field set."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    body_format: str


def choose_format(plugin: Any) -> Format:
    """Slack gets mrkdwn, targets whose first format is HTML (email) get HTML, others text."""
    if str(getattr(plugin, "protocol", "")) == "slack" or "slack" in str(
        getattr(plugin, "secure_protocol", "")
    ):
        return "slack"
    formats = plugin.notify_format
    first = formats[0] if isinstance(formats, tuple | list) else formats
    return "html" if str(first) in ("html", "NotifyFormat.HTML") else "text"


_ZWSP = "\u200b"
# Each pattern marks where a zero-width space goes; the text still reads the same.
_NEUTRALISE = (
    # @everyone, @here, @channel, @all, @room, @user (Discord, Mattermost, Matrix,
    # Slack, Teams); an address such as desk@example.com is no mention and stays.
    re.compile(r"(?<![\w.+-])@(?=\w)"),
    # <!channel>, <@U123>, <#C123>, <@&role>: Slack and Discord angle-bracket mentions.
    re.compile(r"<(?=[!@#])"),
    # [text](url), ![img](url), [text][ref], [ref]: url -- markdown links and images.
    re.compile(r"\](?=\s*[(\[:])"),
    # <https://x>, <mailto:x>: CommonMark auto-links.
    re.compile(r"<(?=[a-z][a-z0-9+.-]*:)", re.IGNORECASE),
    # https://x and www.x: the bare links chat apps turn into links on their own.
    re.compile(r"(?<=[a-z0-9+.-]:)(?=//)", re.IGNORECASE),
    re.compile(r"(?<=\bwww)(?=\.)", re.IGNORECASE),
)


def neutralise(text: str) -> str:
    """Feed text with mentions, markdown links and auto-links broken by a zero-width space.

    For every format: apprise hands text and HTML bodies to targets that render
    markdown and mentions themselves (Discord ``@everyone``, Mattermost ``@channel``,
    Matrix ``@room``), so escaping for Slack alone is not enough.
    """
    for pattern in _NEUTRALISE:
        text = pattern.sub(lambda m: m.group(0) + _ZWSP, text)
    return text


_MARKDOWN_ESCAPES = str.maketrans(
    {"\\": "\\\\", "[": "\\[", "]": "\\]", "<": "\\<", ">": "\\>", "`": "'"}
)


def escape_markdown(text: str) -> str:
    """Feed text for the Slack (CommonMark) template: no links, mentions or code breaks.

    apprise converts CommonMark to Slack mrkdwn and escapes ``&``; a raw ``<!here>``
    or ``[x](url)`` would survive that as a mention or a link, so those characters are
    backslash-escaped here. ``*`` and ``_`` can at most change emphasis; left alone.
    """
    return text.translate(_MARKDOWN_ESCAPES)


def safe_url(url: str, fmt: Format) -> str:
    """Only http(s) links survive; for Slack, characters that end ``<url|text>`` are encoded."""
    url = url.strip()
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return ""
    if fmt == "slack":
        url = quote(url, safe=":/?#[]@!$&'()*+,;=%~")
    return url


def _clean(text: str, limit: int | None = None) -> str:
    text = _SPACE_RE.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def build_context(
    alerts: Sequence[AlertDecision], fmt: Format, tz: ZoneInfo, digest: bool, now: datetime
) -> dict[str, Any]:
    """The template fields for ``alerts`` (grouped by story, in order) as seen in ``tz``."""

    def esc(text: str) -> str:
        text = neutralise(text)
        return escape_markdown(text) if fmt == "slack" else text

    stories: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        article = alert.article
        story = stories.get(alert.story_id)
        if story is None:
            story = stories[alert.story_id] = {
                "headline": esc(_clean(article.title) or "(untitled)"),
                "outlet": esc(_clean(article.source) or "unknown outlet"),
                "url": safe_url(article.url, fmt),
                "published": article.published.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
                "summary": esc(_clean(article.summary, _SUMMARY_MAX)),
                "severity": alert.rule.severity,
                "story_id": alert.story_id,
                "reason": alert.reason,
                "source_count": 0,
                "other_outlets": 0,
                "other_names": [],
                "outlets": [],
                "rules": [],
            }
        if alert.source_count >= story["source_count"]:
            others = [s for s in alert.story_sources if s != article.source]
            story["source_count"] = alert.source_count
            story["other_outlets"] = max(alert.source_count - 1, 0)
            story["other_names"] = [esc(_clean(s)) for s in others]
        if len(alert.outlets) > len(story["outlets"]):
            story["outlets"] = [
                {"name": esc(_clean(o.source)), "url": safe_url(o.url, fmt)} for o in alert.outlets
            ]
        if alert.rule.severity == "high":
            story["severity"] = "high"
        if all(r["id"] != alert.rule.rule_id for r in story["rules"]):
            story["rules"].append(
                {
                    "id": alert.rule.rule_id,
                    "name": esc(_clean(alert.rule.name or alert.rule.rule_id)),
                    "terms": [esc(_clean(t)) for t in alert.rule.terms],
                }
            )
    return {
        "digest": digest,
        "generated_at": now.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
        "timezone": str(tz),
        "stories": list(stories.values()),
    }


def sample_alert() -> AlertDecision:
    """A decision with every field filled, used to check templates at load."""
    article = Article(
        id="sample",
        title="Sample headline <b>&</b>",
        summary="Sample summary",
        url="https://example.com/story",
        source="Example Wire",
        published=datetime(2024, 1, 2, 3, 4, tzinfo=UTC),
    )
    rule = RuleMatch(rule_id="sample-rule", name="Sample rule", terms=("sample",), notify=("x",))
    return AlertDecision(
        alert_id="sample-rule:s1",
        rule=rule,
        story_id="s1",
        article=article,
        source_count=3,
        story_sources=("Example Wire", "Other Paper", "Third Post"),
    )


def sample_followup() -> AlertDecision:
    """A follow-up with the outlets that joined since the first alert (template check)."""
    first = sample_alert()
    outlets = (Outlet(source="Other Paper", url="https://example.org/other"),)
    return first.model_copy(update={"reason": "followup", "trigger": "spread", "outlets": outlets})


class Renderer:
    """Compiled templates (defaults plus user overrides), each checked at construction."""

    def __init__(self, max_chars: int, overrides: dict[str, Path] | None = None) -> None:
        self.max_chars = max_chars
        self._templates: dict[str, Template] = {}
        errors: list[str] = []
        for name, default in DEFAULT_TEMPLATES.items():
            path = (overrides or {}).get(name) or TEMPLATE_DIR / default
            try:
                self._templates[name] = self._compile(name, path)
            except (OSError, TemplateError) as exc:
                errors.append(_describe(path, exc))
        if not errors:
            errors = self._check(overrides or {})
        if errors:
            raise TemplateProblem(errors)

    @staticmethod
    def _compile(name: str, path: Path) -> Template:
        env = ImmutableSandboxedEnvironment(
            autoescape=name == "html",
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        return env.from_string(path.read_text(encoding="utf-8"))

    def _check(self, overrides: dict[str, Path]) -> list[str]:
        errors = []
        now = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
        for name, template in self._templates.items():
            fmt: Format = "text" if name == "title" else name  # type: ignore[assignment]
            samples = [(d, a) for d in (False, True) for a in (sample_alert(), sample_followup())]
            for digest, sample in samples:
                ctx = build_context([sample], fmt, ZoneInfo("UTC"), digest, now)
                try:
                    template.render(ctx)
                except TemplateError as exc:
                    path = overrides.get(name) or TEMPLATE_DIR / DEFAULT_TEMPLATES[name]
                    errors.append(_describe(path, exc))
                    break
        return errors

    def render(
        self,
        alerts: Sequence[AlertDecision],
        fmt: Format,
        tz: ZoneInfo,
        digest: bool,
        now: datetime,
    ) -> Message:
        """Title and body for ``alerts`` in ``fmt``; bodies longer than the cap are cut."""
        body = self._templates[fmt].render(build_context(alerts, fmt, tz, digest, now)).strip()
        title = self._templates["title"].render(build_context(alerts, "text", tz, digest, now))
        if len(body) > self.max_chars:
            body = body[: self.max_chars - len(_TRUNCATED)] + _TRUNCATED
        return Message(_clean(title, _TITLE_MAX), body, BODY_FORMAT[fmt])


def _describe(path: Path, exc: Exception) -> str:
    line = exc.lineno if isinstance(exc, TemplateSyntaxError) else None
    return f"{path}:{line or 1}: template error: {exc}"
