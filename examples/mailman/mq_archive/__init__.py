"""mq-archive for GNU Mailman 3: every post and list event committed to the
mq-archive outbox, or spooled until it can be. Nothing is lost on the way.

    [archiver.mq_archive]
    class: mq_archive.MqArchive
    enable: yes
    configuration: /etc/mailman3/mq-archive.cfg

    [plugin.mq_archive]
    class: mq_archive.MqArchivePlugin
    enabled: yes
    configuration: /etc/mailman3/mq-archive.cfg

The Mailman-facing classes are imported on first use, so the modules that
do the work (settings, spool, handoff, events) import without Mailman.
"""

__all__ = ['MqArchive', 'MqArchivePlugin']


def __getattr__(name):
    if name == 'MqArchive':
        from .archiver import MqArchive
        return MqArchive
    if name == 'MqArchivePlugin':
        from .plugin import MqArchivePlugin
        return MqArchivePlugin
    raise AttributeError(name)
