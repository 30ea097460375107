"""The plugin's settings: one small INI file, read once per process.

    [general]
    command: /usr/local/bin/mq-archive publish --db /var/lib/mq-archive/outbox.db
    base_url: https://archives.example.org/hyperkitty/
    spool: /var/lib/mailman3/mq-archive/spool
    timeout: 60
    event_timeout: 10
    member_events: no

Mailman builds a new archiver for every message and runs the plugin's hooks
in every process, so nothing here is read more than once per process and
per file.
"""

import configparser
import functools
import os
import shlex
from dataclasses import dataclass
from typing import Optional, Tuple

DEFAULT_TIMEOUT = 60
DEFAULT_EVENT_TIMEOUT = 10
# The spool's place when the settings name none: under Mailman's var dir.
DEFAULT_SPOOL = os.path.join('mq-archive', 'spool')


class SettingsError(Exception):
    """The settings file is missing or says something we cannot use."""


@dataclass(frozen=True)
class Settings:
    # The publish command; `--list LIST` (a post), `--event` (an event) or
    # `--spool DIR` (drain) are added to it.
    command: Tuple[str, ...]
    # Where messages and events wait when they cannot be committed.
    spool: str
    # HyperKitty's base URL (or a template with $fqdn_listname), for
    # List-Archive and Archived-At; None: no such headers.
    base_url: Optional[str]
    # Seconds a post, then an event, may take to commit before it is spooled.
    timeout: float
    event_timeout: float
    # Member subscribe/unsubscribe events (addresses are personal data).
    member_events: bool


@functools.lru_cache(maxsize=8)
def load(path: str, var_dir: str) -> Settings:
    """Read the settings file at `path`; relative defaults resolve under `var_dir`."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding='utf-8') as f:
            parser.read_file(f)
    except (OSError, configparser.Error) as err:
        raise SettingsError(f'cannot read the mq-archive settings {path}: {err}') from err
    general = parser['general'] if parser.has_section('general') else {}
    command = shlex.split(general.get('command', ''))
    if not command:
        raise SettingsError(f'{path}: [general] command is missing (e.g. "mq-archive publish --db PATH")')
    spool = general.get('spool', '').strip() or DEFAULT_SPOOL
    return Settings(
        command=tuple(command),
        spool=os.path.join(var_dir, spool),  # an absolute spool stays as it is
        base_url=general.get('base_url', '').strip() or None,
        timeout=_seconds(path, general, 'timeout', DEFAULT_TIMEOUT),
        event_timeout=_seconds(path, general, 'event_timeout', DEFAULT_EVENT_TIMEOUT),
        member_events=_boolean(path, general, 'member_events'),
    )


def _seconds(path, section, key, default) -> float:
    text = section.get(key, '').strip()
    if not text:
        return float(default)
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise SettingsError(f'{path}: [general] {key} must be a number of seconds above 0, not "{text}"')
    return value


def _boolean(path, section, key) -> bool:
    text = section.get(key, 'no').strip().lower()
    if text in ('yes', 'true', 'on', '1'):
        return True
    if text in ('no', 'false', 'off', '0', ''):
        return False
    raise SettingsError(f'{path}: [general] {key} must be yes or no, not "{text}"')
