"""The view counter: Pub/Sub views in, per-window counts in Bigtable out.

    ReadViewEvents -> ParseViewEvents -> DropTooLateViews
        -> CountViewsPerWindow -> WriteCountsToBigtable
    (malformed + too late) -> WriteDeadLetters

Run it locally against the emulators with ./run_local.sh, or directly::

    python -m pipeline --input_subscription projects/P/subscriptions/S \\
        --bigtable_instance_id I --project P

Step labels are part of the interface: Dataflow matches them when a running
job is replaced with --update, so renaming one breaks updates.
"""

import datetime
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io.gcp.pubsub import ReadFromPubSub
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import (
  PipelineOptions,
  StandardOptions,
  TestOptions,
)
from google.cloud.bigtable.batcher import MutationsBatchError

from pipeline import preflight, replay
from pipeline.direct_runner_dofn_reuse import reuse_dofns_across_bundles
from pipeline.direct_runner_dofn_specs import look_up_dofn_specs_once_per_class
from pipeline.direct_runner_metrics import give_each_bundle_its_own_metrics
from pipeline.direct_runner_monitor import scan_for_timers_less_often
from pipeline.direct_runner_pubsub_read import pull_larger_batches
from pipeline.direct_runner_window_expiry import free_windows_once_expired
from pipeline.options import (
  bigtable_project_id,
  print_help,
  reject_unknown_flags,
  validate,
  view_count_flags,
)
from transforms import accounting
from transforms.bigtable import WriteCountsToBigtable
from transforms.count import CountViewsPerWindow
from transforms.dead_letter import WriteDeadLetters
from transforms.lateness import DropTooLateViews
from transforms.parse import ParseViewEvents

_LOGGER = logging.getLogger(__name__)

# The plain DirectRunner first tries to download the Prism runner, which
# fails offline and wastes the start-up; the bundle-based DirectRunner is
# the one that runs streaming pipelines anyway.
LOCAL_RUNNER = 'BundleBasedDirectRunner'
# A local run logs its counters this often, for a user or a benchmark to
# follow its progress.
PROGRESS_EVERY_SEC = 2
_LOCAL_RUNNER_NAMES = ('direct', 'bundlebaseddirect', 'switchingdirect')
_DATAFLOW_RUNNER_NAMES = ('dataflow', 'testdataflow')


class PipelineOutputs(NamedTuple):
  counts: beam.PCollection  # (video_id, views so far) per pane, windowed
  dead_letters: beam.PCollection  # DeadLetter


def build_pipeline(
  p: beam.Pipeline,
  options: PipelineOptions,
  source: beam.PTransform | None = None,
  clock: Callable[[], float] = time.time,
  write_results: bool = True,
) -> PipelineOutputs:
  """Adds the view counter to ``p``; returns what it writes.

  ``source`` replaces the Pub/Sub read (tests pass a TestStream of
  PubsubMessage); ``clock`` is the processing clock that bounds event times;
  without ``write_results`` nothing goes to Bigtable or Pub/Sub, so a test
  can assert on the returned collections alone.
  """
  opts = validate(options)
  messages = p | 'ReadViewEvents' >> (source or _pubsub_source(options))
  parsed = messages | 'ParseViewEvents' >> ParseViewEvents(
    opts.timestamp_attribute, opts.max_future_skew_sec, clock
  )
  gated = parsed.views | 'DropTooLateViews' >> DropTooLateViews(
    opts.window_size_sec,
    opts.allowed_lateness_sec,
    opts.max_future_skew_sec,
    clock,
  )
  counts = gated.views | 'CountViewsPerWindow' >> CountViewsPerWindow(
    opts.window_size_sec,
    opts.allowed_lateness_sec,
    opts.early_firing_sec,
    opts.hot_key_fanout,
  )
  dead_letters = (
    parsed.dead_letter,
    gated.dead_letter,
  ) | 'CollectDeadLetters' >> beam.Flatten()
  if not write_results:
    return PipelineOutputs(counts, dead_letters)
  counts | 'WriteCountsToBigtable' >> WriteCountsToBigtable(
    bigtable_project_id(options),
    opts.bigtable_instance_id,
    opts.bigtable_table_id,
  )
  if opts.dead_letter_topic:
    dead_letters | 'WriteDeadLetters' >> WriteDeadLetters(
      opts.dead_letter_topic
    )
  return PipelineOutputs(counts, dead_letters)


def _pubsub_source(options: PipelineOptions) -> beam.PTransform:
  opts = validate(options)
  # Beam's DirectRunner raises NotImplementedError for id_label, in a
  # background thread while the main thread carries on; only Dataflow
  # deduplicates by it.
  id_label = opts.id_attribute if runs_on_dataflow(options) else None
  return ReadFromPubSub(
    topic=opts.input_topic,
    subscription=opts.input_subscription,
    id_label=id_label,
    with_attributes=True,
  )


