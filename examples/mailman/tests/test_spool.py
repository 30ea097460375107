"""The spool writer follows mq-archive's layout, names and modes."""

import os
import re
import stat

from helpers import PluginCase
from mq_archive.spool import Spool, unique_name


class SpoolTest(PluginCase):
    def test_names_start_with_the_time_and_never_go_back(self):
        names = [unique_name() for _ in range(2000)]
        stamps = [int(re.match(r'^(\d+)\.\d+_\d+\.', n).group(1)) for n in names]
        self.assertEqual(stamps, sorted(set(stamps)), 'strictly increasing, so the import keeps their order')
        self.assertTrue(all(not n.startswith('.') and not n.endswith('.reason') and '/' not in n for n in names))

    def test_a_post_lands_in_its_lists_new_and_an_event_in_events_new(self):
        spool = Spool(self.spool_dir)
        post = spool.put('message', 'dev@example.com', b'post')
        event = spool.put('event', 'dev@example.com', b'{}')
        self.assertEqual(os.path.dirname(post), os.path.join(self.spool_dir, 'lists', 'dev@example.com', 'new'))
        self.assertEqual(os.path.dirname(event), os.path.join(self.spool_dir, 'events', 'new'))
        self.assertTrue(spool.waiting('dev@example.com'))
        self.assertTrue(spool.waiting('other@example.com'), 'a waiting event holds every list back')

    def test_nothing_waits_in_an_empty_or_missing_spool(self):
        spool = Spool(self.spool_dir)
        self.assertFalse(spool.waiting('dev@example.com'))
        spool.put('message', 'dev@example.com', b'post')
        self.assertFalse(spool.waiting('other@example.com'))

    def test_a_list_name_mq_archive_would_refuse_never_becomes_a_path(self):
        spool = Spool(self.spool_dir)
        for bad in ['../escape', '.hidden', 'a/b', '', 'x' * 256]:
            with self.assertRaises(ValueError, msg=bad):
                spool.put('message', bad, b'post')
        self.assertFalse(os.path.exists(os.path.join(self.dir, 'escape')))

    def test_owner_only_modes_by_default(self):
        old = os.umask(0o022)
        try:
            path = Spool(self.spool_dir).put('message', 'dev@example.com', b'post')
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(self.spool_dir).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_a_spool_its_group_may_use_gets_group_modes_whatever_the_umask(self):
        os.mkdir(self.spool_dir)
        os.chmod(self.spool_dir, 0o2770)
        old = os.umask(0o077)
        try:
            path = Spool(self.spool_dir).put('message', 'dev@example.com', b'post')
            kept = Spool(self.spool_dir).reject('message', 'dev@example.com', b'post', 'why')
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o770)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o660)
        self.assertEqual(stat.S_IMODE(os.stat(kept).st_mode), 0o660)
        self.assertEqual(stat.S_IMODE(os.stat(kept + '.reason').st_mode), 0o660)

    def test_a_reason_is_one_line(self):
        kept = Spool(self.spool_dir).reject('event', 'dev@example.com', b'{}', 'first\nsecond\r\nthird')
        with open(kept + '.reason') as f:
            self.assertEqual(f.read(), 'first second third\n')
