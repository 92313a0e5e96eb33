"""The benchmark's cases: each contender on the same input, fresh emulators.

A contender is the per-view counter (bench/per_view_counter.py) or this
pipeline on the DirectRunner (``python -m pipeline``, as ./run_local.sh
starts it). Both read the same synthetic workload from the same provisioned
subscription and write the same row keys; they differ in what they write
per view. Every case starts emulators of its own, so no case sees another's
messages or rows.
"""

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from bench.per_view_counter import PerViewCounter
from transforms import schema
from viewcounts import (
  emulators,
  local_run,
  provision,
  publish,
  query,
  synthetic,
  verify,
)
from viewcounts.resources import Resources
from viewcounts.truth import merge

_LOGGER = logging.getLogger(__name__)

PIPELINE, PER_VIEW = 'pipeline', 'per-view counter'
PROBE_PREFIX = 'probe-'
# A contender's first seconds, while its pulls get going, are not timed.
WARM_UP_SEC = 5


class Workload(NamedTuple):
  views: int
  videos: int
  zipf_s: float = 1.2
  window_size_sec: int = 60
  late_fraction: float = 0.02
  duplicate_fraction: float = 0.01
  hot_share: float = 0.0
  seed: int = 0


class Accuracy(NamedTuple):
  """Stored counts against the truth of what was published."""

  exact: bool
  views_over: int  # views counted more than once, or in no true row
  views_under: int  # views missing


class StreamingFigures(NamedTuple):
  contender: str
  published: int  # messages, duplicate copies included
  rows: int  # distinct (video, window) pairs in the truth
  late_rows: int  # of those, rows with a view published after their end
  mutations: int  # Bigtable mutations the contender made
  accuracy: Accuracy
  views_per_sec: float  # taken while the views were published: taken_rate

  @property
  def mutations_per_1000(self) -> float:
    return 1000 * self.mutations / self.published

  @property
  def floor_per_1000(self) -> float:
    """A counter that writes each row once, and once more when a late view
    arrives after it was written."""
    return 1000 * (self.rows + self.late_rows) / self.published


class LatencyFigures(NamedTuple):
  contender: str
  probes: int
  seen: int  # probes whose count became visible in time
  p50_sec: float
  p95_sec: float


class CrashFigures(NamedTuple):
  contender: str
  published: int
  accuracy: Accuracy