def _runner_name(options: PipelineOptions) -> str:
  """The runner as Beam spells it loosely: 'dataflow' is DataflowRunner."""
  runner = options.view_as(StandardOptions).runner or 'direct'
  return runner.lower().removesuffix('runner')


def runs_on_dataflow(options: PipelineOptions) -> bool:
  return _runner_name(options) in _DATAFLOW_RUNNER_NAMES


def resolve_runner(options: PipelineOptions) -> str:
  """Any spelling of the DirectRunner becomes the bundle-based one."""
  standard = options.view_as(StandardOptions)
  if _runner_name(options) in _LOCAL_RUNNER_NAMES:
    standard.runner = LOCAL_RUNNER
  return standard.runner


def accounting_summary(result) -> dict[str, int]:
  """The accounting counters of a run, committed values, zero when unseen."""
  query = result.metrics().query(
    MetricsFilter().with_namespace(accounting.NAMESPACE)
  )
  summary = dict.fromkeys(accounting.REPORTED, 0)
  for counter in query['counters']:
    name = counter.key.metric.name
    if name in summary:
      summary[name] += counter.committed or 0
  return summary


def fix_direct_runner() -> None:
  """Beam 2.77 DirectRunner fixes local runs rely on; each module says why."""
  give_each_bundle_its_own_metrics()
  free_windows_once_expired()
  pull_larger_batches()
  look_up_dofn_specs_once_per_class()


def speed_up_direct_runner() -> None:
  """Further DirectRunner fixes for local runs, left out of the TestStream
  tests because they change what a test relies on; each module says what."""
  scan_for_timers_less_often()
  reuse_dofns_across_bundles()


def run(argv: list[str] | None = None) -> None:
  argv = sys.argv[1:] if argv is None else argv
  if '-h' in argv or '--help' in argv:
    print_help()
    return
  options = PipelineOptions(argv)
  reject_unknown_flags(options, argv)
  opts = validate(options)
  options.view_as(StandardOptions).streaming = True
  runner = resolve_runner(options)
  _LOGGER.info(
    'Counting views with %s: %s',
    runner,
    json.dumps(view_count_flags(options), sort_keys=True),
  )
  if not options.view_as(TestOptions).dry_run:
    preflight.check_bigtable_table(
      bigtable_project_id(options),
      opts.bigtable_instance_id,
      opts.bigtable_table_id,
    )
  if opts.replay_on_start:
    replay.seek_back(
      opts.input_subscription,
      replay.replay_start(
        datetime.datetime.now(datetime.UTC),
        opts.window_size_sec,
        opts.allowed_lateness_sec,
        opts.max_future_skew_sec,
      ),
    )
  if runner == LOCAL_RUNNER:
    fix_direct_runner()
    speed_up_direct_runner()
  pipeline = beam.Pipeline(options=options)
  build_pipeline(pipeline, options)
  result = pipeline.run()
  if runner == LOCAL_RUNNER:
    _wait_until_stopped(result)


def _bigtable_rejection(error: BaseException) -> MutationsBatchError | None:
  """The Bigtable batch error behind what the runner raised, if any."""
  while error is not None and not isinstance(error, MutationsBatchError):
    error = error.__cause__ or error.__context__
  return error


def _log_progress(result, stopped: threading.Event) -> None:
  """Logs the counters so far every PROGRESS_EVERY_SEC until stopped."""
  while not stopped.wait(PROGRESS_EVERY_SEC):
    _LOGGER.info(
      'Accounting so far: %s',
      json.dumps(accounting_summary(result), sort_keys=True),
    )


def _wait_until_stopped(result) -> None:
  """Blocks until the local job ends or is told to stop, then reports."""

  def stop(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)

  signal.signal(signal.SIGTERM, stop)
  stopped = threading.Event()
  threading.Thread(
    target=_log_progress, args=(result, stopped), daemon=True
  ).start()
  try:
    result.wait_until_finish()
  except KeyboardInterrupt:
    _LOGGER.info('Stopping the local pipeline')
  except Exception as e:
    rejection = _bigtable_rejection(e)
    if rejection:
      # Beam's Bigtable sink says only "Errors in batch mutations."; the
      # reasons (a missing family, a missing table) are in its causes.
      _LOGGER.error(
        'Bigtable rejected the counts: %s',
        '; '.join(map(str, rejection.exc or ())),
      )
    raise
  finally:
    stopped.set()
    summary = accounting_summary(result)
    outcomes = sum(summary[name] for name in accounting.OUTCOMES)
    _LOGGER.info('Accounting: %s', json.dumps(summary, sort_keys=True))
    _LOGGER.info(
      'read %d = counted %d + duplicates %d + malformed %d + too late %d (%s)',
      summary[accounting.READ],
      summary[accounting.COUNTED],
      summary[accounting.DUPLICATES],
      summary[accounting.MALFORMED],
      summary[accounting.TOO_LATE],
      'balanced'
      if outcomes == summary[accounting.READ]
      else f'{summary[accounting.READ] - outcomes} still in flight',
    )
