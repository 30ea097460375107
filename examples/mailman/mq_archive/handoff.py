"""Hand a post or an event to `mq-archive publish`; spool it when that fails.

Mailman drops an archiver's copy when the archiver raises, and an event
handler that raises breaks the change that fired it, so `hand_off` never
raises. What becomes of each item:

- publish exits 0: committed to the outbox (it prints the seq);
- publish exits 65 (refused for good, e.g. over --max-size): kept in the
  spool's rejected/ with the reason beside it, logged at error;
- anything else (another exit status, a timeout, a command that cannot
  run, an error of ours): written into the spool, logged as a warning, for
  `mq-archive serve --spool` (or `publish --spool`) to import later.

While older items of the same list (or any event) wait in the spool, a new
one is not published ahead of them: the spool is drained first, or the new
item is spooled behind them, so each list's posts and events keep their
order in the outbox.
"""

import subprocess
from dataclasses import dataclass
from typing import Optional, Sequence

from .spool import Spool

EX_OK = 0
EX_DATAERR = 65
# What of publish's stderr a log line or a reason file carries.
MAX_REASON = 500


@dataclass(frozen=True)
class Outcome:
    # 'committed', 'rejected', 'spooled' or 'lost' (neither committed nor spooled).
    state: str
    # The seq, or where the item is kept, or why it was lost.
    detail: str


@dataclass(frozen=True)
class _Run:
    code: Optional[int]
    out: str
    why: str


def hand_off(command: Sequence[str], spool: Spool, kind: str, list_name: str, data: bytes,
             label: str, timeout: float, log) -> Outcome:
    """Commit one post ('message') or event ('event') of `list_name`, or keep it; never raises."""
    try:
        done = _commit(command, spool, kind, list_name, data, label, timeout, log)
        if isinstance(done, Outcome):
            return done
        reason = done
    except Exception as err:  # of ours, e.g. the rejected/ directory unwritable: spool it all the same
        reason = f'unexpected error: {err!r}'
    try:
        kept = spool.put(kind, list_name, data)
    except Exception as err:
        why = f'not committed ({reason}) and not spooled in {spool.root} ({err})'
        log.error('mq-archive: %s NOT ARCHIVED: %s', label, why)
        return Outcome('lost', why)
    log.warning('mq-archive: %s spooled in %s for serve --spool to import: %s', label, kept, reason)
    return Outcome('spooled', kept)


def _commit(command, spool, kind, list_name, data, label, timeout, log):
    """The Outcome when publish decided (committed or refused for good); else why the item must be spooled."""
    if not command:
        return 'no publish command (see the settings error logged before)'
    reason = _older_waiting(command, spool, list_name, timeout)
    if reason is not None:
        return reason
    result = _run([*command, *(['--event'] if kind == 'event' else ['--list', list_name])], data, timeout)
    if result.code == EX_OK:
        log.info('mq-archive: %s committed as seq %s', label, result.out)
        return Outcome('committed', result.out)
    if result.code == EX_DATAERR:
        kept = spool.reject(kind, list_name, data, result.why)
        log.error('mq-archive: %s refused for good, kept in %s: %s', label, kept, result.why)
        return Outcome('rejected', kept)
    return result.why


def _older_waiting(command: Sequence[str], spool: Spool, list_name: str, timeout: float) -> Optional[str]:
    """None when nothing waits ahead of this item (any more); else why it must wait behind."""
    if not spool.waiting(list_name):
        return None
    drained = _run([*command, '--spool', spool.root], b'', timeout)
    if drained.code == EX_OK:
        return None
    return f'older items wait in the spool and draining it failed ({drained.why})'


def _run(argv: Sequence[str], data: bytes, timeout: float) -> _Run:
    try:
        proc = subprocess.run(list(argv), input=data, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return _Run(None, '', f'{argv[0]} gave no answer within {timeout:g} s and was killed')
    except OSError as err:
        return _Run(None, '', f'cannot run {argv[0]}: {err.strerror or err}')
    out = proc.stdout.decode('utf-8', 'replace').strip()
    err = ' '.join(proc.stderr.decode('utf-8', 'replace').split())[:MAX_REASON]
    if proc.returncode < 0:
        return _Run(None, out, f'{argv[0]} was killed by signal {-proc.returncode}: {err}'.rstrip(': '))
    return _Run(proc.returncode, out, f'exit {proc.returncode}: {err or "(no message)"}')
