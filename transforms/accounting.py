"""Where every message ends, as Beam counters, plus sparse log lines.

DESIGN.md asks that ``read = counted + duplicates + malformed + too_late``
hold exactly. Each counter below is incremented in exactly one place, so the
figures a run reports can be checked against that identity.
"""

import logging
import threading
import time

from apache_beam.metrics import Metrics

from transforms.events import EventTimeSource

NAMESPACE = 'viewcounts'

READ = 'views_read'
COUNTED = 'views_counted'
DUPLICATES = 'views_duplicate'
MALFORMED = 'views_malformed'
TOO_LATE = 'views_too_late'
OUTCOMES = (COUNTED, DUPLICATES, MALFORMED, TOO_LATE)
# Not an outcome of a message: how many count rows went to Bigtable, the
# figure that pre-aggregation exists to make small.
ROWS_WRITTEN = 'bigtable_rows_written'
# Where each well-formed view took its event time from; these add up to
# read - malformed.
EVENT_TIME_SOURCES = tuple(
  f'event_time_from_{source}'
  for source in (
    EventTimeSource.ATTRIBUTE,
    EventTimeSource.PAYLOAD,
    EventTimeSource.PUBLISH_TIME,
  )
)
REPORTED = (READ, *OUTCOMES, ROWS_WRITTEN, *EVENT_TIME_SOURCES)


def counter(name: str):
  return Metrics.counter(NAMESPACE, name)


def event_time_counter(source: str):
  """How many views took their event time from ``source``."""
  return counter(f'event_time_from_{source}')


class ThrottledLog:
  """Logs a summary at most once per interval, never once per message.

  Malformed and late messages can arrive by the million; a log line each
  would drown the logs and slow the worker. The counters hold the totals.
  Runners make many instances of a DoFn in one process, so the interval is
  kept per kind of message for the whole process, not per instance.
  """

  _lock = threading.Lock()
  # what -> [messages since the last line, time of the last line]
  _state: dict[str, list] = {}

  def __init__(
    self, logger: logging.Logger, what: str, interval_sec: float = 60.0
  ):
    self._logger = logger
    self._what = what
    self._interval_sec = interval_sec

  def record(self, example: str) -> None:
    now = time.monotonic()
    with self._lock:
      state = self._state.setdefault(self._what, [0, float('-inf')])
      state[0] += 1
      if now - state[1] < self._interval_sec:
        return
      pending, state[:] = state[0], [0, now]
    self._logger.warning(
      '%d %s since the last report; latest: %s', pending, self._what, example
    )
