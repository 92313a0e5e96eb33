"""The event rules of DESIGN.md ("Events"), on the pure functions.

Case names refer to ../shared/CASES.md. Times are UTC on 2026-12-03, the
day tests/streams.py uses; that day starts 20,790 days after the epoch, at
1,796,256,000 s.
"""

import datetime
import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from transforms.events import (
  EARLIEST_EVENT_TIME,
  MAX_VIDEO_ID_BYTES,
  EventTimeSource,
  MalformedEvent,
  ViewEvent,
  parse_event_time,
  parse_view,
  resolve_event_time,
)

UTC = datetime.UTC
NOW = datetime.datetime(2026, 12, 3, 18, 0, 0, tzinfo=UTC)
PUBLISH_TIME = datetime.datetime(2026, 12, 3, 17, 59, 0, tzinfo=UTC)
SKEW_SEC = 300
# 18:00:05.250 is 64,805.25 s into the day: 1,796,256,000 + 64,805.25 s.
VIEW_TIME = datetime.datetime(2026, 12, 3, 18, 0, 5, 250_000, tzinfo=UTC)
VIEW_MILLIS = 1_796_320_805_250


def _payload(**fields) -> bytes:
  return json.dumps(fields).encode('utf-8')


def _reason(data: bytes) -> str:
  with pytest.raises(MalformedEvent) as raised:
    parse_view(data)
  return raised.value.reason


def _resolve(
  raw_payload_time=None,
  attributes=None,
  timestamp_attribute=None,
  max_future_skew_sec=SKEW_SEC,
):
  return resolve_event_time(
    raw_payload_time,
    attributes or {},
    timestamp_attribute,
    PUBLISH_TIME,
    NOW,
    max_future_skew_sec,
  )


def _bad_time_detail(raw_payload_time, **kwargs) -> str:
  with pytest.raises(MalformedEvent) as raised:
    _resolve(raw_payload_time, **kwargs)
  assert raised.value.reason == 'bad event time'
  return raised.value.detail


# Message bodies.


def test_a_view_with_every_field_parses():
  event, raw_time = parse_view(
    _payload(
      videoId='v1',
      eventId='e1',
      userId='u1',
      eventTime='2026-12-03T18:00:05.250Z',
      referrer='ignored: unknown fields are allowed',
    )
  )
  assert event == ViewEvent(video_id='v1', event_id='e1', user_id='u1')
  # The event time is handed back unparsed; resolve_event_time decides.
  assert raw_time == '2026-12-03T18:00:05.250Z'


def test_only_video_id_is_required():
  assert parse_view(b'{"videoId": "v1"}') == (ViewEvent('v1', None, None), None)


@pytest.mark.parametrize(
  'data, reason',
  [
    # C8, in the order the case publishes them.
    (b'{"videoId": "v1"', 'not JSON'),
    (b'\xff\xfe\x00', 'not UTF-8'),
    (b'{"video_id": "v1"}', 'missing videoId'),
    (b'[]', 'not a JSON object'),
    (b'{"videoId": 123}', 'videoId not a string'),
    (b'{"videoId": ""}', 'empty videoId'),
    (b'{"videoId": null}', 'videoId not a string'),
    (b'{}', 'missing videoId'),
  ],
)
def test_c8_each_malformed_payload_is_refused_with_its_reason(data, reason):
  assert _reason(data) == reason


def test_c8_the_good_payloads_next_to_the_bad_ones_parse():
  good = [b'{"videoId": "v1"}', b'{"videoId": "v1"}', b'{"videoId": "v2"}']
  video_ids = [parse_view(data)[0].video_id for data in good]
  assert video_ids == ['v1', 'v1', 'v2']


@pytest.mark.parametrize(
  'data',
  [
    b'\xc3\x28',  # a two-byte sequence with a bad continuation byte
    b'{"videoId": "\xed\xa0\x80"}',  # a UTF-8-encoded surrogate
    '{"videoId": "v1"}'.encode('utf-16'),
  ],
)
def test_bytes_that_are_not_utf8_are_malformed(data):
  assert _reason(data) == 'not UTF-8'


