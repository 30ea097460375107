"""Which Mailman notifications become which events, and a handler that
never raises into Mailman. Stand-ins carry Mailman's class and attribute
names (the real ones run in spec/e2e/mailman.spec.ts)."""

import enum
import json
import uuid

from helpers import PluginCase
from mq_archive import events


class MemberRole(enum.Enum):
    member = 1
    owner = 2
    moderator = 3
    nonmember = 4


class _List:
    fqdn_listname = 'dev@example.com'


class _Address:
    email = 'anne@example.org'
    display_name = 'Anne Person'


class _Member:
    def __init__(self, role, display_name=None):
        self.role = role
        self.address = _Address()
        self.display_name = display_name


class ListCreatedEvent:
    mailing_list = _List()


class ListDeletingEvent:
    mailing_list = _List()


class ListDeletedEvent:
    fqdn_listname = 'dev@example.com'


class SubscriptionEvent:
    def __init__(self, member):
        self.mlist, self.member = _List(), member


class UnsubscriptionEvent(SubscriptionEvent):
    pass


class ConfigurationUpdatedEvent:
    pass


class EventsTest(PluginCase):
    def test_list_events(self):
        created = events.describe(ListCreatedEvent(), False)
        self.assertEqual(created['type'], 'list-created')
        self.assertEqual(created['list'], 'dev@example.com')
        self.assertEqual(events.describe(ListDeletedEvent(), False)['type'], 'list-deleted')
        uuid.UUID(created['id'])
        self.assertRegex(created['at'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')

    def test_owners_and_moderators_with_their_address(self):
        for role, added, removed in [(MemberRole.owner, 'owner-added', 'owner-removed'),
                                     (MemberRole.moderator, 'moderator-added', 'moderator-removed')]:
            found = events.describe(SubscriptionEvent(_Member(role, 'Anne')), False)
            self.assertEqual({k: found[k] for k in ('type', 'list', 'address', 'display_name')},
                             {'type': added, 'list': 'dev@example.com', 'address': 'anne@example.org', 'display_name': 'Anne'})
            self.assertEqual(events.describe(UnsubscriptionEvent(_Member(role)), False)['type'], removed)

    def test_the_display_name_falls_back_to_the_addresses(self):
        found = events.describe(SubscriptionEvent(_Member(MemberRole.owner)), False)
        self.assertEqual(found['display_name'], 'Anne Person')

    def test_members_only_when_the_site_turns_them_on(self):
        member = _Member(MemberRole.member)
        self.assertIsNone(events.describe(SubscriptionEvent(member), False))
        self.assertEqual(events.describe(SubscriptionEvent(member), True)['type'], 'member-subscribed')
        self.assertEqual(events.describe(UnsubscriptionEvent(member), True)['type'], 'member-unsubscribed')

    def test_nonmembers_and_other_notifications_are_not_events(self):
        self.assertIsNone(events.describe(SubscriptionEvent(_Member(MemberRole.nonmember)), True))
        self.assertIsNone(events.describe(ConfigurationUpdatedEvent(), True))

    def test_each_event_gets_its_own_id(self):
        self.assertNotEqual(events.describe(ListCreatedEvent(), False)['id'], events.describe(ListCreatedEvent(), False)['id'])

    def test_encoded_as_json_the_publisher_reads(self):
        found = events.describe(SubscriptionEvent(_Member(MemberRole.owner, 'Zoë')), False)
        self.assertEqual(json.loads(events.encode(found).decode('utf-8')), found)

    def test_the_handler_hands_off_ours_and_never_raises(self):
        handed = []
        handler = events.make_handler(handed.append, lambda: False, self.log)
        handler(ListCreatedEvent())
        handler(ConfigurationUpdatedEvent())
        self.assertEqual([e['type'] for e in handed], ['list-created'])

        def broken(_):
            raise RuntimeError('boom')
        events.make_handler(broken, lambda: False, self.log)(ListCreatedEvent())
        self.assertEqual(len(self.logged.at(40)), 1)
        self.assertIn('cannot hand off ListCreatedEvent', self.logged.at(40)[0])

    def test_a_deletion_does_not_publish_each_role_it_ends(self):
        handed = []
        handler = events.make_handler(handed.append, lambda: True, self.log)
        handler(SubscriptionEvent(_Member(MemberRole.owner)))
        handler(ListDeletingEvent())
        handler(UnsubscriptionEvent(_Member(MemberRole.owner)))
        handler(UnsubscriptionEvent(_Member(MemberRole.member)))
        handler(ListDeletedEvent())
        handler(ListCreatedEvent())
        handler(SubscriptionEvent(_Member(MemberRole.owner)))
        self.assertEqual([e['type'] for e in handed], ['owner-added', 'list-deleted', 'list-created', 'owner-added'])
