"""The exact counts a correct pipeline must store for what was published.

The rules are DESIGN.md's: one count per view in the fixed event-time window
holding its eventTime, an eventId counted once per video and window, and
malformed events not counted (transforms.events decides, as in the
pipeline). Only events that carry their own eventTime are predictable.
"""

import collections
import datetime
from typing import NamedTuple

from transforms import events, schema
from viewcounts import times

DEFAULT_MAX_FUTURE_SKEW_SEC = 300


class CountableEvent(NamedTuple):
  video_id: str
  event_time: datetime.datetime
  event_id: str | None


class TruthCounter:
  """Counts views per (video, window), once per eventId when one is given."""

  def __init__(self, window_size_sec: int):
    if window_size_sec < 1:
      raise ValueError(f'window size must be positive: {window_size_sec}')
    self.window_size_sec = window_size_sec
    self._counts = collections.Counter()
    # Only views that carry an eventId are remembered, so the synthetic load
    # (unique ids by construction) can pass None and use no memory per view.
    self._seen = set()

  def add(
    self,
    video_id: str,
    event_time: datetime.datetime,
    event_id: str | None = None,
  ) -> bool:
    """Counts the view; False when its eventId was already counted."""
    window = (video_id, times.window_start(event_time, self.window_size_sec))
    if event_id is not None:
      if (window, event_id) in self._seen:
        return False
      self._seen.add((window, event_id))
    self._counts[window] += 1
    return True

  def rows(self) -> list[schema.WindowCount]:
    """The expected rows, ordered by video then window start."""
    return [
      schema.WindowCount(video_id, start, self.window_size_sec, views)
      for (video_id, start), views in sorted(self._counts.items())
    ]

  @property
  def total(self) -> int:
    return sum(self._counts.values())


def countable_event(
  data: bytes,
  now: datetime.datetime,
  max_future_skew_sec: float = DEFAULT_MAX_FUTURE_SKEW_SEC,
) -> CountableEvent | None:
  """The event in data when the pipeline counts it by its own eventTime.

  None when the data is malformed or has no eventTime (its window would
  then depend on the publish time). The pipeline's own parsing decides, so
  the truth cannot drift from it; now stands for the pipeline's clock in the
  future-skew check, and attributes are not considered.
  """
  try:
    event, raw_event_time = events.parse_view(data)
    if raw_event_time is None:
      return None
    event_time, _ = events.resolve_event_time(
      raw_event_time, {}, None, now, now, max_future_skew_sec
    )
  except events.MalformedEvent:
    return None
  return CountableEvent(event.video_id, event_time, event.event_id)


def merge(*truths: list[schema.WindowCount]) -> list[schema.WindowCount]:
  """The truth of several publish runs into one table, summed per window."""
  views = collections.Counter()
  for rows in truths:
    for row in rows:
      views[row._replace(views=0)] += row.views
  return [row._replace(views=total) for row, total in sorted(views.items())]
