"""What one Pub/Sub message means: a view event, or the reason it is not.

These are plain functions with no Beam in them, so the rules of DESIGN.md
("Events") can be tested directly and reused by the tools.
"""

import datetime
import json
import math
import re
from collections.abc import Mapping
from typing import NamedTuple

MAX_VIDEO_ID_BYTES = 1024

# Epoch seconds sent where milliseconds were meant land in January 1970;
# anything before this is treated as a unit mistake, not a real view.
EARLIEST_EVENT_TIME = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)

# ASCII digits only, and \Z rather than $, which also matches before a
# trailing newline.
_RFC3339 = re.compile(
  r'^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})'
  r'(?:\.(?P<fraction>\d+))?(?P<zone>[Zz]|[+-]\d{2}:\d{2})\Z',
  re.ASCII,
)
_DIGITS = re.compile(r'^-?\d+\Z', re.ASCII)


class MalformedEvent(ValueError):
  """The message cannot be counted; ``reason`` is short and stable."""

  def __init__(self, reason: str, detail: str = ''):
    super().__init__(f'{reason}: {detail}' if detail else reason)
    self.reason = reason
    self.detail = detail


class ViewEvent(NamedTuple):
  video_id: str
  event_id: str | None
  user_id: str | None


class EventTimeSource:
  ATTRIBUTE = 'attribute'
  PAYLOAD = 'payload'
  PUBLISH_TIME = 'publish_time'


def parse_view(data: bytes) -> tuple[ViewEvent, object]:
  """Decodes a message body into a ViewEvent and its raw ``eventTime``.

  Raises MalformedEvent. The raw event time is returned unparsed (None when
  absent) because whether it is used depends on the message attributes.
  """
  try:
    text = data.decode('utf-8')
  except UnicodeDecodeError as e:
    raise MalformedEvent('not UTF-8', str(e)) from e
  try:
    payload = _DECODER.decode(text)
  except (ValueError, RecursionError) as e:
    raise MalformedEvent('not JSON', str(e)[:200]) from e
  if not isinstance(payload, dict):
    raise MalformedEvent('not a JSON object', type(payload).__name__)
  event = ViewEvent(
    video_id=_video_id(payload),
    event_id=_optional_string(payload, 'eventId'),
    user_id=_optional_string(payload, 'userId'),
  )
  return event, payload.get('eventTime')


def _reject_constant(name: str):
  # json.loads accepts NaN and Infinity, which are not JSON.
  raise ValueError(f'{name} is not valid JSON')


# One decoder for every message: json.loads with an argument builds a new
# one per call, a measurable share of a backfill's time.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _video_id(payload: dict) -> str:
  if 'videoId' not in payload:
    raise MalformedEvent('missing videoId')
  video_id = payload['videoId']
  if not isinstance(video_id, str):
    raise MalformedEvent('videoId not a string', type(video_id).__name__)
  if not video_id.strip():
    raise MalformedEvent('empty videoId')
  try:
    size = len(video_id.encode('utf-8'))
  except UnicodeEncodeError as e:
    # A lone surrogate escape such as "\ud800" decodes to a str that has no
    # UTF-8 form, so it can never be written to a row key.
    raise MalformedEvent('videoId not valid Unicode', str(e)) from e
  if size > MAX_VIDEO_ID_BYTES:
    raise MalformedEvent('videoId too long', f'{size} bytes')
  return video_id


def _optional_string(payload: dict, field: str) -> str | None:
  """A string or integer id; any other value is treated as absent.

  DESIGN.md makes a view malformed only for its videoId or its event time,
  so an odd optional id must not cost the view; it just cannot dedup.
  """
  value = payload.get(field)
  if isinstance(value, bool) or not isinstance(value, str | int):
    return None
  return str(value)


def resolve_event_time(
  raw_payload_time: object,
  attributes: Mapping[str, str],
  timestamp_attribute: str | None,
  publish_time: datetime.datetime | None,
  now: datetime.datetime,
  max_future_skew_sec: float,
) -> tuple[datetime.datetime, str]:
  """Picks the event time and says where it came from.

  Order: the ``timestamp_attribute`` when set and present, else the payload's
  ``eventTime``, else the publish time. Raises MalformedEvent('bad event
  time') when the chosen value cannot be trusted.
  """
  if timestamp_attribute and timestamp_attribute in attributes:
    source = EventTimeSource.ATTRIBUTE
    event_time = parse_event_time(attributes[timestamp_attribute])
  elif raw_payload_time is not None:
    source = EventTimeSource.PAYLOAD
    event_time = parse_event_time(raw_payload_time)
  elif publish_time is None:
    # An archived view (a backfill) has no publish time to fall back on.
    raise MalformedEvent('bad event time', 'no eventTime and no publish time')
  else:
    return publish_time, EventTimeSource.PUBLISH_TIME
  if event_time < EARLIEST_EVENT_TIME:
    raise MalformedEvent(
      'bad event time', f'{event_time.isoformat()} is before 2000'
    )
  latest = now + datetime.timedelta(seconds=max_future_skew_sec)
  if event_time > latest:
    raise MalformedEvent(
      'bad event time',
      f'{event_time.isoformat()} is more than '
      f'{max_future_skew_sec:g}s ahead of the clock',
    )
  return event_time, source


def parse_event_time(value: object) -> datetime.datetime:
  """RFC 3339 with a zone, or epoch milliseconds as a number or digits."""
  if isinstance(value, bool):
    raise MalformedEvent('bad event time', repr(value))
  if isinstance(value, int | float):
    return _from_epoch_millis(value)
  if not isinstance(value, str):
    raise MalformedEvent('bad event time', type(value).__name__)
  if _DIGITS.match(value):
    try:
      millis = int(value)
    except ValueError as e:
      # More digits than int() converts (4,300): far out of range anyway.
      raise MalformedEvent(
        'bad event time', f'{len(value)} digits is out of range'
      ) from e
    return _from_epoch_millis(millis)
  match = _RFC3339.match(value)
  if not match:
    raise MalformedEvent(
      'bad event time', f'{value[:64]!r} is not RFC 3339 with a zone'
    )
  # Python keeps microseconds; finer digits are dropped, as Pub/Sub does.
  fraction = (match['fraction'] or '')[:6].ljust(6, '0')
  zone = 'Z' if match['zone'] in 'Zz' else match['zone']
  try:
    return datetime.datetime.fromisoformat(
      f'{match["date"]}T{match["time"]}.{fraction}{zone}'
    ).astimezone(datetime.UTC)
  except (ValueError, OverflowError) as e:
    # OverflowError: a valid offset that moves year 1 or 9999 out of range.
    raise MalformedEvent('bad event time', str(e)) from e


def _from_epoch_millis(millis: float) -> datetime.datetime:
  # An int (JSON has no size limit) is not checked here: math.isfinite
  # raises OverflowError for one beyond a float's range.
  if isinstance(millis, float) and not math.isfinite(millis):
    raise MalformedEvent('bad event time', repr(millis))
  try:
    return datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + (
      datetime.timedelta(milliseconds=millis)
    )
  except OverflowError as e:
    raise MalformedEvent('bad event time', f'{millis!r} out of range') from e
