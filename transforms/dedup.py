"""DropDuplicateViews: a view delivered twice is counted once.

Pub/Sub delivers at least once: a publisher retry, a redelivery after an
expired ack deadline, or a replay after a crash all bring the same view
back. Views carry an ``eventId``; within its video and window the first
copy is kept and later ones are counted as duplicates and dropped. Views
without an ``eventId`` cannot be recognised and are counted as they come.

The state is one flag per distinct (video, eventId, window), kept until the
window can take no more views (its end, plus the allowed lateness, plus the
gate's margin), then dropped.
"""

import typing

import apache_beam as beam
from apache_beam.coders import BooleanCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
  ReadModifyWriteStateSpec,
  TimerSpec,
  on_timer,
)

from transforms import accounting

_WITHOUT_ID = 'without_event_id'


class _SplitByEventIdFn(beam.DoFn):
  """ReceivedView -> ((video, eventId), view), or the view when it has none."""

  def process(self, view):
    if view.event.event_id is None:
      yield beam.pvalue.TaggedOutput(_WITHOUT_ID, view)
    else:
      yield (view.event.video_id, view.event.event_id), view


class _FirstCopyOnlyFn(beam.DoFn):
  """((video, eventId), view) in a window -> the first copy of the view."""

  SEEN = ReadModifyWriteStateSpec('seen', BooleanCoder())
  # Runners drop the state of an expired window themselves; the
  # DirectRunner does not, so a timer clears it.
  EXPIRY = TimerSpec('expiry', TimeDomain.WATERMARK)

  def __init__(self, expiry_delay_sec: int):
    self._expiry_delay_sec = expiry_delay_sec

  def setup(self):
    self._duplicates = accounting.counter(accounting.DUPLICATES)

  def process(
    self,
    keyed_view,
    view_window=beam.DoFn.WindowParam,
    seen=beam.DoFn.StateParam(SEEN),
    expiry=beam.DoFn.TimerParam(EXPIRY),
  ):
    if seen.read():
      self._duplicates.inc()
      return
    seen.write(True)
    expiry.set(view_window.max_timestamp() + self._expiry_delay_sec)
    yield keyed_view[1]

  @on_timer(EXPIRY)
  def expire(self, seen=beam.DoFn.StateParam(SEEN)):
    seen.clear()


class DropDuplicateViews(beam.PTransform):
  """Windowed ReceivedView -> the same, each eventId once per video and window.

  ``expiry_delay_sec`` is how long after a window's end views may still
  arrive for it.
  """

  def __init__(self, expiry_delay_sec: int):
    super().__init__()
    self._expiry_delay_sec = expiry_delay_sec

  def expand(self, views):
    split = (
      views
      | 'SplitByEventId'
      >> beam.ParDo(_SplitByEventIdFn())
      # A key of two strings has a deterministic coder, as state needs.
      .with_output_types(tuple[tuple[str, str], typing.Any])
      .with_outputs(_WITHOUT_ID, main='with_id')
    )
    first_copies = split.with_id | 'KeepFirstCopy' >> beam.ParDo(
      _FirstCopyOnlyFn(self._expiry_delay_sec)
    )
    return (first_copies, split[_WITHOUT_ID]) | 'Merge' >> beam.Flatten()
