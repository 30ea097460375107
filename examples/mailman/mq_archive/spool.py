"""The spool: where a post or an event waits when it cannot be committed.

The layout is mq-archive's (lib/ingest/spool.ts owns it; `serve --spool`
and `publish --spool` import from it):

    DIR/lists/<list>/tmp/<name>   being written
    DIR/lists/<list>/new/<name>   a post waiting, its bytes exactly as Mailman gave them
    DIR/events/tmp/, new/         the same for list events (their JSON, with their "id")
    DIR/rejected/lists/<list>/<name> and <name>.reason
    DIR/rejected/events/<name> and <name>.reason
                                  refused for good (publish exited 65), and why

A file is written whole into tmp/, fsync'd, renamed into new/ and new/ is
fsync'd (Maildir delivery): a file in new/ is always complete. Names start
with the time in milliseconds and never go back within a process, so an
import that takes the oldest name first keeps each list's order.
"""

import os
import re
import socket
import threading
import time

LISTS = 'lists'
EVENTS = 'events'
REJECTED = 'rejected'
REASON_SUFFIX = '.reason'

# What mq-archive accepts as a list name (lib/message/rfc5322.ts): it becomes
# a directory name here, so nothing else may pass.
_LIST_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._@+=-]*$')


class Spool:
    def __init__(self, root: str):
        self.root = root

    def waiting(self, list_name: str) -> bool:
        """Whether anything of this list, or any event, waits to be imported."""
        return (_has_files(os.path.join(self.root, LISTS, _checked(list_name), 'new'))
                or _has_files(os.path.join(self.root, EVENTS, 'new')))

    def put(self, kind: str, list_name: str, data: bytes) -> str:
        """Deliver a post ('message') or an event into new/; returns its path."""
        box = self._box(kind, list_name)
        modes = self._modes()
        for sub in ('tmp', 'new'):
            _ensure_dir(os.path.join(box, sub), modes[0])
        name = unique_name()
        tmp = os.path.join(box, 'tmp', name)
        final = os.path.join(box, 'new', name)
        _write_durably(tmp, data, modes[1])
        os.rename(tmp, final)
        _sync_dir(os.path.join(box, 'new'))
        return final

    def reject(self, kind: str, list_name: str, data: bytes, reason: str) -> str:
        """Keep what publish refused for good in rejected/, its reason beside it; returns its path."""
        box = self._box(kind, list_name)
        into = os.path.join(self.root, REJECTED, os.path.relpath(box, self.root))
        modes = self._modes()
        _ensure_dir(os.path.join(box, 'tmp'), modes[0])
        _ensure_dir(into, modes[0])
        name = unique_name()
        tmp = os.path.join(box, 'tmp', name)
        final = os.path.join(into, name)
        _write_durably(tmp, data, modes[1])
        # The reason first: a crash in between leaves a stray file in tmp/
        # (reported by `status --spool`), never a refused file without its reason.
        line = ' '.join(reason.split()) + '\n'
        _write_durably(final + REASON_SUFFIX, line.encode('utf-8', 'replace'), modes[1])
        os.rename(tmp, final)
        _sync_dir(into)
        return final

    def _box(self, kind: str, list_name: str) -> str:
        if kind == 'event':
            return os.path.join(self.root, EVENTS)
        return os.path.join(self.root, LISTS, _checked(list_name))

    def _modes(self):
        """Owner-only, plus what the spool's group may do (serve may run as another user of it)."""
        _ensure_dir(self.root, 0o700)
        group = os.stat(self.root).st_mode & 0o070
        return 0o700 | group, 0o600 | (group & 0o060)


_counter_lock = threading.Lock()
_last_ms = 0
_counter = 0
_HOST = socket.gethostname().replace('/', r'\057').replace(':', r'\072') or 'localhost'


def unique_name() -> str:
    """`<unix-ms>.<pid>_<n>.<host>`, the milliseconds never going back within this process."""
    global _last_ms, _counter
    with _counter_lock:
        _last_ms = max(int(time.time() * 1000), _last_ms + 1)
        _counter += 1
        return f'{_last_ms}.{os.getpid()}_{_counter}.{_HOST}'


def _checked(list_name: str) -> str:
    if len(list_name.encode('utf-8')) > 255 or not _LIST_NAME.match(list_name):
        raise ValueError(f'"{list_name}" is not a list name mq-archive accepts')
    return list_name


def _has_files(directory: str) -> bool:
    try:
        with os.scandir(directory) as it:
            return any(not e.name.startswith('.') for e in it)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _ensure_dir(path: str, mode: int) -> None:
    """Create `path` and its missing parents with `mode`, each made durable in its parent."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        _ensure_dir(parent, mode)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        return
    os.chmod(path, mode)  # the umask may have taken bits the spool's group needs
    _sync_dir(parent)


def _write_durably(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(path)
        raise
    os.close(fd)


def _sync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
