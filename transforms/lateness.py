"""DropTooLateViews: the one place where a view is judged too late.

Beam's GroupByKey drops data behind the watermark by more than the allowed
lateness without a trace, and a Python DoFn cannot read the watermark. This
gate learns it from event-time timers instead: views are spread over a few
shard keys, and each shard keeps one timer armed at the next window deadline
(window end + allowed lateness). A firing at T proves the watermark passed T,
so every later view whose deadline is at or before T is too late; it is
counted and dead-lettered here.

A shard knows nothing of the watermark until its first timer fires, and
its knowledge lags while the watermark races ahead (an old backlog). The
processing clock fills in: the Pub/Sub watermark never runs ahead of it.
Before its first firing a shard judges a view too late when its deadline
is behind the clock, and after it, also when the deadline is more than
``LATENESS_MARGIN_SEC`` behind, since such a view would be one margin from
being dropped unseen downstream. On the DirectRunner, whose watermark is
the clock, both agree with the watermark; on Dataflow they make a backlog
older than the allowed lateness too late, where the watermark alone might
still count it.

The count downstream keeps windows open longer than the allowed lateness
(see ``count.open_after_end_sec``), so a view this gate let through is never
dropped by a keyed step while it travels there and the watermark moves on.
"""

import logging
import time
import typing
import zlib
from collections.abc import Callable

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
  ReadModifyWriteStateSpec,
  TimerSpec,
  on_timer,
)
from apache_beam.utils.timestamp import Timestamp

from transforms import accounting
from transforms.parse import DEAD_LETTER_TAG, DeadLetter

_LOGGER = logging.getLogger(__name__)

TOO_LATE_REASON = 'too late'
LATENESS_MARGIN_SEC = 120

# Enough keys for the gate to run in parallel on Dataflow; each costs one
# timer firing per window.
_SHARDS = 16
_MICROS = 1_000_000


def _keyed_by_shard(view) -> tuple[int, typing.Any]:
  return zlib.crc32(view.event.video_id.encode('utf-8')) % _SHARDS, view


class _TooLateGateFn(beam.DoFn):
  """(shard, ReceivedView) -> ReceivedView, or a DeadLetter when too late.

  State per shard, all in microseconds of event time: the latest deadline
  the watermark is known to have passed, the deadline the timer is armed
  at, and the latest deadline seen. The timer steps one window at a time up
  to the latest deadline a valid view could still have (the clock plus the
  future skew plus one window and the lateness), so the shard never goes
  blind during a quiet spell, and a watermark at infinity (a drain, or the
  end of a test stream) ends the stepping.
  """

  CLOSED_THROUGH = ReadModifyWriteStateSpec('closed_through', VarIntCoder())
  ARMED_AT = ReadModifyWriteStateSpec('armed_at', VarIntCoder())
  LATEST_DEADLINE = ReadModifyWriteStateSpec('latest_deadline', VarIntCoder())
  WATERMARK_PROBE = TimerSpec('watermark_probe', TimeDomain.WATERMARK)

  def __init__(
    self,
    window_size_sec: int,
    allowed_lateness_sec: int,
    max_future_skew_sec: float,
    clock: Callable[[], float],
  ):
    self._window_micros = window_size_sec * _MICROS
    self._lateness_micros = allowed_lateness_sec * _MICROS
    self._skew_micros = int(max_future_skew_sec * _MICROS)
    self._margin_micros = LATENESS_MARGIN_SEC * _MICROS
    self._clock = clock

  def setup(self):
    self._too_late = accounting.counter(accounting.TOO_LATE)
    self._too_late_log = accounting.ThrottledLog(
      _LOGGER, 'views too late to count dead-lettered'
    )

  def _deadline(self, timestamp: Timestamp) -> int:
    window_end = (
      timestamp.micros // self._window_micros + 1
    ) * self._window_micros
    return window_end + self._lateness_micros

  def _is_too_late(self, deadline: int, closed: int | None) -> bool:
    now = self._clock() * _MICROS
    if closed is None:
      # No deadline has passed here yet, so this shard does not know the
      # watermark; judge by the clock, which the watermark never passes.
      return deadline < now
    return deadline <= closed or deadline + self._margin_micros < now

  def process(
    self,
    keyed_view,
    timestamp=beam.DoFn.TimestampParam,
    closed_through=beam.DoFn.StateParam(CLOSED_THROUGH),
    armed_at=beam.DoFn.StateParam(ARMED_AT),
    latest_deadline=beam.DoFn.StateParam(LATEST_DEADLINE),
    probe=beam.DoFn.TimerParam(WATERMARK_PROBE),
  ):
    _, view = keyed_view
    deadline = self._deadline(timestamp)
    if self._is_too_late(deadline, closed_through.read()):
      self._too_late.inc()
      detail = (
        f'event time {timestamp.to_rfc3339()}: its window closed for '
        f'late data at {Timestamp(micros=deadline).to_rfc3339()}'
      )
      self._too_late_log.record(detail)
      yield beam.pvalue.TaggedOutput(
        DEAD_LETTER_TAG,
        DeadLetter(view.data, view.attributes, TOO_LATE_REASON, detail),
      )
      return
    latest_deadline.write(max(latest_deadline.read() or deadline, deadline))
    armed = armed_at.read()
    if armed is None or deadline < armed:
      probe.set(Timestamp(micros=deadline))
      armed_at.write(deadline)
    yield view

  @on_timer(WATERMARK_PROBE)
  def on_watermark_passed(
    self,
    fired_at=beam.DoFn.TimestampParam,
    closed_through=beam.DoFn.StateParam(CLOSED_THROUGH),
    armed_at=beam.DoFn.StateParam(ARMED_AT),
    latest_deadline=beam.DoFn.StateParam(LATEST_DEADLINE),
    probe=beam.DoFn.TimerParam(WATERMARK_PROBE),
  ):
    passed = fired_at.micros
    closed_through.write(max(closed_through.read() or passed, passed))
    horizon = max(
      latest_deadline.read() or passed,
      int(self._clock() * _MICROS)
      + self._skew_micros
      + self._window_micros
      + self._lateness_micros,
    )
    next_deadline = passed + self._window_micros
    if next_deadline <= horizon:
      probe.set(Timestamp(micros=next_deadline))
      armed_at.write(next_deadline)
    else:
      armed_at.clear()


class DropTooLateViews(beam.PTransform):
  """Splits views into those still countable and those too late.

  Input: ReceivedView timestamped with its event time.
  Outputs: the main output of ReceivedView, and ``dead_letter``.
  """

  def __init__(
    self,
    window_size_sec: int,
    allowed_lateness_sec: int,
    max_future_skew_sec: float = 300,
    clock: Callable[[], float] = time.time,
  ):
    super().__init__()
    self._fn = _TooLateGateFn(
      window_size_sec, allowed_lateness_sec, max_future_skew_sec, clock
    )

  def expand(self, views):
    return (
      views
      # An int key has a deterministic coder, as state and timers need.
      | 'KeyByShard' >> beam.Map(_keyed_by_shard)
      | 'GateOnWatermark'
      >> beam.ParDo(self._fn).with_outputs(DEAD_LETTER_TAG, main='views')
    )
