"""CASES C5, the storage half: panes written through the real Beam sink.

Each pane is one small batch pipeline on the DirectRunner that writes a
(video, count) element, windowed into the W10:00 window, through
WriteCountsToBigtable into the Bigtable emulator; after each the stored
value is read back with viewcounts.query, which reads the newest version
only, as every reader should.
"""

import datetime

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.transforms.window import FixedWindows, TimestampedValue
from apache_beam.utils.timestamp import Timestamp
from google.cloud.bigtable import row_filters

from pipeline.pipeline import LOCAL_RUNNER
from transforms import schema
from transforms.bigtable import WriteCountsToBigtable
from viewcounts import query

pytestmark = pytest.mark.emulator

W10_00 = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.UTC)
# Half-way into the window, so the element's window is W10:00.
VIEW_TIME = Timestamp.from_utc_datetime(W10_00) + 30
WINDOW_SEC = 60


def write_pane(resources, video_id: str, views: int) -> None:
  """One pane of W10:00 through the pipeline's own Bigtable sink."""
  p = TestPipeline(runner=LOCAL_RUNNER)
  _ = (
    p
    | 'Pane' >> beam.Create([(video_id, views)])
    | 'AtViewTime' >> beam.Map(lambda pane: TimestampedValue(pane, VIEW_TIME))
    | 'Window' >> beam.WindowInto(FixedWindows(WINDOW_SEC))
    | 'WriteCountsToBigtable'
    >> WriteCountsToBigtable(
      resources.project, resources.instance, resources.table
    )
  )
  p.run().wait_until_finish()


def stored_views(table, video_id: str) -> list[int]:
  """The views viewcounts.query reads for the video: one per window."""
  return [count.views for count in query.read_video_counts(table, video_id)]


def stored_versions(table, video_id: str) -> list[tuple[int, int]]:
  """Every version of the W10:00 cell still in the table, newest first:
  (cell timestamp in µs, count)."""
  key = schema.row_key(video_id, W10_00, WINDOW_SEC)
  row = table.read_row(
    key, filter_=row_filters.ColumnQualifierRegexFilter(schema.COUNT_COLUMN)
  )
  cells = row.cells[schema.COLUMN_FAMILY][schema.COUNT_COLUMN]
  epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
  return [
    (
      (cell.timestamp - epoch) // datetime.timedelta(microseconds=1),
      schema.decode_count(cell.value),
    )
    for cell in cells
  ]


def test_c5_the_stored_count_only_rises(provisioned):
  # Accumulating panes 2, 3, 3 (the on-time pane repeating the last early
  # one) and 4, then a replay writes the older pane 2 again. The stored
  # value is the highest count written so far: 2, 3, 3, 4, 4. Never 0 (a
  # reset), never 12 (2 + 3 + 3 + 4, panes added up).
  table = provisioned.bigtable_table()
  stored = []
  for views in (2, 3, 3, 4, 2):
    write_pane(provisioned, 'v1', views)
    stored.append(stored_views(table, 'v1'))

  assert stored == [[2], [3], [3], [4], [4]]


def test_c5_counts_one_apart_are_versions_one_millisecond_apart(
  provisioned,
):
  # Bigtable keeps cell timestamps in milliseconds, so two versions closer
  # than 1 ms would be one cell and the later write would win. The version
  # is the count in milliseconds (count x 1,000 µs), so counts n and n + 1
  # are always 1 ms apart: the higher count written first still wins over
  # the lower count written after it.
  table = provisioned.bigtable_table()
  for n in (1, 999, 123_456_789):
    video_id = f'v{n}'
    write_pane(provisioned, video_id, n + 1)
    write_pane(provisioned, video_id, n)

    assert stored_views(table, video_id) == [n + 1]
    # The emulator keeps the older version until garbage collection runs,
    # so both may still be there: two cells, never one overwritten.
    versions = stored_versions(table, video_id)
    assert versions[0] == ((n + 1) * 1000, n + 1)
    assert set(versions) <= {((n + 1) * 1000, n + 1), (n * 1000, n)}
