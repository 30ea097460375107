"""The archiver Mailman calls for every post: it hands the message's bytes
to `mq-archive publish` and never raises (see handoff.py). Its URLs are
computed locally, with no network in Mailman's pipeline: HyperKitty's
scheme, `<base_url>list/<fqdn>/message/<Message-ID-Hash>/`.
"""

import logging
from urllib.parse import urljoin

from mailman.interfaces.archiver import IArchiver
from zope.interface import implementer

from .handoff import hand_off
from .mailman_settings import archiver_settings, settings_or_fallback
from .spool import Spool

log = logging.getLogger('mailman.archiver')


@implementer(IArchiver)
class MqArchive:
    """Commit each post to the mq-archive outbox, or spool it. Cheap to build: Mailman builds one per message."""

    name = 'mq_archive'
    is_enabled = False

    def list_url(self, mlist):
        try:
            base = archiver_settings().base_url
        except Exception:  # archive_message logs it; a header is not worth failing a post for
            return None
        if base is None:
            return None
        return urljoin(base.rstrip('/') + '/', f'list/{mlist.fqdn_listname}/')

    def permalink(self, mlist, msg):
        url = self.list_url(mlist)
        digest = msg.get('message-id-hash') or msg.get('x-message-id-hash')
        if url is None or not digest:
            return None
        return urljoin(url, f'message/{str(digest).strip()}/')

    def archive_message(self, mlist, msg):
        found = settings_or_fallback(archiver_settings)
        message_id = ' '.join(str(msg.get('message-id', '(no Message-ID)')).split())
        hand_off(found.command, Spool(found.spool), 'message', mlist.fqdn_listname, _bytes_of(msg),
                 f'post {message_id} to {mlist.fqdn_listname}', found.timeout, log)
        return None


def _bytes_of(msg) -> bytes:
    """The message as Mailman holds it; a message the email package cannot flatten as bytes goes as text."""
    try:
        return msg.as_bytes()
    except Exception:
        return msg.as_string().encode('utf-8', 'surrogateescape')