@pytest.mark.parametrize(
  'data',
  [
    b'',
    b'   ',
    b"{'videoId': 'v1'}",  # Python, not JSON
    b'{"videoId": "v1",}',
    b'{"videoId": "v1"} {"videoId": "v2"}',
    b'{"videoId": "v1", "eventTime": NaN}',
    b'{"videoId": "v1", "eventTime": Infinity}',
    b'{"videoId": "v1", "eventTime": -Infinity}',
    b'[' * 100_000,  # deep enough to exhaust the recursion limit
  ],
)
def test_text_that_is_not_json_is_malformed(data):
  assert _reason(data) == 'not JSON'


@pytest.mark.parametrize(
  'data', [b'"v1"', b'123', b'null', b'true', b'[{"videoId": "v1"}]']
)
def test_json_that_is_not_an_object_is_malformed(data):
  assert _reason(data) == 'not a JSON object'


@pytest.mark.parametrize(
  'video_id', [123, 1.5, True, None, ['v1'], {'id': 'v1'}]
)
def test_a_video_id_that_is_not_a_string_is_malformed(video_id):
  assert _reason(_payload(videoId=video_id)) == 'videoId not a string'


@pytest.mark.parametrize('video_id', ['', ' ', '\t\n\r', '\u3000', ' \u00a0 '])
def test_an_empty_or_white_space_video_id_is_malformed(video_id):
  # U+3000 (ideographic space) and U+00A0 (no-break space) are white space
  # too, as str.isspace says.
  assert _reason(_payload(videoId=video_id)) == 'empty videoId'


@pytest.mark.parametrize(
  'video_id, size',
  [
    ('a' * MAX_VIDEO_ID_BYTES, 1024),
    ('\u20ac' * 341, 1023),  # the euro sign is 3 bytes in UTF-8
    ('\U0001f600' * 256, 1024),  # an emoji is 4 bytes in UTF-8
  ],
)
def test_a_video_id_of_up_to_1024_utf8_bytes_is_kept(video_id, size):
  assert len(video_id.encode('utf-8')) == size
  assert parse_view(_payload(videoId=video_id))[0].video_id == video_id


@pytest.mark.parametrize(
  'video_id',
  [
    'a' * (MAX_VIDEO_ID_BYTES + 1),
    '\u20ac' * 342,  # 342 characters but 1,026 bytes: bytes are what count
    '\U0001f600' * 257,  # 1,028 bytes
  ],
)
def test_a_video_id_over_1024_utf8_bytes_is_malformed(video_id):
  assert _reason(_payload(videoId=video_id)) == 'videoId too long'


@pytest.mark.parametrize(
  'data',
  [
    b'{"videoId": "\\ud800"}',  # a lone high surrogate
    b'{"videoId": "a\\udfffb"}',  # a lone low surrogate
    b'{"videoId": "\\ude00\\ud83d"}',  # a pair in the wrong order
  ],
)
def test_a_video_id_with_no_utf8_form_is_malformed(data):
  # JSON escapes can spell surrogates that no UTF-8 text holds; such an id
  # could never be written to a row key.
  assert _reason(data) == 'videoId not valid Unicode'


def test_an_escaped_surrogate_pair_is_one_character():
  data = b'{"videoId": "\\ud83d\\ude00"}'
  assert parse_view(data)[0].video_id == '\U0001f600'


@pytest.mark.parametrize(
  'video_id',
  [
    ' a ',
    'A',
    'a',
    'caf\u00e9',  # precomposed e-acute
    'cafe\u0301',  # e followed by a combining acute accent
    'a#b/c%23 d',
    '\U0001f600',
    '\x00',
  ],
)
def test_a_video_id_is_opaque_never_trimmed_folded_or_normalised(video_id):
  assert parse_view(_payload(videoId=video_id))[0].video_id == video_id


def test_event_and_user_ids_are_optional_strings():
  event, _ = parse_view(_payload(videoId='v1', eventId='e1', userId='u1'))
  assert (event.event_id, event.user_id) == ('e1', 'u1')
  event, _ = parse_view(_payload(videoId='v1', eventId=None, userId=None))
  assert (event.event_id, event.user_id) == (None, None)


# Event times.


