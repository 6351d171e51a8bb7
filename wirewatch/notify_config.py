"""Notification targets from ``config/notify.yaml``, written in apprise's own YAML format.

The file is the one ``apprise --config`` reads (``version: 1``, ``urls:`` with
``tag:``/``tags:``, optional global ``tag:``, ``groups:`` and ``asset:``), so users can
copy examples from the apprise docs. wirewatch adds two things:

- ``${NAME}`` in any URL or setting is replaced from the environment before apprise
  sees it, so secrets stay out of the file. An unset variable is an error.
- Each ``urls:`` entry is parsed by apprise on its own, so every invalid URL is
  reported as ``file:line: message`` and the valid ones still load.

Apprise ignores top-level keys it does not know, which is where the alert stage keeps
its ``subscriptions:`` section (see alerts/README.md).

Only apprise's privacy form of a URL (``url(privacy=True)``) ever leaves this module
as text; the plugin objects that hold the secrets are kept off ``repr``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SCHEMA_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://")
# Top-level apprise keys that shape every entry and so go into each per-entry parse.
_SHARED_KEYS = ("version", "tag", "tags", "groups", "asset")


@dataclass(frozen=True)
class Target:
    """One valid apprise target: privacy-form URL, its tags, and its line in the file."""

    privacy_url: str
    tags: frozenset[str]
    line: int
    # The apprise plugin holds the secrets; keep it out of repr, logs and equality.
    plugin: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class NotifyConfig:
    """Every valid target plus one ``file:line: message`` per problem found."""

    targets: list[Target] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def tags(self) -> set[str]:
        return {tag for target in self.targets for tag in target.tags}


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _capture_apprise_log() -> Iterator[_Capture]:
    handler = _Capture()
    logger = logging.getLogger("apprise")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def import_apprise() -> Any:
    """Import apprise, silencing the stdlib DeprecationWarning its import raises.

    apprise 2.3 imports ``imghdr`` (deprecated since 3.11) in apprise/utils/pgp.py;
    under ``-W error`` that would break every caller for a warning that is not ours.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise
        import apprise.utils.pgp

    return apprise


def _expand(value: Any, missing: set[str], used: set[str]) -> Any:
    """Replace ``${NAME}`` from the environment in every string, key or value."""
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            env = os.environ.get(name)
            if env is None:
                missing.add(name)
                return match.group(0)
            if env:
                used.add(env)
            return env

        return _ENV_RE.sub(sub, value)
    if isinstance(value, dict):
        return {_expand(k, missing, used): _expand(v, missing, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, missing, used) for v in value]
    return value


def _entry_schema(entry: Any) -> str:
    """The ``scheme`` of an entry, for messages that must not show the URL itself."""
    candidates = (
        [entry] if isinstance(entry, str) else list(entry) if isinstance(entry, dict) else []
    )
    for candidate in candidates:
        if isinstance(candidate, str) and (match := _SCHEMA_RE.match(candidate)):
            return match.group(1).lower()
    return "?"


def _redact(message: str, secrets: set[str]) -> str:
    # Apprise masks secrets in most messages, but a substituted env value could
    # still appear verbatim in a parser error; never let it through.
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def _load_entry(
    entry: Any, shared: dict[str, Any], secrets: set[str]
) -> tuple[list[Any], list[str]]:
    """Parse one ``urls:`` entry with apprise; return (plugins, problems)."""
    apprise = import_apprise()
    from apprise.config.base import ConfigBase

    content = yaml.safe_dump({**shared, "urls": [entry]}, sort_keys=False)
    with _capture_apprise_log() as captured:
        plugins, _includes = ConfigBase.config_parse_yaml(content)
        checker = apprise.Apprise()
        accepted = [p for p in plugins if checker.add(p)]
    problems = [_redact(m, secrets | {str(entry)}) for m in captured.messages]
    return accepted, problems


def _read_yaml(path: Path, text: str) -> tuple[Any, yaml.Node | None]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, node


def _url_nodes(root: yaml.Node | None) -> list[yaml.Node]:
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "urls":
            return list(value.value) if isinstance(value, yaml.SequenceNode) else []
    return []


def load_notify_config(path: Path) -> NotifyConfig:
    """Load and validate every target in ``path``; a missing file means no targets."""
    path = Path(path)
    if not path.exists():
        return NotifyConfig()
    try:
        data, root = _read_yaml(path, path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        return NotifyConfig(errors=[f"{path}:{line}: invalid YAML: {exc.problem}"])
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return NotifyConfig(errors=[f"{path}:1: cannot read: {exc}"])
    if data is None:
        return NotifyConfig()
    if not isinstance(data, dict):
        return NotifyConfig(errors=[f"{path}:1: top level must be a mapping (apprise YAML)"])

    errors: list[str] = []
    if data.get("version", 1) != 1:
        errors.append(f"{path}:1: apprise YAML version must be 1, got {data.get('version')!r}")
        return NotifyConfig(errors=errors)
    if data.get("include"):
        errors.append(f"{path}:1: 'include:' is not supported; list every target here")
    urls = data.get("urls") or []
    if not isinstance(urls, list):
        return NotifyConfig(errors=[*errors, f"{path}:1: 'urls:' must be a list"])

    shared = {k: data[k] for k in _SHARED_KEYS if k in data}
    targets: list[Target] = []
    for entry, node in zip(urls, _url_nodes(root), strict=False):
        line = node.start_mark.line + 1
        schema = _entry_schema(entry)
        missing: set[str] = set()
        secrets: set[str] = set()
        expanded = _expand(entry, missing, secrets)
        if missing:
            names = ", ".join(sorted(missing))
            errors.append(f"{path}:{line}: {schema}:// needs unset environment variable {names}")
            continue
        plugins, problems = _load_entry(expanded, shared, secrets)
        if not plugins:
            detail = "; ".join(problems) or "apprise could not load it"
            errors.append(f"{path}:{line}: invalid {schema}:// URL: {detail}")
            continue
        for plugin in plugins:
            targets.append(
                Target(
                    privacy_url=str(plugin.url(privacy=True)),
                    tags=frozenset(str(t) for t in plugin.tags),
                    line=line,
                    plugin=plugin,
                )
            )
    return NotifyConfig(targets=targets, errors=errors)


def notify_tags(path: Path) -> set[str]:
    """Every tag carried by at least one valid target in ``path``."""
    return load_notify_config(path).tags
