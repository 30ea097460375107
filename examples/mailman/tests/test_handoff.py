"""hand_off: every way publish can fail ends with the item committed,
rejected with its reason, or spooled; it never raises."""

import os
import time

from helpers import PluginCase
from mq_archive.handoff import hand_off
from mq_archive.spool import Spool

LIST = 'dev@example.com'
POST = b'From: a@example.org\nMessage-ID: <p1@example.org>\nSubject: s\n\nbody \xe9 bytes\n'


class HandOffTest(PluginCase):
    def hand(self, kind='message', data=POST, command=None, timeout=5):
        return hand_off([self.fake] if command is None else command, Spool(self.spool_dir), kind, LIST, data,
                        'post <p1@example.org>', timeout, self.log)

    def test_a_committed_post_is_published_with_its_list_and_exact_bytes(self):
        outcome = self.hand()
        self.assertEqual((outcome.state, outcome.detail), ('committed', '7'))
        self.assertEqual(self.calls(), [([ '--list', LIST], POST)])
        self.assertIn('post <p1@example.org> committed as seq 7', self.logged.at(20)[0])
        self.assertEqual(self.files('lists', LIST, 'new'), [])

    def test_an_event_is_published_with_event(self):
        outcome = self.hand(kind='event', data=b'{"id":"e1"}')
        self.assertEqual(outcome.state, 'committed')
        self.assertEqual(self.calls(), [(['--event'], b'{"id":"e1"}')])

    def test_a_refusal_for_good_is_kept_in_rejected_with_its_reason(self):
        self.mode('refuse')
        outcome = self.hand()
        self.assertEqual(outcome.state, 'rejected')
        kept = self.files('rejected', 'lists', LIST)
        self.assertEqual(len(kept), 2)
        (name, body), (reason_name, reason) = kept
        self.assertEqual(body, POST)
        self.assertEqual(reason_name, name + '.reason')
        self.assertEqual(reason, b'exit 65: mq-archive: the message is larger than the limit of 10 bytes (--max-size)\n')
        self.assertIn('refused for good', self.logged.at(40)[0])
        self.assertEqual(self.files('lists', LIST, 'new'), [], 'not spooled for another try')

    def test_a_refused_event_is_kept_in_rejected_events(self):
        self.mode('refuse')
        self.assertEqual(self.hand(kind='event', data=b'{}').state, 'rejected')
        self.assertEqual([b for _, b in self.files('rejected', 'events') if b == b'{}'], [b'{}'])

    def assert_spooled(self, outcome, reason, kind='message'):
        self.assertEqual(outcome.state, 'spooled')
        where = ('events', 'new') if kind == 'event' else ('lists', LIST, 'new')
        self.assertEqual([body for _, body in self.files(*where)], [POST])
        self.assertEqual(os.path.dirname(outcome.detail), os.path.join(self.spool_dir, *where))
        self.assertEqual(self.files(*where[:-1], 'tmp'), [], 'nothing left half-written')
        warning = self.logged.at(30)
        self.assertEqual(len(warning), 1)
        self.assertIn('post <p1@example.org> spooled in', warning[0])
        self.assertIn(reason, warning[0])

    def test_a_temporary_failure_spools_the_exact_bytes(self):
        self.mode('busy')
        self.assert_spooled(self.hand(), 'exit 75: mq-archive: the outbox is busy')

    def test_an_event_that_fails_is_spooled_in_events(self):
        self.mode('busy')
        self.assert_spooled(self.hand(kind='event'), 'exit 75', kind='event')

    def test_a_command_that_hangs_is_killed_at_the_timeout_and_the_post_spooled(self):
        self.mode('hang')
        started = time.monotonic()
        outcome = self.hand(timeout=0.5)
        self.assertLess(time.monotonic() - started, 10)
        self.assert_spooled(outcome, 'gave no answer within 0.5 s and was killed')

    def test_a_missing_command_spools(self):
        self.assert_spooled(self.hand(command=[os.path.join(self.dir, 'no-such-mq-archive')]), 'cannot run')

    def test_a_command_killed_by_a_signal_spools(self):
        self.mode('crash')
        self.assert_spooled(self.hand(), 'was killed by signal 9')

    def test_no_command_at_all_spools(self):
        self.assert_spooled(self.hand(command=[]), 'no publish command')

    def test_when_rejected_cannot_be_written_the_post_is_spooled_instead(self):
        self.mode('refuse')
        os.makedirs(self.spool_dir)
        open(os.path.join(self.spool_dir, 'rejected'), 'w').close()  # a file where rejected/ must be
        self.assert_spooled(self.hand(), 'unexpected error')

    def test_when_nothing_works_it_says_so_and_does_not_raise(self):
        self.mode('busy')
        open(self.spool_dir, 'w').close()  # the spool is a file
        outcome = self.hand()
        self.assertEqual(outcome.state, 'lost')
        self.assertIn('post <p1@example.org> NOT ARCHIVED: not committed (exit 75', self.logged.at(40)[0])

    def test_older_waiting_items_are_drained_first_then_the_new_post_is_published(self):
        self.mode('busy')
        self.hand()
        self.mode('ok')
        self.assertEqual(self.hand().state, 'committed')
        argvs = [argv for argv, _ in self.calls()]
        self.assertEqual(argvs, [['--list', LIST], ['--spool', self.spool_dir], ['--list', LIST]])
        self.assertEqual(self.files('lists', LIST, 'new'), [])

    def test_a_waiting_event_also_holds_a_post_back(self):
        self.mode('busy')
        self.hand(kind='event')
        self.mode('ok')
        self.hand()
        self.assertEqual([argv[0] for argv, _ in self.calls()], ['--event', '--spool', '--list'])

    def test_when_the_drain_fails_the_new_post_waits_behind_the_older_ones(self):
        self.mode('busy')
        first = self.hand()
        self.mode('ok')
        self.drain_mode('busy')
        second = self.hand()
        self.assertEqual(second.state, 'spooled')
        self.assertEqual([argv[0] for argv, _ in self.calls()], ['--list', '--spool'], 'not published ahead')
        names = [name for name, _ in self.files('lists', LIST, 'new')]
        self.assertEqual(names, [os.path.basename(first.detail), os.path.basename(second.detail)])
        self.assertIn('older items wait in the spool and draining it failed (exit 75', self.logged.at(30)[1])
