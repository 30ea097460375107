# mq-archive archiver for GNU Mailman 3.
#
# Hands every archived message, as bytes, to `mq-archive publish`, which
# commits it to the durable outbox and exits 0 only once it is on disk.
# Install this file where Mailman can import it (e.g. as
# /usr/lib/python3/dist-packages/mq_archive.py, or on PYTHONPATH), then
# enable it in mailman.cfg (see mailman.cfg in this directory).

import logging
import shlex
import subprocess

from mailman.config import config
from mailman.config.config import external_configuration
from mailman.interfaces.archiver import IArchiver
from mailman.utilities.string import expand
from public import public
from urllib.parse import urljoin
from zope.interface import implementer

log = logging.getLogger('mailman.archiver')


@public
@implementer(IArchiver)
class MqArchive:
    """Publish each message to the mq-archive outbox."""

    name = 'mq_archive'
    is_enabled = False

    def __init__(self):
        settings = external_configuration(config.archiver.mq_archive.configuration)
        self.base_url = settings.get('general', 'base_url')
        self.command = shlex.split(settings.get('general', 'command'))
        self.timeout = settings.getint('general', 'timeout', fallback=60)

    def list_url(self, mlist):
        return expand(self.base_url, mlist, dict(fqdn_listname=mlist.fqdn_listname))

    def permalink(self, mlist, msg):
        message_id_hash = msg.get('message-id-hash') or msg.get('x-message-id-hash')
        if message_id_hash is None:
            return None
        return urljoin(self.list_url(mlist) + '/', str(message_id_hash))

    def archive_message(self, mlist, msg):
        argv = self.command + ['--list', mlist.fqdn_listname]
        proc = subprocess.run(argv, input=msg.as_bytes(), capture_output=True, timeout=self.timeout)
        if proc.returncode != 0:
            reason = proc.stderr.decode('utf-8', 'replace').strip()
            log.error('mq-archive publish failed for %s (exit %s): %s', msg.get('message-id'), proc.returncode, reason)
            raise RuntimeError('mq-archive publish exited {}: {}'.format(proc.returncode, reason))
        log.info('mq-archive: %s committed as seq %s', msg.get('message-id'), proc.stdout.decode().strip())
        return None
