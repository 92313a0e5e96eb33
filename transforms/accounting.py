"""Where every message ends, as Beam counters, plus sparse log lines.

DESIGN.md asks that ``read = counted + duplicates + malformed + too_late``
hold exactly. Each counter below is incremented in exactly one place, so the
figures a run reports can be checked against that identity.
"""

import logging
import time

from apache_beam.metrics import Metrics

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
REPORTED = (READ, *OUTCOMES, ROWS_WRITTEN)


def counter(name: str):
  return Metrics.counter(NAMESPACE, name)


def event_time_counter(source: str):
  """How many views took their event time from ``source``."""
  return counter(f'event_time_from_{source}')


class ThrottledLog:
  """Logs a summary at most once per interval, never once per message.

  Malformed and late messages can arrive by the million; a log line each
  would drown the logs and slow the worker. The counters hold the totals.
  """

  def __init__(
    self, logger: logging.Logger, what: str, interval_sec: float = 60.0
  ):
    self._logger = logger
    self._what = what
    self._interval_sec = interval_sec
    self._pending = 0
    self._last_logged = float('-inf')

  def record(self, example: str) -> None:
    self._pending += 1
    now = time.monotonic()
    if now - self._last_logged >= self._interval_sec:
      self._logger.warning(
        '%d %s since the last report; latest: %s',
        self._pending,
        self._what,
        example,
      )
      self._pending = 0
      self._last_logged = now
