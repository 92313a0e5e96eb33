"""TallyArchivedViews: files of archived views in, partial tallies out.

A backfill reads views by the million, and in Beam's Python SDK one element
per line costs several times what parsing the line does (bench/backfill.py
measures it). So each file is read, parsed with the streaming job's rules
(transforms/events.py) and tallied per (video, window) with the streaming
combiner's own accumulator inside one DoFn call. Only partial tallies, at
most one per (video, window) every CHUNK_LINES lines, become elements;
CountArchivedViewsPerWindow merges them across chunks and files, so an
``eventId`` repeated anywhere in the input still counts once.

One file is read by one worker: split a large archive into many files to
spread it.
"""

import datetime
import logging
from collections.abc import Callable

import apache_beam as beam
from apache_beam.io import fileio

from transforms import accounting
from transforms.count import CountDistinctViewsFn
from transforms.events import (
  EventTimeSource,
  MalformedEvent,
  parse_view,
  resolve_event_time,
)
from transforms.parse import DEAD_LETTER_TAG, DeadLetter

_LOGGER = logging.getLogger(__name__)

# Lines tallied in memory before their partial tallies are handed on; bounds
# a worker's memory whatever the size of a file.
CHUNK_LINES = 500_000
# How often on_lines hears of progress; CHUNK_LINES is a multiple of it.
PROGRESS_LINES = 10_000


class _TallyFileFn(beam.DoFn):
  """ReadableFile -> ((video_id, window start in epoch seconds), partial
  tally), or DeadLetter for a malformed line.

  ``on_lines`` is told of the lines read every PROGRESS_LINES, for a
  progress bar.
  """

  def __init__(
    self,
    window_size_sec: int,
    max_future_skew_sec: float,
    on_lines: Callable[[int], None] | None = None,
  ):
    self._window_size_sec = window_size_sec
    self._max_future_skew_sec = max_future_skew_sec
    self._on_lines = on_lines

  def setup(self):
    self._tally = CountDistinctViewsFn()
    self._read = accounting.counter(accounting.READ)
    self._malformed = accounting.counter(accounting.MALFORMED)
    self._from_payload = accounting.event_time_counter(EventTimeSource.PAYLOAD)
    self._malformed_log = accounting.ThrottledLog(
      _LOGGER, 'malformed archive lines'
    )

  def process(self, readable_file):
    # Event times are checked against one clock reading per file: a
    # backfill's input is in the past.
    now = datetime.datetime.now(datetime.UTC)
    tallies, lines, malformed = {}, 0, 0
    with readable_file.open() as archive:
      for line in archive:
        lines += 1
        dead_letter = self._tally_line(line.rstrip(b'\r\n'), tallies, now)
        if dead_letter is not None:
          malformed += 1
          yield beam.pvalue.TaggedOutput(DEAD_LETTER_TAG, dead_letter)
        if self._on_lines is not None and lines % PROGRESS_LINES == 0:
          self._on_lines(PROGRESS_LINES)
        if lines == CHUNK_LINES:
          yield from self._flush(tallies, lines, malformed)
          tallies, lines, malformed = {}, 0, 0
    yield from self._flush(tallies, lines, malformed)

  def _tally_line(self, data, tallies, now) -> DeadLetter | None:
    """Adds the line's view to tallies; a DeadLetter if it is malformed."""
    try:
      event, raw_event_time = parse_view(data)
      event_time, _ = resolve_event_time(
        raw_event_time, {}, None, None, now, self._max_future_skew_sec
      )
    except MalformedEvent as e:
      self._malformed_log.record(str(e))
      return DeadLetter(data, {}, e.reason, e.detail)
    seconds = int(event_time.timestamp())
    key = event.video_id, seconds - seconds % self._window_size_sec
    tally = tallies.get(key)
    if tally is None:
      tally = tallies[key] = self._tally.create_accumulator()
    self._tally.add_input(tally, event.event_id)
    return None

  def _flush(self, tallies, lines, malformed):
    self._read.inc(lines)
    self._malformed.inc(malformed)
    self._from_payload.inc(lines - malformed)
    if self._on_lines is not None:
      self._on_lines(lines % PROGRESS_LINES)
    yield from tallies.items()


class TallyArchivedViews(beam.PTransform):
  """File patterns (local paths or gs://) -> partial tallies.

  Each line is one view's JSON payload, as it was published, with its
  ``eventTime``: an archive keeps no publish time to fall back on.
  Outputs: the main output of ((video_id, window start in epoch seconds),
  CountDistinctViewsFn accumulator), and ``dead_letter``, DeadLetter
  records of malformed lines.
  """

  def __init__(
    self,
    window_size_sec: int,
    max_future_skew_sec: float = 300,
    on_lines: Callable[[int], None] | None = None,
  ):
    super().__init__()
    self._fn = _TallyFileFn(window_size_sec, max_future_skew_sec, on_lines)

  def expand(self, patterns):
    return (
      patterns
      | 'MatchFiles' >> fileio.MatchAll()
      | 'OpenFiles' >> fileio.ReadMatches()
      | 'ParseAndTally'
      >> beam.ParDo(self._fn).with_outputs(DEAD_LETTER_TAG, main='tallies')
    )
