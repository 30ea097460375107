"""Our settings as this Mailman site names them: the `configuration:` file
of [archiver.mq_archive] or [plugin.mq_archive], resolved under Mailman's
var dir. When it cannot be read, items are still kept: they go to the
default spool, and the reason is logged.
"""

import logging
import os

from mailman.config import config

from . import settings as _settings

log = logging.getLogger('mailman.archiver')

ARCHIVER = 'mq_archive'


def archiver_settings() -> _settings.Settings:
    path = getattr(config.archiver, ARCHIVER).configuration.strip()
    return _load(path, f'[archiver.{ARCHIVER}]')


def plugin_settings(name: str) -> _settings.Settings:
    for plugin_name, section in config.plugin_configs:
        if plugin_name == name and section['configuration'].strip():
            return _load(section['configuration'].strip(), f'[plugin.{name}]')
    return archiver_settings()


def settings_or_fallback(loader) -> _settings.Settings:
    """The settings; when they cannot be read, no command and the default spool (the reason logged)."""
    try:
        return loader()
    except Exception as err:
        log.error('mq-archive: %s; keeping posts and events in the default spool', err)
        return _settings.Settings(
            command=(), spool=os.path.join(config.VAR_DIR, _settings.DEFAULT_SPOOL), base_url=None,
            timeout=_settings.DEFAULT_TIMEOUT, event_timeout=_settings.DEFAULT_EVENT_TIMEOUT, member_events=False,
        )


def _load(path: str, section: str) -> _settings.Settings:
    if not path:
        raise _settings.SettingsError(f'{section} has no configuration: (the mq-archive settings file)')
    return _settings.load(path, config.VAR_DIR)
