import datetime

import pytest

from viewcounts import times

UTC = datetime.timezone.utc


def test_parse_with_offset_and_fraction():
  assert times.parse_rfc3339('2026-12-03T19:00:05.2505+01:00') == (
    datetime.datetime(2026, 12, 3, 18, 0, 5, 250_500, tzinfo=UTC)
  )


@pytest.mark.parametrize(
  'text',
  [
    '2026-12-03T18:00:00',
    '2026-12-03',
    'yesterday',
    '18:00:00Z',
    '2026-13-03T18:00:00Z',
    '9999-12-31T23:59:59-23:59',
  ],
)
def test_parse_requires_date_time_and_zone(text):
  with pytest.raises(ValueError):
    times.parse_rfc3339(text)


def test_format():
  moment = datetime.datetime(2026, 12, 3, 18, 0, 5, 250_999, tzinfo=UTC)

  assert times.format_rfc3339(moment) == '2026-12-03T18:00:05Z'
  assert times.format_rfc3339(moment, millis=True) == '2026-12-03T18:00:05.250Z'


def test_window_start_aligns_to_the_epoch():
  moment = datetime.datetime(2026, 12, 3, 18, 4, 59, 999_999, tzinfo=UTC)

  assert times.window_start(moment, 60) == moment.replace(
    second=0, microsecond=0
  )
  assert times.window_start(moment, 300) == moment.replace(
    minute=0, second=0, microsecond=0
  )
