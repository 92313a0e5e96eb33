"""WriteCountsToBigtable: one monotone cell write per pane.

The layout and why a write can never lower or inflate a count are in
transforms/schema.py.
"""

import datetime

import apache_beam as beam
from apache_beam.io.gcp.bigtableio import WriteToBigTable
from google.cloud.bigtable.row import DirectRow

from transforms import accounting, schema

# Bigtable takes at most 100,000 mutations in one MutateRows request. Each
# row here carries one mutation, so a 1,000-row flush stays far below it
# while still amortising the round trip.
FLUSH_ROWS = 1_000
FLUSH_BYTES = 5 * 1024 * 1024

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def count_row(count: schema.WindowCount) -> DirectRow:
  row = DirectRow(
    schema.row_key(count.video_id, count.window_start, count.window_size_sec)
  )
  version = _EPOCH + datetime.timedelta(
    microseconds=schema.count_version_micros(count.views)
  )
  row.set_cell(
    schema.COLUMN_FAMILY,
    schema.COUNT_COLUMN,
    schema.encode_count(count.views),
    timestamp=version,
  )
  return row


class _ToCountRowFn(beam.DoFn):
  """(video_id, views) in an IntervalWindow -> DirectRow."""

  def setup(self):
    self._rows_written = accounting.counter(accounting.ROWS_WRITTEN)

  def process(self, video_count, pane_window=beam.DoFn.WindowParam):
    video_id, views = video_count
    self._rows_written.inc()
    yield count_row(
      schema.WindowCount(
        video_id=video_id,
        window_start=pane_window.start.to_utc_datetime(has_tz=True),
        window_size_sec=(pane_window.end - pane_window.start).micros
        // 1_000_000,
        views=views,
      )
    )


class WriteCountsToBigtable(beam.PTransform):
  def __init__(self, project_id: str, instance_id: str, table_id: str):
    super().__init__()
    self._project_id = project_id
    self._instance_id = instance_id
    self._table_id = table_id

  def expand(self, counts):
    return (
      counts
      | 'ToBigtableRows' >> beam.ParDo(_ToCountRowFn())
      | 'MutateRows'
      >> WriteToBigTable(
        project_id=self._project_id,
        instance_id=self._instance_id,
        table_id=self._table_id,
        flush_count=FLUSH_ROWS,
        max_row_bytes=FLUSH_BYTES,
      )
    )
