"""Read stored counts: one video's windows, the whole table, the top videos.

Only the newest cell of views:count is read. The count is also the cell's
version, so the newest cell holds the highest count written; older cells
linger until garbage collection, which Bigtable runs lazily.
"""

import collections
import datetime
import logging
import struct

from google.cloud.bigtable import row_filters
from google.cloud.bigtable.row_data import PartialRowData
from google.cloud.bigtable.row_set import RowSet
from google.cloud.bigtable.table import Table

from transforms import schema

_LOGGER = logging.getLogger(__name__)

_NEWEST_COUNT = row_filters.RowFilterChain(
  filters=[
    row_filters.ColumnRangeFilter(
      schema.COLUMN_FAMILY,
      start_column=schema.COUNT_COLUMN,
      end_column=schema.COUNT_COLUMN,
    ),
    row_filters.CellsColumnLimitFilter(1),
  ]
)


def read_video_counts(
  table: Table,
  video_id: str,
  start: datetime.datetime | None = None,
  end: datetime.datetime | None = None,
) -> list[schema.WindowCount]:
  """The windows of exactly this video that start in [start, end).

  The scan covers only the video's own key range, whose rows are in window
  order, so a video's history costs no more than its own rows.
  """
  prefix = schema.video_prefix(video_id)
  start_key = prefix
  end_key = _prefix_end(prefix)
  if start is not None:
    start_key = schema.window_start_prefix(video_id, start)
  if end is not None:
    end_key = schema.window_start_prefix(video_id, end)
  if start_key >= end_key:
    return []
  rows = RowSet()
  rows.add_row_range_from_keys(start_key=start_key, end_key=end_key)
  return _read(table, rows)


def read_counts_of_ids_starting(
  table: Table, id_prefix: str
) -> list[schema.WindowCount]:
  """The windows of every video whose id starts with id_prefix.

  The encoding of a row key's video is byte by byte, so those videos' rows
  are exactly the keys that start with the encoded prefix.
  """
  key_prefix = schema.encode_video_id(id_prefix).encode('ascii')
  rows = RowSet()
  rows.add_row_range_from_keys(
    start_key=key_prefix, end_key=_prefix_end(key_prefix)
  )
  return _read(table, rows)


def read_all_counts(table: Table) -> list[schema.WindowCount]:
  """Every stored window count, in key order (video, then window)."""
  return _read(table, None)


def top_videos(
  counts: list[schema.WindowCount], n: int
) -> list[tuple[str, int]]:
  """(videoId, total views) of the n most viewed, ties by id."""
  totals = collections.Counter()
  for count in counts:
    totals[count.video_id] += count.views
  ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
  return ranked[:n]


def _read(table: Table, rows: RowSet | None) -> list[schema.WindowCount]:
  counts = []
  foreign = 0
  for row in table.read_rows(row_set=rows, filter_=_NEWEST_COUNT):
    count = _window_count(row)
    if count is None:
      foreign += 1
    else:
      counts.append(count)
  if foreign:
    _LOGGER.warning('Skipped %d rows that are not view counts', foreign)
  return counts


def _window_count(row: PartialRowData) -> schema.WindowCount | None:
  try:
    video_id, start, size = schema.parse_row_key(row.row_key)
  except (UnicodeDecodeError, ValueError):
    return None
  cells = row.cells.get(schema.COLUMN_FAMILY, {}).get(schema.COUNT_COLUMN)
  if not cells:
    return None
  try:
    views = schema.decode_count(cells[0].value)
  except struct.error:
    return None
  return schema.WindowCount(video_id, start, size, views)


def _prefix_end(prefix: bytes) -> bytes:
  """The first key after every key that starts with prefix."""
  # Video prefixes end in the ASCII separator, never 0xff, so incrementing
  # the last byte is enough.
  return prefix[:-1] + bytes([prefix[-1] + 1])
