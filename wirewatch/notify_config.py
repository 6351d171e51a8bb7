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

Targets are known everywhere else by an opaque ``id``: a slow, truncated hash of the
entry as written (after ``${NAME}`` expansion), stable across restarts and apprise
upgrades and not reversible to the URL. People see a ``label``: the entry's own
``name:`` (a wirewatch key, taken out before apprise parses the entry) or
``scheme:id``. apprise's privacy form of a URL still keeps path tokens, ``+Header``
values and ntfy topics in clear, so it is used only to read records written before
target ids existed (``legacy_key``) and never leaves the process as text.
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

from wirewatch.logs import quiet_delivery_loggers
from wirewatch.notify_ids import (
    entry_identity,
    install_redaction,
    make_target_id,
    redact,
    register_secrets,
    secret_parts,
)

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SCHEMA_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://")
# Top-level apprise keys that shape every entry and so go into each per-entry parse.
_SHARED_KEYS = ("version", "tag", "tags", "groups", "asset")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,63}$")


@dataclass(frozen=True)
class Target:
    """One valid apprise target: opaque id, human label, tags and line in the file."""

    id: str
    label: str
    # apprise's privacy URL: only to read records older than target ids; never printed.
    legacy_key: str = field(repr=False)
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
    """Import apprise with its logger quiet and secret-masked, and its import warning silenced.

    The apprise logger (and urllib3's) stays at WARNING unless a user asked for
    delivery DEBUG on purpose (``setup_logging``): their DEBUG lines carry full URLs.
    apprise 2.3 imports ``imghdr`` (deprecated since 3.11) in apprise/utils/pgp.py;
    under ``-W error`` that would break every caller for a warning that is not ours.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise
        import apprise.utils.pgp

    quiet_delivery_loggers()
    install_redaction(logging.getLogger("apprise"))
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
    # apprise masks secrets in most messages, but a substituted env value could
    # still appear verbatim in a parser error; never let it through.
    problems = [redact(m, secrets | {str(entry)}) for m in captured.messages]
    return accepted, problems


def _take_name(entry: Any) -> tuple[Any, Any]:
    """The entry without wirewatch's ``name:`` key (apprise would read it as a URL arg)."""
    if not isinstance(entry, dict):
        return entry, None
    names: list[Any] = []

    def strip(options: Any) -> Any:
        if not isinstance(options, dict):
            return options
        if "name" in options:
            names.append(options["name"])
        rest = {k: v for k, v in options.items() if k != "name"}
        return rest or None

    cleaned = {
        url: [strip(o) or {} for o in opts] if isinstance(opts, list) else strip(opts)
        for url, opts in entry.items()
    }
    return cleaned, names[0] if names else None


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
    named: dict[str, int] = {}
    ids: set[str] = set()
    for raw_entry, node in zip(urls, _url_nodes(root), strict=False):
        line = node.start_mark.line + 1
        entry, name = _take_name(raw_entry)
        schema = _entry_schema(entry)
        if name is not None:
            if not isinstance(name, str) or not _NAME_RE.match(name):
                errors.append(
                    f"{path}:{line}: name must be 1-64 letters, digits, spaces or ._:- "
                    "(it is shown in logs and the CLI)"
                )
                continue
            if name in named:
                errors.append(f"{path}:{line}: name {name!r} is already used on line {named[name]}")
                continue
            named[name] = line
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
        identity = entry_identity(expanded)
        for index, plugin in enumerate(plugins):
            unique = identity if index == 0 else f"{identity}#{index}"
            target_id = make_target_id(unique)
            if target_id in ids:  # the same URL twice: its line tells them apart
                target_id = make_target_id(f"{unique}#L{line}")
            ids.add(target_id)
            label = name if name is not None else f"{schema}:{target_id}"
            if name is not None and index:
                label = f"{name}#{index + 1}"
            register_secrets(secret_parts(plugin) | secrets)
            targets.append(
                Target(
                    id=target_id,
                    label=label,
                    legacy_key=str(plugin.url(privacy=True)),
                    tags=frozenset(str(t) for t in plugin.tags),
                    line=line,
                    plugin=plugin,
                )
            )
    return NotifyConfig(targets=targets, errors=errors)


def notify_tags(path: Path) -> set[str]:
    """Every tag carried by at least one valid target in ``path``."""
    return load_notify_config(path).tags
