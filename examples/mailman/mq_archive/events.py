"""List events: which of Mailman's zope.event notifications become which
mq-archive event, and the handler that hands them off.

Mailman fires these synchronously, inside the transaction of the change, in
whichever process made it (a CLI command, a REST worker, a runner). The
handler is quick (one `publish --event`, bounded by event_timeout) and never
raises into Mailman: on failure the event is spooled like a post. If
Mailman then rolls the change back, the event stays published: archives
learn of changes as they were made, not only as they were committed.

Mailman has no event for a list's settings, nor for a role change (that is
an unsubscription and a subscription); nonmember rows are not events here.
Deleting a list unsubscribes all its owners, moderators and members first:
those are not published one by one (list-deleted says it; and a large
list's members would hold the deletion for one publish each).
"""

import json
import uuid
from datetime import datetime, timezone
from typing import Callable, Optional

# Subscription events by the member's role: (added, removed).
_ROLE_TYPES = {
    'owner': ('owner-added', 'owner-removed'),
    'moderator': ('moderator-added', 'moderator-removed'),
    'member': ('member-subscribed', 'member-unsubscribed'),
}


def describe(event, member_events: bool) -> Optional[dict]:
    """The mq-archive event for a Mailman notification, or None when it is not one."""
    name = type(event).__name__
    if name == 'ListCreatedEvent':
        return _event('list-created', event.mailing_list.fqdn_listname)
    if name == 'ListDeletedEvent':
        return _event('list-deleted', event.fqdn_listname)
    if name not in ('SubscriptionEvent', 'UnsubscriptionEvent'):
        return None
    member = event.member
    role = getattr(member.role, 'name', str(member.role))
    types = _ROLE_TYPES.get(role)
    if types is None or (role == 'member' and not member_events):
        return None
    found = _event(types[0] if name == 'SubscriptionEvent' else types[1], event.mlist.fqdn_listname)
    address = member.address
    found['address'] = address.email
    display_name = getattr(member, 'display_name', None) or getattr(address, 'display_name', None)
    if display_name:
        found['display_name'] = display_name
    return found


def _event(kind: str, list_name: str) -> dict:
    # The id stands in for a Message-ID: published twice (a timeout, then the
    # spool), the event is stored once.
    at = datetime.now(timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')
    return {'id': str(uuid.uuid4()), 'type': kind, 'list': list_name, 'at': at}


def encode(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode('utf-8')


def label(event: dict) -> str:
    return f"event {event['type']} {event['id']} of {event['list']}"


def make_handler(hand_off: Callable[[dict], object], member_events: Callable[[], bool], log) -> Callable:
    """A zope.event subscriber: every notification goes through it, so it ignores all but ours fast.

    Register it first among the subscribers: it must see a ListDeletingEvent
    before Mailman's own handler unsubscribes the list's members.
    """
    deleting = set()

    def on_event(event) -> None:
        name = type(event).__name__
        if name not in _NAMES:
            return
        try:
            if name == 'ListDeletingEvent':
                deleting.add(event.mailing_list.fqdn_listname)
                return
            if name == 'ListCreatedEvent':
                deleting.discard(event.mailing_list.fqdn_listname)
            elif name == 'ListDeletedEvent':
                deleting.discard(event.fqdn_listname)
            elif event.mlist.fqdn_listname in deleting:
                return
            found = describe(event, member_events())
            if found is not None:
                hand_off(found)
        except Exception:  # never into Mailman's change
            log.exception('mq-archive: cannot hand off %s', name)
    return on_event


_NAMES = frozenset(('ListCreatedEvent', 'ListDeletingEvent', 'ListDeletedEvent', 'SubscriptionEvent', 'UnsubscriptionEvent'))
