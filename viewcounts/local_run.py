"""The whole job on the local emulators, checked against the exact truth.

What ``./run_local.sh`` runs: start the emulators (or use the ones named by
PUBSUB_EMULATOR_HOST and BIGTABLE_EMULATOR_HOST), provision, start
``python -m pipeline`` on the DirectRunner, publish synthetic views for a
bounded time, wait for their windows to close, verify Bigtable exactly,
print the top videos and the accounting, and stop everything it started.
Exits 0 only when every count is exact and every message is accounted for.
"""

import argparse
import contextlib
import datetime
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from transforms import accounting
from viewcounts import emulators, provision, publish, query, verify
from viewcounts.resources import Resources

_LOGGER = logging.getLogger(__name__)

# The DirectRunner's Pub/Sub read waits up to 30 s in a pull when the
# subscription is empty, and only then moves the watermark on; a window can
# therefore fire that long after it ends.
PULL_WAIT_SEC = 30
_ACCOUNTING_LINE = re.compile(r'Accounting: (\{.*\})')
_PROGRESS_LINE = re.compile(r'Accounting so far: (\{.*\})')
# How python -m pipeline stamps its log lines (logging's asctime).
_LOG_TIME = '%Y-%m-%d %H:%M:%S,%f'


class RunReport(NamedTuple):
  published: int
  windows: int
  comparison: verify.Comparison
  accounting: dict[str, int]
  wall_sec: float

  @property
  def balanced(self) -> bool:
    """Every published view was read and ended in exactly one place."""
    outcomes = sum(self.accounting.get(name, 0) for name in accounting.OUTCOMES)
    read = self.accounting.get(accounting.READ, 0)
    return read == self.published and outcomes == read

  @property
  def ok(self) -> bool:
    return self.comparison.exact and self.balanced


