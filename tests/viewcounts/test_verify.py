"""verify.compare: exact match, or every difference listed."""

import datetime

import pytest

from transforms.schema import WindowCount
from viewcounts import verify

T0 = datetime.datetime(2026, 12, 3, 18, 0, tzinfo=datetime.timezone.utc)
T1 = T0 + datetime.timedelta(minutes=1)


def test_identical_rows_are_exact_in_any_order():
  rows = [WindowCount('a', T0, 60, 3), WindowCount('a#b', T1, 60, 1)]

  comparison = verify.compare(rows, list(reversed(rows)))

  assert comparison.exact
  assert comparison.matched == 2
  assert verify.describe(comparison) == [
    'exact: 2 windows match, 0 missing, 0 wrong, 0 unexpected'
  ]


def test_every_kind_of_difference_is_listed():
  expected = [
    WindowCount('a', T0, 60, 3),
    WindowCount('a', T1, 60, 2),
    WindowCount('b', T0, 60, 5),
  ]
  actual = [
    WindowCount('a', T0, 60, 3),  # matches
    WindowCount('a', T1, 60, 1),  # a replay's smaller count won: wrong
    WindowCount('A', T0, 60, 5),  # case differs: unexpected, and b missing
  ]

  comparison = verify.compare(expected, actual)

  assert not comparison.exact
  assert comparison.matched == 1
  assert comparison.missing == [WindowCount('b', T0, 60, 5)]
  assert comparison.wrong == [
    (WindowCount('a', T1, 60, 2), WindowCount('a', T1, 60, 1))
  ]
  assert comparison.unexpected == [WindowCount('A', T0, 60, 5)]
  assert verify.describe(comparison) == [
    'missing: videoId "b" window 2026-12-03T18:00:00Z/2026-12-03T18:01:00Z '
    'expected 5',
    'wrong count: videoId "a" window 2026-12-03T18:01:00Z/'
    '2026-12-03T18:02:00Z expected 2, stored 1',
    'unexpected: videoId "A" window 2026-12-03T18:00:00Z/'
    '2026-12-03T18:01:00Z stored 5',
    'MISMATCH: 1 windows match, 1 missing, 1 wrong, 1 unexpected',
  ]


def test_same_start_other_window_size_is_another_window():
  comparison = verify.compare(
    [WindowCount('a', T0, 60, 1)], [WindowCount('a', T0, 300, 1)]
  )

  assert len(comparison.missing) == len(comparison.unexpected) == 1


def test_empty_truth_and_empty_table_match():
  assert verify.compare([], []).exact


def test_ids_that_look_alike_are_shown_apart():
  comparison = verify.compare([WindowCount('cafe\u0301 ', T0, 60, 1)], [])

  assert verify.describe(comparison)[0].startswith(
    'missing: videoId "cafe\\u0301 " window'
  )


def test_a_window_listed_twice_is_an_error():
  rows = [WindowCount('a', T0, 60, 1), WindowCount('a', T0, 60, 2)]

  with pytest.raises(ValueError, match='expected counts list a window twice'):
    verify.compare(rows, [])
