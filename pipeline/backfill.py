"""Backfill: recount archived views in batch, writing the streaming job's rows.

    viewcounts backfill --input 'archive/events-*.jsonl'

Each input line is one view as it was published, the JSON payload with its
``eventTime``; an archive keeps no publish time, so a view without an
``eventTime`` is malformed. The lines are parsed by the streaming job's
rules, tallied by its combiner's accumulator and written by its
WriteCountsToBigtable, so they end in the same rows, deduplicated by
``eventId`` the same way. The write keeps the larger count of a window
(the cell version is the count), so a backfill and the streaming job can
cover the same range in either order. Nothing is too late in a batch:
every window is counted whole, once the input is read.
"""

import base64
import json
from collections.abc import Sequence
from typing import NamedTuple

import apache_beam as beam
import tqdm
from apache_beam.options.pipeline_options import (
  PipelineOptions,
  StandardOptions,
)
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipeline.pipeline import accounting_summary
from transforms.archive import TallyArchivedViews
from transforms.bigtable import WriteCountsToBigtable
from transforms.count import CountArchivedViewsPerWindow
from transforms.parse import DeadLetter


class BackfillOutputs(NamedTuple):
  counts: beam.PCollection  # (video_id, views), one per window
  dead_letters: beam.PCollection  # DeadLetter


class Target(NamedTuple):
  """Where the counts go."""

  project: str
  instance: str
  table: str


def build_backfill(
  p: beam.Pipeline,
  patterns: Sequence[str],
  window_size_sec: int,
  target: Target | None,
) -> BackfillOutputs:
  """Reads every file matching patterns (local paths or gs://) and counts
  their views; with a target, writes the counts to Bigtable."""
  tallies = (
    p
    | 'FilePatterns' >> beam.Create(list(patterns))
    | 'TallyArchivedViews'
    >> TallyArchivedViews(window_size_sec, on_lines=_show_progress)
  )
  counts = tallies.tallies | 'CountViewsPerWindow' >> (
    CountArchivedViewsPerWindow(window_size_sec)
  )
  if target is not None:
    _ = counts | 'WriteCountsToBigtable' >> WriteCountsToBigtable(*target)
  return BackfillOutputs(counts, tallies.dead_letter)


def _show_progress(lines: int) -> None:
  if progress.bar is not None:
    progress.bar.update(lines)


class progress:  # noqa: N801 (a namespace)
  """The progress bar of a backfill run in this process, if any. The steps
  are pickled and unpickled before they run, so they find it here rather
  than through a reference of their own; on a remote runner there is none."""

  bar = None


def run_backfill(
  patterns: Sequence[str],
  window_size_sec: int,
  target: Target,
  dead_letter_prefix: str | None = None,
  beam_args: Sequence[str] = (),
) -> dict[str, int]:
  """Runs a backfill to the end, with a progress bar of lines read when the
  lines are read here; returns the accounting counters."""
  options = PipelineOptions(list(beam_args))
  # Beam's default local runner tries to download Prism first.
  runner = None if options.view_as(StandardOptions).runner else FnApiRunner()
  p = beam.Pipeline(runner=runner, options=options)
  outputs = build_backfill(p, patterns, window_size_sec, target)
  if dead_letter_prefix:
    _ = (
      outputs.dead_letters
      | 'DeadLettersAsJson' >> beam.Map(dead_letter_json)
      | 'WriteDeadLetters' >> beam.io.WriteToText(dead_letter_prefix)
    )
  with tqdm.tqdm(unit=' lines', desc='backfill', mininterval=0.5) as bar:
    progress.bar = bar
    try:
      result = p.run()
      result.wait_until_finish()
    finally:
      progress.bar = None
  return accounting_summary(result)


def dead_letter_json(dead_letter: DeadLetter) -> str:
  """One JSON line: the original line (as text when it is UTF-8, else as
  data_base64) and why it was not counted."""
  record = {'reason': dead_letter.reason, 'detail': dead_letter.detail}
  try:
    record['data'] = dead_letter.data.decode('utf-8')
  except UnicodeDecodeError:
    record['data_base64'] = base64.b64encode(dead_letter.data).decode('ascii')
  return json.dumps(record, ensure_ascii=False)
