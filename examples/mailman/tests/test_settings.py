"""The settings file: defaults, paths and clear errors."""

import os

from helpers import PluginCase
from mq_archive import settings


class SettingsTest(PluginCase):
    def write(self, text):
        path = os.path.join(self.dir, f'mq-archive-{len(text)}-{hash(text)}.cfg')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_defaults(self):
        found = settings.load(self.write('[general]\ncommand: mq-archive publish --db "/var/lib/mq archive/o.db"\n'), '/var/lib/mailman3')
        self.assertEqual(found.command, ('mq-archive', 'publish', '--db', '/var/lib/mq archive/o.db'))
        self.assertEqual(found.spool, '/var/lib/mailman3/mq-archive/spool')
        self.assertEqual((found.timeout, found.event_timeout, found.member_events, found.base_url), (60, 10, False, None))

    def test_every_setting(self):
        found = settings.load(self.write('[general]\ncommand: x\nspool: /srv/spool\ntimeout: 5\nevent_timeout: 1.5\n'
                                         'member_events: yes\nbase_url: https://a.example/hyperkitty/\n'), '/var')
        self.assertEqual((found.spool, found.timeout, found.event_timeout, found.member_events, found.base_url),
                         ('/srv/spool', 5, 1.5, True, 'https://a.example/hyperkitty/'))

    def test_errors_name_the_file_and_the_fix(self):
        cases = [('[general]\n', 'command is missing'), ('[general]\ncommand: x\ntimeout: 0\n', 'timeout must be a number'),
                 ('[general]\ncommand: x\nmember_events: maybe\n', 'member_events must be yes or no'), ('not ini', 'cannot read')]
        for text, message in cases:
            path = self.write(text)
            with self.assertRaises(settings.SettingsError) as caught:
                settings.load(path, '/var')
            self.assertIn(message, str(caught.exception))
            self.assertIn(path, str(caught.exception))
        with self.assertRaises(settings.SettingsError):
            settings.load(os.path.join(self.dir, 'missing.cfg'), '/var')