def percentile(values: Sequence[float], share: float) -> float:
  """The nearest-rank percentile: the smallest value with at least share
  of the values at or below it."""
  if not values:
    return float('nan')
  ordered = sorted(values)
  rank = max(1, -(-len(ordered) * share // 1))
  return ordered[int(rank) - 1]


def compare(truth: Sequence[schema.WindowCount], stored) -> Accuracy:
  comparison = verify.compare(truth, stored)
  wrong = [found.views - expected.views for expected, found in comparison.wrong]
  over = sum(d for d in wrong if d > 0)
  over += sum(c.views for c in comparison.unexpected)
  under = sum(-d for d in wrong if d < 0)
  under += sum(c.views for c in comparison.missing)
  return Accuracy(comparison.exact, over, under)


def taken_rate(
  samples: Sequence[tuple[float, int]], start: float, end: float
) -> float:
  """Views taken per second from start to end, from (time, views taken so
  far) samples, read between samples along a straight line. NaN when the
  samples do not cover the span."""
  try:
    return (_taken_at(samples, end) - _taken_at(samples, start)) / (end - start)
  except LookupError:
    _LOGGER.warning('Samples %s do not cover %s..%s', samples, start, end)
    return float('nan')


def _taken_at(samples: Sequence[tuple[float, int]], moment: float) -> float:
  for (t0, n0), (t1, n1) in zip(samples, samples[1:], strict=False):
    if t0 <= moment <= t1:
      return n1 if t1 == t0 else n0 + (n1 - n0) * (moment - t0) / (t1 - t0)
  raise LookupError(moment)


@contextlib.contextmanager
def fresh_emulators(work_dir: str) -> Iterator[Resources]:
  """Emulators of their own for one case, provisioned, env set meanwhile."""
  with emulators.running_emulators(
    log_dir=os.path.join(work_dir, 'emulators')
  ) as env:
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
      resources = Resources()
      provision.provision(resources)
      yield resources
    finally:
      for name, value in saved.items():
        if value is None:
          os.environ.pop(name, None)
        else:
          os.environ[name] = value


def publish_workload(
  resources: Resources, workload: Workload, rate: float, views: int = 0
) -> publish.PublishResult:
  return publish.publish_synthetic(
    resources.topic_path,
    rate=rate,
    duration_sec=(views or workload.views) / rate,
    videos=workload.videos,
    zipf_s=workload.zipf_s,
    late_fraction=workload.late_fraction,
    duplicate_fraction=workload.duplicate_fraction,
    seed=workload.seed,
    window_size_sec=workload.window_size_sec,
    hot_share=workload.hot_share,
  )


def run_streaming(
  contender: str,
  workload: Workload,
  rate: float,
  work_dir: str,
  pipeline_args: Sequence[str] = (),
) -> StreamingFigures:
  """The workload through one contender, published at rate views/s.

  Its speed is how many views a second it took while they were published,
  after WARM_UP_SEC (or a quarter of the time, if less): the offered rate
  when it keeps up, its capacity when it falls behind. The counts are
  compared with the truth once it is done.
  """
  with fresh_emulators(work_dir) as resources:
    with _start(contender, resources, workload, work_dir, pipeline_args) as c:
      c.wait_until_ready()
      started = time.time()
      published = publish_workload(resources, workload, rate)
      ended = time.time()
      _LOGGER.info('%s: %s', contender, published.summary())
      accuracy = c.wait_until_counted(published.truth, published.published)
      warm_up = min(WARM_UP_SEC, (ended - started) / 4)
      speed = taken_rate(c.taken(), started + warm_up, ended)
      mutations = c.stop()
  return StreamingFigures(
    contender,
    published.published,
    len(published.truth),
    published.late_rows,
    mutations,
    accuracy,
    speed,
  )


def run_latency(
  contender: str,
  workload: Workload,
  rate: float,
  work_dir: str,
  pipeline_args: Sequence[str] = (),
  probe_every_sec: float = 1.0,
) -> LatencyFigures:
  """Publish to visible count: while the workload runs at rate, one probe
  view of a video of its own every probe_every_sec; each probe's latency
  runs from its publish to the first read of Bigtable that shows its row."""
  with fresh_emulators(work_dir) as resources:
    with _start(contender, resources, workload, work_dir, pipeline_args) as c:
      c.wait_until_ready()
      probes = _Probes(resources)
      load = threading.Thread(
        target=publish_workload, args=(resources, workload, rate)
      )
      load.start()
      probes.publish_while(load, probe_every_sec)
      latencies = probes.wait_for_all(
        local_run.close_wait_sec(workload.window_size_sec), c
      )
      c.stop()
  return LatencyFigures(
    contender,
    probes.sent,
    len(latencies),
    percentile(latencies, 0.50),
    percentile(latencies, 0.95),
  )


def run_crash(
  contender: str, workload: Workload, rate: float, work_dir: str
) -> CrashFigures:
  """Kill the contender with -9 halfway through the workload, restart it as
  its README says, publish the rest, and compare with the truth."""
  half = workload.views // 2
  with fresh_emulators(work_dir) as resources:
    with _start_process(contender, resources, workload, work_dir) as first:
      first.wait_until_ready()
      published = [publish_workload(resources, workload, rate, views=half)]
      first.kill()
    rest = workload._replace(seed=workload.seed + 1)
    with _start_process(
      contender, resources, workload, work_dir, restart=True
    ) as second:
      second.wait_until_ready()
      published.append(
        publish_workload(resources, rest, rate, views=workload.views - half)
      )
      truth = merge(*(p.truth for p in published))
      messages = sum(p.published for p in published)
      accuracy = second.wait_until_counted(truth, messages)
  return CrashFigures(contender, messages, accuracy)


class _Probes:
  """Probe views, one video each, and when each became visible: a thread
  reads the probes' rows from Bigtable every POLL_SEC meanwhile."""

  POLL_SEC = 0.1

  def __init__(self, resources: Resources):
    self._resources = resources
    self._publisher = publish.make_publisher()
    self._sent_at = {}  # video id -> monotonic time of its publish
    self._seen_at = {}  # video id -> monotonic time of the read that saw it
    self._done = threading.Event()
    self._reader = threading.Thread(target=self._read, daemon=True)
    self._reader.start()
    self.sent = 0

  def _read(self) -> None:
    table = self._resources.bigtable_table()
    while not self._done.wait(self.POLL_SEC):
      rows = query.read_counts_of_ids_starting(table, PROBE_PREFIX)
      now = time.monotonic()
      for count in rows:
        self._seen_at.setdefault(count.video_id, now)

  def publish_while(self, load: threading.Thread, every_sec: float) -> None:
    while load.is_alive():
      video_id = f'{PROBE_PREFIX}{self.sent:05d}'
      probe = synthetic.SyntheticView(video_id, f'probe-{self.sent}', None, 0)
      event = synthetic.view_event(probe, time.time_ns() // 1_000_000)
      data = json.dumps(event).encode()
      self._publisher.publish(self._resources.topic_path, data).result()
      self._sent_at[video_id] = time.monotonic()
      self.sent += 1
      time.sleep(every_sec)
    self._publisher.stop()

  def wait_for_all(self, wait_sec: float, contender) -> list[float]:
    """The latency of each probe seen within wait_sec."""
    deadline = time.monotonic() + wait_sec
    while (
      len(self._seen_at) < len(self._sent_at) and time.monotonic() < deadline
    ):
      contender.check_alive()
      time.sleep(0.5)
    self._done.set()
    self._reader.join()
    return [
      self._seen_at[video] - sent_at
      for video, sent_at in self._sent_at.items()
      if video in self._seen_at
    ]


@contextlib.contextmanager
def _start(contender, resources, workload, work_dir, pipeline_args=()):
  if contender == PIPELINE:
    log_path = os.path.join(work_dir, 'pipeline.log')
    with local_run.running_pipeline(
      resources, log_path, workload.window_size_sec, pipeline_args
    ) as pipeline:
      yield _RunningPipeline(pipeline, resources, workload.window_size_sec)
  else:
    counter = PerViewCounter(resources, workload.window_size_sec)
    counter.start()
    try:
      yield _RunningCounter(counter, resources)
    finally:
      counter.stop()


@contextlib.contextmanager
def _start_process(contender, resources, workload, work_dir, restart=False):
  """The contender as a process of its own, which a kill -9 can end."""
  if contender == PIPELINE:
    log_path = os.path.join(work_dir, f'pipeline-{int(restart) + 1}.log')
    # The README's restart runbook: the same command plus --replay_on_start.
    args = ['--replay_on_start'] if restart else []
    with local_run.running_pipeline(
      resources, log_path, workload.window_size_sec, args
    ) as pipeline:
      yield _RunningPipeline(pipeline, resources, workload.window_size_sec)
    return
  log_path = os.path.join(work_dir, f'per-view-{int(restart) + 1}.log')
  command = [
    sys.executable,
    '-m',
    'bench.per_view_counter',
    f'--window-size-sec={workload.window_size_sec}',
  ]
  with local_run.running_process(command, log_path) as process:
    yield _CounterProcess(process, resources)


class _RunningPipeline:
  def __init__(self, pipeline, resources, window_size_sec):
    self._pipeline = pipeline
    self._resources = resources
    self._window_size_sec = window_size_sec
    self._started_at = time.time()

  def check_alive(self) -> None:
    self._pipeline.check_alive()

  def wait_until_ready(self, timeout_sec: float = 120) -> None:
    """Until the pipeline runs: its first progress line is logged."""
    deadline = time.monotonic() + timeout_sec
    while not self._pipeline.progress():
      self._pipeline.check_alive()
      if time.monotonic() > deadline:
        raise TimeoutError(f'the pipeline did not start in {timeout_sec}s')
      time.sleep(0.5)

  def wait_until_counted(self, truth, messages: int) -> Accuracy:
    """Until every row is exact, or the windows' deadline passes."""
    del messages  # the truth says when the pipeline is done
    # The last windows close as on a live stream, but a pipeline that fell
    # behind may still be catching up.
    wait_sec = local_run.close_wait_sec(self._window_size_sec) + 300
    local_run.wait_for_counts(
      self._resources, truth, self._pipeline, wait_sec, poll_sec=1
    )
    return compare(
      truth, query.read_all_counts(self._resources.bigtable_table())
    )

  def taken(self) -> list[tuple[float, int]]:
    # Nothing was taken before the process started.
    return [(self._started_at, 0)] + [
      (logged_at.timestamp(), figures['views_read'])
      for logged_at, figures in self._pipeline.progress()
    ]

  def kill(self) -> None:
    self._pipeline.kill()

  def stop(self) -> int:
    return self._pipeline.stop()['bigtable_rows_written']


class _RunningCounter:
  SAMPLE_EVERY_SEC = 0.2

  def __init__(self, counter: PerViewCounter, resources: Resources):
    self._counter = counter
    self._resources = resources
    self._samples = []
    self._stopped = threading.Event()
    threading.Thread(target=self._sample, daemon=True).start()

  def _sample(self) -> None:
    while True:
      stats = self._counter.stats()
      self._samples.append((time.time(), stats.increments + stats.malformed))
      if self._stopped.wait(self.SAMPLE_EVERY_SEC):
        return

  def check_alive(self) -> None:
    pass

  def wait_until_ready(self) -> None:
    pass  # it pulls as soon as it is made

  def wait_until_counted(self, truth, messages: int, timeout_sec=1800):
    """Until the counter has taken every message published."""
    deadline = time.monotonic() + timeout_sec
    while time.monotonic() < deadline:
      if self._samples and self._samples[-1][1] >= messages:
        break
      time.sleep(self.SAMPLE_EVERY_SEC)
    stored = query.read_all_counts(self._resources.bigtable_table())
    return compare(truth, stored)

  def taken(self) -> list[tuple[float, int]]:
    return list(self._samples)

  def stop(self) -> int:
    self._stopped.set()
    return self._counter.stop().increments


class _CounterProcess:
  """The per-view counter in a process of its own: done when its stored
  total stops moving after reaching the truth's, redeliveries included."""

  # Longer than the subscription's ack deadline, so that the views a killed
  # counter held are redelivered before the end is called.
  SETTLE_SEC = 30

  def __init__(self, process: subprocess.Popen, resources: Resources):
    self._process = process
    self._resources = resources

  def wait_until_ready(self) -> None:
    # Its subscriber pulls within a second of starting; a view published
    # before that waits in the subscription, which is no harm here.
    pass

  def kill(self) -> None:
    os.killpg(self._process.pid, signal.SIGKILL)
    self._process.wait()

  def wait_until_counted(self, truth, messages: int, timeout_sec=900):
    del messages  # redeliveries make more; the stored total says when
    table = self._resources.bigtable_table()
    expected = sum(c.views for c in truth)
    deadline = time.monotonic() + timeout_sec
    last_total, moved_at = -1, time.monotonic()
    while time.monotonic() < deadline:
      total = sum(c.views for c in query.read_all_counts(table))
      if total != last_total:
        last_total, moved_at = total, time.monotonic()
      elif total >= expected and time.monotonic() - moved_at > self.SETTLE_SEC:
        break
      time.sleep(1)
    return compare(truth, query.read_all_counts(table))
