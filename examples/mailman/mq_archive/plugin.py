"""The plugin: its post_hook, which Mailman runs in every process it starts,
registers the list-event handler there, once per process."""

import logging

from mailman.interfaces.plugin import IPlugin
from zope import event as zope_event
from zope.interface import implementer

from . import events
from .handoff import hand_off
from .mailman_settings import plugin_settings, settings_or_fallback
from .spool import Spool

log = logging.getLogger('mailman.archiver')

_registered = None


@implementer(IPlugin)
class MqArchivePlugin:
    # Mailman sets the name from the section, [plugin.<name>].
    name = 'mq_archive'
    resource = None

    def pre_hook(self):
        pass

    def post_hook(self):
        global _registered
        if _registered is not None:
            return
        name = self.name

        def publish(found_event):
            found = settings_or_fallback(lambda: plugin_settings(name))
            hand_off(found.command, Spool(found.spool), 'event', found_event['list'], events.encode(found_event),
                     events.label(found_event), found.event_timeout, log)

        def member_events():
            return settings_or_fallback(lambda: plugin_settings(name)).member_events

        _registered = events.make_handler(publish, member_events, log)
        # First: it must see a list's deletion before Mailman unsubscribes its members.
        zope_event.subscribers.insert(0, _registered)
