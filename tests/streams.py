"""Builders for test inputs: Pub/Sub messages and TestStreams of them.

Times are UTC on one fixed day, written as 'HH:MM:SS' like CASES.md.
"""

import datetime
import json

from apache_beam.io.gcp.pubsub import PubsubMessage
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.utils.timestamp import Timestamp

DAY = datetime.date(2026, 12, 3)
SUBSCRIPTION = 'projects/test-project/subscriptions/views'


def at(hhmmss: str) -> datetime.datetime:
  clock = datetime.time.fromisoformat(hhmmss)
  return datetime.datetime.combine(DAY, clock, tzinfo=datetime.UTC)


def ts(hhmmss: str) -> Timestamp:
  return Timestamp.from_utc_datetime(at(hhmmss))


def clock_at(hhmmss: str):
  """A processing clock stopped at a time of the test day."""
  seconds = at(hhmmss).timestamp()
  return lambda: seconds


def view(
  video_id,
  event_time: str | None = None,
  event_id=None,
  attributes=None,
  **fields,
) -> PubsubMessage:
  payload = {'videoId': video_id, **fields}
  if event_time is not None:
    payload['eventTime'] = at(event_time).isoformat().replace('+00:00', 'Z')
  if event_id is not None:
    payload['eventId'] = event_id
  return PubsubMessage(json.dumps(payload).encode(), attributes or {})


def raw(data: bytes, attributes=None) -> PubsubMessage:
  return PubsubMessage(data, attributes or {})


def options(**flags) -> PipelineOptions:
  """Pipeline options as the command line would give them."""
  flags.setdefault('input_subscription', SUBSCRIPTION)
  flags.setdefault('bigtable_instance_id', 'test-instance')
  flags.setdefault('project', 'test-project')
  argv = [f'--{name}={value}' for name, value in flags.items()]
  return PipelineOptions(argv, streaming=True)


def stream(*steps) -> TestStream:
  """steps: ('watermark', 'HH:MM:SS'), or (publish time, [messages])."""
  test_stream = TestStream()
  for kind, arg in steps:
    if kind == 'watermark':
      test_stream = test_stream.advance_watermark_to(ts(arg))
    else:
      test_stream = test_stream.add_elements(
        [_timestamped(message, ts(kind)) for message in arg]
      )
  return test_stream.advance_watermark_to_infinity()


def _timestamped(message, publish_time):
  from apache_beam.transforms.window import TimestampedValue

  return TimestampedValue(message, publish_time)
