"""The Bigtable layout of DESIGN.md ("Bigtable"): keys, counts, versions."""

import datetime
import struct

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from transforms import schema

UTC = datetime.UTC
W10_00 = datetime.datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)

# Any text that has a UTF-8 form (no lone surrogates, category Cs), with the
# characters that break naive keys drawn often.
_video_ids = st.text(
  st.characters(exclude_categories=['Cs'])
  | st.sampled_from(['#', '/', '%', ' ', '\x00', '\n', '\x7f', '\U0001f600']),
  min_size=1,
  max_size=40,
)
_window_starts = st.datetimes(
  min_value=datetime.datetime(2000, 1, 1),
  max_value=datetime.datetime(9999, 12, 31, 23, 0),
  timezones=st.just(UTC),
).map(lambda start: start.replace(microsecond=0))
_window_sizes = st.integers(min_value=1, max_value=7 * 24 * 3600)
_counts = st.integers(min_value=1, max_value=2**53)


def test_a_row_key_spells_video_window_start_and_granularity():
  assert schema.row_key('v1', W10_00, 60) == b'v1#2026-12-03T10:00:00Z#60s'


@pytest.mark.parametrize(
  'video_id, encoded',
  [
    ('a#b', b'a%23b'),
    ('a%23b', b'a%2523b'),
    ('a/b c', b'a%2Fb%20c'),
    ('\U0001f600', b'%F0%9F%98%80'),  # the emoji's 4 UTF-8 bytes
    ('Az09-._~', b'Az09-._~'),  # the unreserved set stays as it is
  ],
)
def test_a_video_id_is_percent_encoded_byte_by_byte(video_id, encoded):
  assert schema.video_prefix(video_id) == encoded + b'#'


def test_a_window_start_with_an_offset_is_keyed_in_utc():
  at_plus_one = W10_00.astimezone(
    datetime.timezone(datetime.timedelta(hours=1))
  )
  assert schema.row_key('v1', at_plus_one, 60) == schema.row_key(
    'v1', W10_00, 60
  )


@given(_video_ids, _window_starts, _window_sizes)
def test_parse_row_key_inverts_row_key(video_id, window_start, size):
  key = schema.row_key(video_id, window_start, size)
  assert schema.parse_row_key(key) == (video_id, window_start, size)


@given(_video_ids, _window_starts)
def test_a_row_key_is_printable_ascii(video_id, window_start):
  # So cbt, the console and shell scripts show and accept it as it is.
  key = schema.row_key(video_id, window_start, 60)
  assert all(0x21 <= byte <= 0x7E for byte in key)


@given(_video_ids, _video_ids, _window_starts, _window_starts)
def test_different_videos_never_share_a_row_key(a, b, start_a, start_b):
  assume(a != b)
  assert schema.row_key(a, start_a, 60) != schema.row_key(b, start_b, 60)


@given(_video_ids, _video_ids, _window_starts, _window_sizes)
def test_a_video_prefix_holds_no_row_of_another_video(a, b, start, size):
  assume(a != b)
  assert not schema.row_key(b, start, size).startswith(schema.video_prefix(a))


@pytest.mark.parametrize(
  'a, b',
  [
    ('a', 'a#b'),
    ('a', 'a%23b'),
    ('a%23b', 'a#b'),
    ('a', 'a#2026-12-03T10:00:00Z#60s'),  # b looks like one of a's keys
    ('a', 'A'),
    ('a', 'a '),
    ('a', ' a'),
    ('a', 'ab'),
    ('a', 'a/b'),
    ('caf\u00e9', 'cafe\u0301'),  # the same word, composed and decomposed
    ('\U0001f600', '\U0001f600\U0001f600'),
  ],
)
def test_a_query_for_one_video_never_sees_another(a, b):
  # Both ways round: a's range holds no row of b, and b's none of a.
  row_of_a = schema.row_key(a, W10_00, 60)
  row_of_b = schema.row_key(b, W10_00, 60)
  assert row_of_a != row_of_b
  assert not row_of_b.startswith(schema.video_prefix(a))
  assert not row_of_a.startswith(schema.video_prefix(b))
  assert row_of_a.startswith(schema.video_prefix(a))


@given(_video_ids, st.lists(_window_starts, min_size=2, max_size=10))
def test_keys_of_one_video_sort_by_window_start(video_id, starts):
  keys = [schema.row_key(video_id, start, 60) for start in starts]
  assert [schema.parse_row_key(key)[1] for key in sorted(keys)] == sorted(
    starts
  )


@pytest.mark.parametrize(
  'views, encoded',
  [
    (1, b'\x00\x00\x00\x00\x00\x00\x00\x01'),
    # 258 = 1 * 256 + 2: the low byte last (big-endian).
    (258, b'\x00\x00\x00\x00\x00\x00\x01\x02'),
    (2**63 - 1, b'\x7f\xff\xff\xff\xff\xff\xff\xff'),
    # Signed: -1 is all ones in two's complement.
    (-1, b'\xff\xff\xff\xff\xff\xff\xff\xff'),
  ],
)
def test_a_count_is_a_big_endian_signed_64_bit_integer(views, encoded):
  assert schema.encode_count(views) == encoded
  assert schema.decode_count(encoded) == views


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_count_encoding_matches_struct(views):
  assert schema.encode_count(views) == struct.pack('>q', views)
  assert schema.decode_count(schema.encode_count(views)) == views


@pytest.mark.parametrize('views', [2**63, -(2**63) - 1])
def test_a_count_beyond_64_bits_is_refused_not_wrapped(views):
  with pytest.raises(struct.error):
    schema.encode_count(views)


@given(_counts)
def test_a_version_is_a_whole_millisecond(views):
  # Bigtable keeps cell timestamps in milliseconds; finer digits would be
  # dropped and two counts could share one version (C5).
  assert schema.count_version_micros(views) % 1000 == 0


@given(_counts, _counts)
def test_a_higher_count_always_gets_a_higher_version(smaller, larger):
  assume(smaller < larger)
  assert schema.count_version_micros(smaller) < schema.count_version_micros(
    larger
  )


def test_the_version_is_the_count_in_milliseconds():
  # 3 views -> 3 ms -> 3,000 µs after the epoch.
  assert schema.count_version_micros(3) == 3_000


def test_a_window_count_knows_its_end():
  count = schema.WindowCount('v1', W10_00, 60, 3)
  assert count.window_end == W10_00 + datetime.timedelta(seconds=60)
