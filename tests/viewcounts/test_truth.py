"""The truth: expected counts per (video, window) under DESIGN.md's rules.

Times are UTC on 2026-12-03; windows of 60 s align to the epoch, so a view
at 18:00:59.999 is in [18:00, 18:01) and one at 18:01:00.000 in the next.
"""

import datetime
import json

import pytest

from transforms.schema import WindowCount
from viewcounts import truth

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 3, 18, 5, tzinfo=UTC)


def at(hh: int, mm: int, ss: int, ms: int = 0) -> datetime.datetime:
  return datetime.datetime(2026, 12, 3, hh, mm, ss, ms * 1000, tzinfo=UTC)


def test_counts_views_per_video_and_window():
  counter = truth.TruthCounter(60)
  counter.add('a', at(18, 0, 0))
  counter.add('a', at(18, 0, 59, 999))
  counter.add('a', at(18, 1, 0))
  counter.add('A', at(18, 0, 30))

  assert counter.rows() == [
    WindowCount('A', at(18, 0, 0), 60, 1),
    WindowCount('a', at(18, 0, 0), 60, 2),
    WindowCount('a', at(18, 1, 0), 60, 1),
  ]
  assert counter.total == 4


def test_late_view_counts_in_the_window_of_its_event_time():
  # Published at 18:01:05 but viewed 8 s earlier: it belongs to 18:00.
  counter = truth.TruthCounter(60)
  counter.add('a', at(18, 1, 5) - datetime.timedelta(seconds=8))

  assert counter.rows() == [WindowCount('a', at(18, 0, 0), 60, 1)]


def test_event_id_counts_once_per_video_and_window():
  counter = truth.TruthCounter(60)
  assert counter.add('a', at(18, 0, 1), 'e1')
  assert not counter.add('a', at(18, 0, 2), 'e1')
  # The same id in another window or for another video is another view.
  assert counter.add('a', at(18, 1, 1), 'e1')
  assert counter.add('b', at(18, 0, 1), 'e1')

  assert [row.views for row in counter.rows()] == [1, 1, 1]


def test_window_size_sets_the_grid():
  counter = truth.TruthCounter(300)
  counter.add('a', at(18, 4, 59))
  counter.add('a', at(18, 5, 0))

  assert counter.rows() == [
    WindowCount('a', at(18, 0, 0), 300, 1),
    WindowCount('a', at(18, 5, 0), 300, 1),
  ]


@pytest.mark.parametrize('size', [0, -60])
def test_window_size_must_be_positive(size):
  with pytest.raises(ValueError):
    truth.TruthCounter(size)


def _data(**fields) -> bytes:
  return json.dumps(fields).encode('utf-8')


def test_countable_event_takes_video_time_and_id():
  data = _data(
    videoId='a#b', eventId='e1', eventTime='2026-12-03T18:00:05.250Z'
  )

  assert truth.countable_event(data, NOW) == truth.CountableEvent(
    'a#b', at(18, 0, 5, 250), 'e1'
  )


def test_countable_event_reads_epoch_millis():
  # 18:00:05.250 on 2026-12-03 is 1,796,320,805,250 ms after the epoch.
  data = _data(videoId='a', eventTime=1_796_320_805_250)

  assert truth.countable_event(data, NOW).event_time == at(18, 0, 5, 250)


@pytest.mark.parametrize(
  'data',
  [
    pytest.param(b'not json', id='raw string'),
    pytest.param(b'\xff\xfe', id='not UTF-8'),
    pytest.param(b'[1, 2]', id='not an object'),
    pytest.param(_data(eventTime='2026-12-03T18:00:05Z'), id='no videoId'),
    pytest.param(
      _data(videoId='   ', eventTime='2026-12-03T18:00:05Z'), id='blank id'
    ),
    pytest.param(
      _data(videoId='a', eventTime='2026-12-03T18:00:05'), id='no zone'
    ),
    pytest.param(_data(videoId='a', eventTime=1_796_320_805), id='seconds'),
    pytest.param(
      # NOW + 300 s is 18:10:00; one second later is too far ahead.
      _data(videoId='a', eventTime='2026-12-03T18:10:01Z'),
      id='future',
    ),
  ],
)
def test_malformed_events_are_not_counted(data):
  assert truth.countable_event(data, NOW) is None


def test_event_without_event_time_is_left_out():
  # Its window would be the publish time's, which the publisher cannot know.
  assert truth.countable_event(_data(videoId='a'), NOW) is None


def test_future_skew_limit_is_a_parameter():
  data = _data(videoId='a', eventTime='2026-12-03T18:10:01Z')

  assert truth.countable_event(data, NOW, max_future_skew_sec=302)