@pytest.mark.parametrize(
  'value, expected',
  [
    ('2026-12-03T18:00:05.250Z', VIEW_TIME),
    ('2026-12-03t18:00:05.250z', VIEW_TIME),
    ('2026-12-03 18:00:05.250Z', VIEW_TIME),  # RFC 3339 allows a space
    ('2026-12-03T18:00:05Z', VIEW_TIME.replace(microsecond=0)),
    # Offsets are converted to UTC: 19:30:05.25 at +01:30 is 18:00:05.25 Z.
    ('2026-12-03T19:30:05.25+01:30', VIEW_TIME),
    ('2026-12-03T13:00:05.250-05:00', VIEW_TIME),
    ('2026-12-03T18:00:05.250+00:00', VIEW_TIME),
    ('2026-12-03T18:00:05.250-00:00', VIEW_TIME),
    # Across midnight: 01:00:05.25 on the 4th at +07:00 is 18:00:05.25 Z.
    ('2026-12-04T01:00:05.250+07:00', VIEW_TIME),
    # Python keeps microseconds; digits beyond the sixth are dropped.
    ('2026-12-03T18:00:05.250000999Z', VIEW_TIME),
    ('2026-12-03T18:00:05.2500009999999999Z', VIEW_TIME),
    (
      '2026-12-03T18:00:05.123456789Z',
      VIEW_TIME.replace(microsecond=123_456),
    ),
  ],
)
def test_rfc3339_with_a_zone_is_read_as_utc(value, expected):
  parsed = parse_event_time(value)
  assert parsed == expected
  assert parsed.utcoffset() == datetime.timedelta(0)


@pytest.mark.parametrize(
  'value, expected',
  [
    (VIEW_MILLIS, VIEW_TIME),
    (float(VIEW_MILLIS), VIEW_TIME),
    (VIEW_MILLIS + 0.5, VIEW_TIME + datetime.timedelta(microseconds=500)),
    (str(VIEW_MILLIS), VIEW_TIME),
  ],
)
def test_epoch_milliseconds_as_int_float_or_digits(value, expected):
  assert parse_event_time(value) == expected


@pytest.mark.parametrize(
  'value',
  [
    '2026-12-03T18:00:05.250',  # no zone: local to whom?
    '2026-12-03T18:00:05',
    '2026-12-03',  # a date only
    '18:00:05Z',  # a time only
    '2026-12-03T18:00Z',  # no seconds
    '2026-12-03T18:00:05+0100',  # RFC 3339 offsets have a colon
    '2026-12-03T18:00:05 Z',
    '2026-12-03T18:00:05.Z',
    '2026-13-03T18:00:05Z',  # month 13
    '2026-02-30T18:00:05Z',
    '2026-12-03T24:00:00Z',
    '2026-12-03T18:00:05+24:00',
    ' 2026-12-03T18:00:05Z',
    '2026-12-03T18:00:05Z\n',
    'yesterday',
    '',
    '1.5e12',
    '+1796320805250',
    ' 1796320805250',
    '1796320805250\n',
    '\u0661\u0667\u0669\u0666',  # Arabic-Indic digits are not epoch millis
    True,
    False,
    None,
    [VIEW_MILLIS],
    {'millis': VIEW_MILLIS},
    float('nan'),
    float('inf'),
    float('-inf'),
  ],
)
def test_unparseable_event_times_are_malformed(value):
  with pytest.raises(MalformedEvent) as raised:
    parse_event_time(value)
  assert raised.value.reason == 'bad event time'


@pytest.mark.parametrize(
  'value',
  [
    10**400,  # JSON allows integers of any size
    -(10**400),
    10**30,
    '9' * 5000,  # more digits than Python converts to an int by default
    '0001-01-01T00:00:00+01:00',  # before datetime.min once in UTC
    '9999-12-31T23:59:59-01:00',  # after datetime.max once in UTC
  ],
  ids=[
    '400-digit int',
    'negative 400-digit int',
    '31-digit int',
    '5000 digits',
    'year 1 at +01:00',
    'year 9999 at -01:00',
  ],
)
def test_event_times_out_of_range_are_malformed_not_a_crash(value):
  with pytest.raises(MalformedEvent) as raised:
    parse_event_time(value)
  assert raised.value.reason == 'bad event time'