def main(argv: list[str] | None = None) -> int:
  args = _parse_args(argv)
  logging.basicConfig(
    level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s'
  )
  os.makedirs(args.work_dir, exist_ok=True)
  # A plain SIGTERM would end the process without unwinding, leaving the
  # emulators and the pipeline running; unwind as on Ctrl-C instead.
  signal.signal(signal.SIGTERM, _interrupt)
  try:
    with emulators.running_emulators(
      log_dir=os.path.join(args.work_dir, 'emulators')
    ) as env:
      os.environ.update(env)
      report = run(args, Resources())
      # Before the emulators stop: the report reads the table once more.
      _print_report(report, Resources())
  except emulators.EmulatorsUnavailable as e:
    print(f'\nCannot run locally: {e}', file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print('\nInterrupted; stopped the pipeline and the emulators.')
    return 130
  return 0 if report.ok else 1


def _interrupt(signum, frame):
  raise KeyboardInterrupt(signal.Signals(signum).name)


def run(args: argparse.Namespace, resources: Resources) -> RunReport:
  """Provision, count and verify; assumes the emulators' env is set."""
  started = time.monotonic()
  provision.provision(resources)
  pipeline_log = os.path.join(args.work_dir, 'pipeline.log')
  with running_pipeline(
    resources, pipeline_log, args.window_size_sec, args.pipeline_args
  ) as pipeline:
    published = publish.publish_synthetic(
      resources.topic_path,
      rate=args.rate,
      duration_sec=args.duration_sec,
      videos=args.videos,
      seed=args.seed,
      window_size_sec=args.window_size_sec,
    )
    _LOGGER.info('%s', published.summary())
    wait_sec = close_wait_sec(args.window_size_sec)
    _LOGGER.info('Waiting up to %.0fs for the last windows to close', wait_sec)
    comparison = wait_for_counts(resources, published.truth, pipeline, wait_sec)
    accounting_figures = pipeline.stop()
  return RunReport(
    published=published.published,
    windows=len(published.truth),
    comparison=comparison,
    accounting=accounting_figures,
    wall_sec=time.monotonic() - started,
  )


def wait_for_counts(
  resources, truth, pipeline, wait_sec: float, poll_sec: float = 2.0
) -> verify.Comparison:
  """Re-reads Bigtable until it matches the truth, the deadline passes, or
  the pipeline dies."""
  table = resources.bigtable_table()
  deadline = time.monotonic() + wait_sec
  while True:
    comparison = verify.verify(table, truth)
    if comparison.exact or time.monotonic() >= deadline:
      return comparison
    pipeline.check_alive()
    time.sleep(poll_sec)


def close_wait_sec(window_size_sec: int) -> float:
  """How long after publishing stops the last window may take to be stored.

  The window still open must end (at most one window), the reader must
  notice (one empty pull), and the pane must be written (a margin).
  """
  now = time.time()
  last_window_end = math.ceil(now / window_size_sec) * window_size_sec
  return last_window_end - now + PULL_WAIT_SEC + 30


@contextlib.contextmanager
def running_pipeline(
  resources: Resources,
  log_path: str,
  window_size_sec: int,
  extra_args: Sequence[str] = (),
) -> Iterator['LocalPipeline']:
  """Runs ``python -m pipeline``; always kills it on the way out."""
  command = [
    sys.executable,
    '-m',
    'pipeline',
    f'--input_subscription={resources.subscription_path}',
    f'--project={resources.project}',
    f'--bigtable_instance_id={resources.instance}',
    f'--bigtable_table_id={resources.table}',
    f'--dead_letter_topic={resources.dead_letter_topic_path}',
    f'--window_size_sec={window_size_sec}',
    *extra_args,
  ]
  _LOGGER.info('Starting the pipeline, log in %s', log_path)
  with running_process(command, log_path) as process:
    yield LocalPipeline(process, log_path)


@contextlib.contextmanager
def running_process(
  command: Sequence[str], log_path: str
) -> Iterator[subprocess.Popen]:
  """Runs command in a session of its own, its output in log_path; always
  kills the whole session on the way out."""
  with open(log_path, 'w') as log:
    process = subprocess.Popen(
      command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
  try:
    yield process
  finally:
    if process.poll() is None:
      os.killpg(process.pid, signal.SIGKILL)
      process.wait()


class LocalPipeline:
  def __init__(self, process: subprocess.Popen, log_path: str):
    self._process = process
    self._log_path = log_path

  def check_alive(self) -> None:
    if self._process.poll() is not None:
      raise RuntimeError(
        f'the pipeline exited early with {self._process.returncode}; see '
        f'{self._log_path}'
      )

  @property
  def pid(self) -> int:
    return self._process.pid

  @property
  def returncode(self) -> int | None:
    return self._process.poll()

  def progress(self) -> list[tuple[datetime.datetime, dict]]:
    """(log time, counters) of each progress line logged so far."""
    return read_progress(self._log_path)

  def kill(self) -> None:
    """kill -9: the way a crashed worker goes, with no chance to flush."""
    self.check_alive()
    os.killpg(self._process.pid, signal.SIGKILL)
    self._process.wait()

  def stop(self) -> dict[str, int]:
    """SIGTERM, on which the pipeline logs its accounting; returns it."""
    self.check_alive()
    self._process.send_signal(signal.SIGTERM)
    _wait_or_kill(self._process)
    return read_accounting(self._log_path)


def _wait_or_kill(process: subprocess.Popen, timeout_sec: float = 60) -> None:
  try:
    process.wait(timeout=timeout_sec)
  except subprocess.TimeoutExpired:
    _LOGGER.warning(
      'The pipeline did not stop in %.0fs; killing it', timeout_sec
    )
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def read_accounting(log_path: str) -> dict[str, int]:
  """The accounting the pipeline logged as it stopped; {} when none."""
  samples = _logged_figures(log_path, _ACCOUNTING_LINE)
  return samples[-1][1] if samples else {}


def read_progress(log_path: str) -> list[tuple[datetime.datetime, dict]]:
  """(log time, counters) of each progress line the pipeline logged."""
  return _logged_figures(log_path, _PROGRESS_LINE)


def _logged_figures(log_path: str, pattern: re.Pattern) -> list:
  figures = []
  with open(log_path, errors='replace') as log:
    for line in log:
      match = pattern.search(line)
      if match:
        logged_at = datetime.datetime.strptime(line[:23], _LOG_TIME)
        figures.append((logged_at, json.loads(match.group(1))))
  return figures


def _print_report(report: RunReport, resources: Resources) -> None:
  counts = query.read_all_counts(resources.bigtable_table())
  print('\nTop videos:')
  for video_id, views in query.top_videos(counts, 10):
    print(f'  {views:>8}  {json.dumps(video_id, ensure_ascii=False)}')
  print('\nAccounting (Beam counters of the pipeline):')
  for name in accounting.REPORTED:
    print(f'  {name:<22} {report.accounting.get(name, 0):>8}')
  written = report.accounting.get(accounting.ROWS_WRITTEN, 0)
  print(
    f'\nPublished {report.published} views into {report.windows} '
    f'(video, window) rows; Bigtable holds {len(counts)} rows, written '
    f'{written} times: {_per_thousand(written, report.published)} writes '
    'per 1,000 views.'
  )
  print(f'Every message accounted for: {"yes" if report.balanced else "NO"}')
  read = report.accounting.get(accounting.READ, 0)
  if read < report.published:
    print(
      f'The pipeline read only {read} of the {report.published} views in '
      "time: it fell behind. The DirectRunner's Pub/Sub reader pulls 10 "
      'messages at a time; try a lower --rate.'
    )
  for line in verify.describe(report.comparison)[-20:]:
    print(line)
  print(
    f'Wall time {report.wall_sec:.0f}s. '
    f'{"OK: every count is exact." if report.ok else "FAILED."}'
  )


def _per_thousand(part: int, whole: int) -> str:
  return f'{1000 * part / whole:.0f}' if whole else 'n/a'


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(
    prog='./run_local.sh',
    description='Run the view counter on the local emulators and verify '
    'its counts exactly. Arguments after -- go to the pipeline.',
  )
  parser.add_argument(
    '--rate',
    type=float,
    default=100,
    help='views published per second (default %(default)s)',
  )
  parser.add_argument(
    '--duration-sec',
    type=float,
    default=30,
    help='how long to publish (default %(default)s)',
  )
  parser.add_argument(
    '--videos',
    type=int,
    default=500,
    help='distinct videos (default %(default)s)',
  )
  parser.add_argument(
    '--window-size-sec',
    type=int,
    default=60,
    help='window length (default %(default)s)',
  )
  parser.add_argument(
    '--seed',
    type=int,
    default=0,
    help='seed of the synthetic load (default %(default)s)',
  )
  parser.add_argument(
    '--work-dir',
    default='.local_run',
    help='where logs go (default %(default)s)',
  )
  parser.add_argument(
    'pipeline_args', nargs='*', help='extra pipeline flags, after --'
  )
  args = parser.parse_args(argv)
  if any(arg.startswith('--window_size_sec') for arg in args.pipeline_args):
    # The expected counts are computed on this run's own window grid.
    parser.error('set the window with --window-size-sec, not after --')
  return args


if __name__ == '__main__':
  sys.exit(main())
