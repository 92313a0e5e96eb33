"""CountViewsPerWindow: fixed event-time windows, accumulating panes.

Counting goes through ``Count.PerKey``, a CombinePerKey: each worker adds up
its own views before the shuffle, so one number per (video, window, bundle)
crosses the network instead of one record per view. That is the
pre-aggregation this project exists to show.
"""

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.transforms import trigger, window
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
  ReadModifyWriteStateSpec,
  TimerSpec,
  on_timer,
)

from transforms import accounting
from transforms.dedup import DropDuplicateViews
from transforms.lateness import LATENESS_MARGIN_SEC


def view_windowing(
  window_size_sec: int, allowed_lateness_sec: int, early_firing_sec: int | None
) -> beam.WindowInto:
  """Panes at the watermark, for each late view, and optionally early.

  Accumulating: every pane carries the window's whole count so far, so a
  write of the newest pane is always the best answer, and a lost or
  repeated pane is harmless. The allowed lateness given to Beam is wider
  than the user's by a margin; DropTooLateViews enforces the user's.
  """
  early = (
    trigger.AfterProcessingTime(early_firing_sec) if early_firing_sec else None
  )
  return beam.WindowInto(
    window.FixedWindows(window_size_sec),
    trigger=trigger.AfterWatermark(early=early, late=trigger.AfterCount(1)),
    accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
    allowed_lateness=allowed_lateness_sec + LATENESS_MARGIN_SEC,
  )


class _CountAsCountedFn(beam.DoFn):
  """Counts each view once, as it enters the window that will hold it."""

  def setup(self):
    self._counted = accounting.counter(accounting.COUNTED)

  def process(self, view):
    self._counted.inc()
    yield view.event.video_id, None


class _DropUnchangedPanesFn(beam.DoFn):
  """(video, count) -> (video, count) only when the count went up.

  With early firings, the on-time pane often repeats the last early pane.
  Rewriting it would be harmless (writes are monotone) but wasted.
  """

  LAST_COUNT = ReadModifyWriteStateSpec('last_count', VarIntCoder())
  # Runners drop the state of an expired window themselves; the
  # DirectRunner does not, so a timer clears it.
  EXPIRY = TimerSpec('expiry', TimeDomain.WATERMARK)

  def __init__(self, expiry_delay_sec: int):
    self._expiry_delay_sec = expiry_delay_sec

  def process(
    self,
    video_count,
    pane_window=beam.DoFn.WindowParam,
    last_count=beam.DoFn.StateParam(LAST_COUNT),
    expiry=beam.DoFn.TimerParam(EXPIRY),
  ):
    _, count = video_count
    previous = last_count.read()
    if previous is None:
      expiry.set(pane_window.max_timestamp() + self._expiry_delay_sec)
    if previous is None or count > previous:
      last_count.write(count)
      yield video_count

  @on_timer(EXPIRY)
  def expire(self, last_count=beam.DoFn.StateParam(LAST_COUNT)):
    last_count.clear()


class CountViewsPerWindow(beam.PTransform):
  """ReceivedView -> (video_id, views so far), one per pane, in its window.

  Each view is counted once: copies of an eventId already counted in its
  video and window are dropped as duplicates first.
  """

  def __init__(
    self,
    window_size_sec: int,
    allowed_lateness_sec: int,
    early_firing_sec: int | None = None,
  ):
    super().__init__()
    self._window_size_sec = window_size_sec
    self._allowed_lateness_sec = allowed_lateness_sec
    self._early_firing_sec = early_firing_sec

  def expand(self, views):
    # How long after its end a window may still receive views.
    open_after_end_sec = self._allowed_lateness_sec + LATENESS_MARGIN_SEC
    counts = (
      views
      | 'FixedWindows'
      >> view_windowing(
        self._window_size_sec,
        self._allowed_lateness_sec,
        self._early_firing_sec,
      )
      | 'DropDuplicateViews' >> DropDuplicateViews(open_after_end_sec)
      | 'KeyByVideo' >> beam.ParDo(_CountAsCountedFn())
      | 'CountPerVideo' >> beam.combiners.Count.PerKey()
    )
    if not self._early_firing_sec:
      # Without early panes every pane adds at least one view.
      return counts
    return counts | 'DropUnchangedPanes' >> beam.ParDo(
      _DropUnchangedPanesFn(open_after_end_sec)
    )