def test_epoch_seconds_sent_as_millis_land_in_1970_and_are_refused():
  # 1,796,320,805 s read as ms is about 20.8 days after the epoch.
  detail = _bad_time_detail(VIEW_MILLIS // 1000)
  assert '1970-01-21' in detail
  assert 'before 2000' in detail


@pytest.mark.parametrize(
  'value',
  [
    '1999-12-31T23:59:59.999999Z',
    '1970-01-01T00:00:00Z',
    0,
    -1,
    '-1',
    # 2000-01-01 is 10,957 days after the epoch: 946,684,800,000 ms.
    946_684_799_999,
  ],
)
def test_event_times_before_2000_are_refused(value):
  assert 'before 2000' in _bad_time_detail(value)


@pytest.mark.parametrize(
  'value',
  ['2000-01-01T00:00:00Z', '2000-01-01T01:00:00+01:00', 946_684_800_000],
)
def test_the_first_instant_of_2000_is_accepted(value):
  assert _resolve(value) == (EARLIEST_EVENT_TIME, EventTimeSource.PAYLOAD)


@pytest.mark.parametrize(
  'value, expected',
  [
    # NOW is 18:00:00 and the skew 300 s: 18:05:00 is the last accepted.
    ('2026-12-03T18:05:00Z', NOW + datetime.timedelta(seconds=300)),
    ('2026-12-03T18:04:59.999Z', NOW + datetime.timedelta(seconds=299.999)),
    ('2026-12-03T17:00:00Z', NOW - datetime.timedelta(hours=1)),
  ],
)
def test_an_event_time_up_to_the_future_skew_ahead_is_accepted(value, expected):
  assert _resolve(value) == (expected, EventTimeSource.PAYLOAD)


@pytest.mark.parametrize(
  'value',
  [
    '2026-12-03T18:05:00.001Z',  # 1 ms past the 300 s allowed
    '2026-12-04T18:00:00Z',
    # 18:05:01 is 65,101 s after midnight: 1,796,321,101 s after the epoch.
    1_796_321_101_000,
  ],
)
def test_an_event_time_further_ahead_than_the_skew_is_refused(value):
  assert 'ahead of the clock' in _bad_time_detail(value)


def test_the_future_skew_is_the_one_given():
  one_second_ahead = '2026-12-03T18:00:01Z'
  assert _resolve(one_second_ahead, max_future_skew_sec=1)[0] == (
    NOW + datetime.timedelta(seconds=1)
  )
  assert 'ahead of the clock' in _bad_time_detail(
    one_second_ahead, max_future_skew_sec=0
  )


@pytest.mark.parametrize('value', [True, False])
def test_a_boolean_event_time_is_refused_not_read_as_0_or_1(value):
  # bool is an int in Python; True would otherwise be 1 ms after the epoch.
  assert _bad_time_detail(value) == repr(value)


# Where the event time comes from.


def test_the_attribute_wins_over_the_payload_and_publish_time():
  assert _resolve(
    '2026-12-03T17:00:00Z',
    attributes={'ts': '2026-12-03T18:00:05.250Z'},
    timestamp_attribute='ts',
  ) == (VIEW_TIME, EventTimeSource.ATTRIBUTE)


def test_the_attribute_may_be_epoch_millis():
  assert _resolve(
    attributes={'ts': str(VIEW_MILLIS)}, timestamp_attribute='ts'
  ) == (VIEW_TIME, EventTimeSource.ATTRIBUTE)


def test_the_payload_is_used_when_the_attribute_is_absent():
  # C1: --timestamp_attribute set, but this message does not carry it.
  assert _resolve(
    '2026-12-03T18:00:05.250Z',
    attributes={'other': 'x'},
    timestamp_attribute='ts',
  ) == (VIEW_TIME, EventTimeSource.PAYLOAD)


def test_an_attribute_is_ignored_unless_it_is_the_one_named():
  assert _resolve(VIEW_MILLIS, attributes={'ts': '2026-12-03T17:00:00Z'}) == (
    VIEW_TIME,
    EventTimeSource.PAYLOAD,
  )


@pytest.mark.parametrize('timestamp_attribute', [None, 'ts'])
def test_publish_time_is_the_last_resort(timestamp_attribute):
  # C1: neither the attribute nor eventTime.
  assert _resolve(timestamp_attribute=timestamp_attribute) == (
    PUBLISH_TIME,
    EventTimeSource.PUBLISH_TIME,
  )


def test_a_json_null_event_time_counts_as_absent():
  _, raw_time = parse_view(b'{"videoId": "v1", "eventTime": null}')
  assert _resolve(raw_time) == (PUBLISH_TIME, EventTimeSource.PUBLISH_TIME)


@pytest.mark.parametrize('bad', ['yesterday', '', '2026-12-03T18:00:05'])
def test_c2_a_bad_attribute_is_a_bad_event_time_not_a_fallback(bad):
  # The payload and the publish time are both usable, but the attribute
  # that was asked for is present and wrong: trusting another source would
  # hide the producer's bug.
  with pytest.raises(MalformedEvent) as raised:
    _resolve(
      '2026-12-03T18:00:05.250Z',
      attributes={'ts': bad},
      timestamp_attribute='ts',
    )
  assert raised.value.reason == 'bad event time'


def test_a_bad_payload_time_is_a_bad_event_time_not_a_fallback():
  with pytest.raises(MalformedEvent) as raised:
    _resolve('yesterday')
  assert raised.value.reason == 'bad event time'


def test_an_attribute_time_is_checked_like_any_other():
  assert 'before 2000' in _bad_time_detail(
    None, attributes={'ts': '1796320805'}, timestamp_attribute='ts'
  )
  assert 'ahead of the clock' in _bad_time_detail(
    None, attributes={'ts': '2026-12-04T00:00:00Z'}, timestamp_attribute='ts'
  )


# Whatever arrives, the only failure is MalformedEvent.

# Any code point, lone surrogates included, and often the awkward ones.
_any_text = st.text(
  st.characters(exclude_categories=())
  | st.sampled_from(['\ud800', '\udfff', '#', ' ', '\x00'])
)
_json_values = st.recursive(
  st.none() | st.booleans() | st.integers() | st.floats() | _any_text,
  lambda children: (
    st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4)
  ),
  max_leaves=12,
)
# Objects shaped like views, so the checks past "is it an object" run too.
_view_like = st.fixed_dictionaries(
  {},
  optional={
    'videoId': _json_values | _any_text,
    'eventId': _json_values,
    'userId': _json_values,
    'eventTime': _json_values,
  },
)


