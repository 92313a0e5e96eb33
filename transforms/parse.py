"""ParseViewEvents: Pub/Sub messages in, timestamped views and dead letters out.

Event time is resolved here rather than by ``ReadFromPubSub``'s
``timestamp_attribute``: on the DirectRunner a single unparseable attribute
makes the read raise for the whole pull, again and again, and the views in
that pull are lost because the runner acknowledged them already.
"""

import datetime
import logging
import time
from collections.abc import Callable
from typing import NamedTuple

import apache_beam as beam
from apache_beam.utils.timestamp import Timestamp

from transforms import accounting
from transforms.events import (
  EventTimeSource,
  MalformedEvent,
  ViewEvent,
  parse_view,
  resolve_event_time,
)

_LOGGER = logging.getLogger(__name__)

DEAD_LETTER_TAG = 'dead_letter'


class ReceivedView(NamedTuple):
  """A view that parsed, with the message it came in for dead-lettering."""

  event: ViewEvent
  data: bytes
  attributes: dict[str, str]


class DeadLetter(NamedTuple):
  """A message that was not counted: its original bytes and why."""

  data: bytes
  attributes: dict[str, str]
  reason: str
  detail: str


class _ParseViewEventFn(beam.DoFn):
  """PubsubMessage -> TimestampedValue(ReceivedView), or a DeadLetter."""

  def __init__(
    self,
    timestamp_attribute: str | None,
    max_future_skew_sec: float,
    clock: Callable[[], float],
  ):
    self._timestamp_attribute = timestamp_attribute
    self._max_future_skew_sec = max_future_skew_sec
    self._clock = clock

  def setup(self):
    self._read = accounting.counter(accounting.READ)
    self._malformed = accounting.counter(accounting.MALFORMED)
    self._time_sources = {
      source: accounting.event_time_counter(source)
      for source in (
        EventTimeSource.ATTRIBUTE,
        EventTimeSource.PAYLOAD,
        EventTimeSource.PUBLISH_TIME,
      )
    }
    self._malformed_log = accounting.ThrottledLog(
      _LOGGER, 'malformed messages dead-lettered'
    )

  def process(self, message, publish_time=beam.DoFn.TimestampParam):
    self._read.inc()
    data = message.data or b''
    attributes = dict(message.attributes or {})
    try:
      event, raw_event_time = parse_view(data)
      event_time, source = resolve_event_time(
        raw_event_time,
        attributes,
        self._timestamp_attribute,
        publish_time.to_utc_datetime(has_tz=True),
        datetime.datetime.fromtimestamp(self._clock(), datetime.UTC),
        self._max_future_skew_sec,
      )
    except MalformedEvent as e:
      self._malformed.inc()
      self._malformed_log.record(str(e))
      yield beam.pvalue.TaggedOutput(
        DEAD_LETTER_TAG, DeadLetter(data, attributes, e.reason, e.detail)
      )
      return
    self._time_sources[source].inc()
    yield beam.window.TimestampedValue(
      ReceivedView(event, data, attributes),
      Timestamp.from_utc_datetime(event_time),
    )


class ParseViewEvents(beam.PTransform):
  """Parses and validates view events (DESIGN.md, "Events").

  Input: PubsubMessage, timestamped with its publish time.
  Outputs: the main output of ReceivedView timestamped with the event time,
  and ``dead_letter``, DeadLetter records for malformed messages.
  """

  def __init__(
    self,
    timestamp_attribute: str | None = None,
    max_future_skew_sec: float = 300,
    clock: Callable[[], float] = time.time,
  ):
    super().__init__()
    self._fn = _ParseViewEventFn(
      timestamp_attribute, max_future_skew_sec, clock
    )

  def expand(self, messages):
    return messages | 'ParseAndValidate' >> beam.ParDo(self._fn).with_outputs(
      DEAD_LETTER_TAG, main='views'
    )
