"""What the plugin's tests share: a temp dir, a fake `mq-archive publish`
whose behaviour each test chooses, and a logger that keeps its records."""

import logging
import os
import shutil
import stat
import tempfile
import unittest

# The fake publish: records its argv and stdin, then behaves as $FAKE_MODE says.
FAKE = r'''#!/bin/sh
dir=$(dirname "$0")
n=$(ls "$dir"/calls | grep -c argv)
printf '%s\n' "$@" > "$dir/calls/$n.argv"
cat > "$dir/calls/$n.stdin"
mode=$(cat "$dir/mode")
case "$*" in *--spool*) mode=$(cat "$dir/drain-mode");; esac
case "$mode" in
  ok) echo 7 ;;
  refuse) echo "mq-archive: the message is larger than the limit of 10 bytes (--max-size)" >&2; exit 65 ;;
  busy) echo "mq-archive: the outbox is busy" >&2; exit 75 ;;
  hang) exec sleep 30 ;;
  crash) kill -9 $$ ;;
  drain) for f in "$SPOOL"/lists/*/new/* "$SPOOL"/events/new/*; do [ -e "$f" ] && rm "$f"; done; exit 0 ;;
esac
'''


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def at(self, level):
        return [r.getMessage() for r in self.records if r.levelno == level]


class PluginCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='mqa-plugin-')
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.spool_dir = os.path.join(self.dir, 'spool')
        self.fake = os.path.join(self.dir, 'fake-publish')
        os.mkdir(os.path.join(self.dir, 'calls'))
        with open(self.fake, 'w') as f:
            f.write(FAKE)
        os.chmod(self.fake, stat.S_IRWXU)
        self.mode('ok')
        self.drain_mode('drain')
        os.environ['SPOOL'] = self.spool_dir
        self.log = logging.getLogger(f'mqa-test-{id(self)}')
        self.log.propagate = False
        self.log.setLevel(logging.DEBUG)
        self.logged = Records()
        self.log.addHandler(self.logged)

    def mode(self, mode):
        with open(os.path.join(self.dir, 'mode'), 'w') as f:
            f.write(mode)

    def drain_mode(self, mode):
        with open(os.path.join(self.dir, 'drain-mode'), 'w') as f:
            f.write(mode)

    def calls(self):
        """Each call of the fake: (argv, stdin), in order."""
        found = []
        calls = os.path.join(self.dir, 'calls')
        for n in range(len(os.listdir(calls)) // 2):
            with open(os.path.join(calls, f'{n}.argv')) as a, open(os.path.join(calls, f'{n}.stdin'), 'rb') as i:
                found.append((a.read().splitlines(), i.read()))
        return found

    def files(self, *parts):
        """The files of a spool directory, by name order, with their bytes."""
        where = os.path.join(self.spool_dir, *parts)
        if not os.path.isdir(where):
            return []
        result = []
        for name in sorted(os.listdir(where)):
            with open(os.path.join(where, name), 'rb') as f:
                result.append((name, f.read()))
        return result