def _parses_or_is_malformed(data: bytes) -> None:
  try:
    event, _ = parse_view(data)
  except MalformedEvent as e:
    assert e.reason
    return
  assert isinstance(event.video_id, str)
  assert event.video_id.strip()
  assert len(event.video_id.encode('utf-8')) <= MAX_VIDEO_ID_BYTES


@given(st.binary(max_size=200))
@example(b'\xff\xfe\x00')
@example(b'{"videoId": "\\ud800"}')
def test_arbitrary_bytes_parse_or_are_malformed(data):
  _parses_or_is_malformed(data)


@given(_json_values | _view_like, st.booleans())
@example({'videoId': 'v1', 'eventTime': 10**400}, True)
def test_arbitrary_json_parses_or_is_malformed(value, ensure_ascii):
  text = json.dumps(value, ensure_ascii=ensure_ascii)
  # Without ASCII escapes, lone surrogates reach the bytes as they would
  # from a careless producer.
  _parses_or_is_malformed(text.encode('utf-8', errors='surrogatepass'))


@given(
  _json_values | st.from_regex(r'-?[0-9]{1,30}', fullmatch=True),
  st.dictionaries(st.sampled_from(['ts', 'other']), st.text(max_size=40)),
)
@example(10**400, {})
@example(None, {'ts': '9' * 5000})
@example(None, {'ts': '0001-01-01T00:00:00+01:00'})
def test_arbitrary_event_times_resolve_or_are_malformed(raw_time, attributes):
  try:
    event_time, source = _resolve(
      raw_time, attributes=attributes, timestamp_attribute='ts'
    )
  except MalformedEvent as e:
    assert e.reason == 'bad event time'
    return
  assert EARLIEST_EVENT_TIME <= event_time
  assert event_time <= NOW + datetime.timedelta(seconds=SKEW_SEC)
  assert source in (
    EventTimeSource.ATTRIBUTE,
    EventTimeSource.PAYLOAD,
    EventTimeSource.PUBLISH_TIME,
  )


@pytest.mark.parametrize('odd_id', [{'a': 1}, ['e1'], 1.5, True])
def test_an_odd_optional_id_is_ignored_not_fatal(odd_id):
  # Only videoId and the event time can make a view malformed (DESIGN.md);
  # an eventId that is neither a string nor an integer is simply unusable.
  event, _ = parse_view(_payload(videoId='v1', eventId=odd_id, userId=odd_id))
  assert event == ViewEvent('v1', None, None)


def test_an_integer_event_id_is_kept_as_text():
  event, _ = parse_view(_payload(videoId='v1', eventId=42))
  assert event.event_id == '42'
