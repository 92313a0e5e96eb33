"""Compare the stored counts with the truth of what was published."""

import json
import time
from collections.abc import Iterable
from typing import NamedTuple

from google.cloud.bigtable.table import Table

from transforms import schema
from viewcounts import query, times

_Key = tuple[str, object, int]


class Comparison(NamedTuple):
  """What differs; every list is sorted by video, window start, size."""

  matched: int
  missing: list[schema.WindowCount]
  # (expected, stored) pairs of the same window with different counts.
  wrong: list[tuple[schema.WindowCount, schema.WindowCount]]
  unexpected: list[schema.WindowCount]

  @property
  def exact(self) -> bool:
    return not (self.missing or self.wrong or self.unexpected)


def compare(
  expected: Iterable[schema.WindowCount],
  actual: Iterable[schema.WindowCount],
) -> Comparison:
  """Exact comparison of two sets of rows keyed by (video, window)."""
  want = _by_window(expected, 'expected')
  have = _by_window(actual, 'actual')
  missing, wrong, matched = [], [], 0
  for key in sorted(want):
    if key not in have:
      missing.append(want[key])
    elif have[key].views != want[key].views:
      wrong.append((want[key], have[key]))
    else:
      matched += 1
  unexpected = [have[key] for key in sorted(have.keys() - want.keys())]
  return Comparison(matched, missing, wrong, unexpected)


def verify(
  table: Table,
  expected: list[schema.WindowCount],
  timeout_sec: float = 0.0,
  poll_sec: float = 2.0,
) -> Comparison:
  """Compares the table with expected, re-reading until exact or timeout.

  Waiting helps a caller that stops publishing before the last panes are
  written; a mismatch that remains at the deadline is returned.
  """
  deadline = time.monotonic() + timeout_sec
  while True:
    comparison = compare(expected, query.read_all_counts(table))
    if comparison.exact or time.monotonic() >= deadline:
      return comparison
    time.sleep(poll_sec)


def describe(comparison: Comparison) -> list[str]:
  """One line per mismatch, then a summary line."""
  lines = [
    f'missing: {_window(c)} expected {c.views}' for c in comparison.missing
  ]
  lines += [
    f'wrong count: {_window(want)} expected {want.views}, stored {have.views}'
    for want, have in comparison.wrong
  ]
  lines += [
    f'unexpected: {_window(c)} stored {c.views}' for c in comparison.unexpected
  ]
  verdict = 'exact' if comparison.exact else 'MISMATCH'
  lines.append(
    f'{verdict}: {comparison.matched} windows match, '
    f'{len(comparison.missing)} missing, {len(comparison.wrong)} wrong, '
    f'{len(comparison.unexpected)} unexpected'
  )
  return lines


def _by_window(
  counts: Iterable[schema.WindowCount], side: str
) -> dict[_Key, schema.WindowCount]:
  rows = {}
  for count in counts:
    key = (count.video_id, count.window_start, count.window_size_sec)
    if key in rows:
      raise ValueError(f'{side} counts list a window twice: {_window(count)}')
    rows[key] = count
  return rows


def _window(count: schema.WindowCount) -> str:
  # ASCII JSON quoting shows awkward ids unambiguously: edge spaces, and
  # look-alikes such as composed and decomposed accents.
  video = json.dumps(count.video_id)
  return (
    f'videoId {video} window {times.format_rfc3339(count.window_start)}'
    f'/{times.format_rfc3339(count.window_end)}'
  )
