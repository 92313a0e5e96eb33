"""Bigtable faults: loud failures, never a green run with missing rows.

Case names refer to ../shared/CASES.md.
"""

import dataclasses
import json
import os
import signal
import subprocess
import time

import pytest
from google.cloud import pubsub_v1

from pipeline import preflight
from viewcounts import local_run, publish, truth, verify

WINDOW_SEC = 5


def test_c7_preflight_names_a_missing_table(provisioned):
  with pytest.raises(preflight.BigtableNotReadyError, match='no-such-table'):
    preflight.check_bigtable_table(
      provisioned.project, provisioned.instance, 'no-such-table'
    )


def test_c7_preflight_names_a_missing_family(provisioned):
  provisioned.bigtable_table(admin=True).column_family('views').delete()
  with pytest.raises(preflight.BigtableNotReadyError, match='"views"'):
    preflight.check_bigtable_table(
      provisioned.project, provisioned.instance, provisioned.table
    )


def test_c7_pipeline_refuses_to_start_without_its_table(provisioned, tmp_path):
  missing = dataclasses.replace(provisioned, table='no-such-table')
  log = tmp_path / 'pipeline.log'
  with local_run.running_pipeline(missing, str(log), WINDOW_SEC) as pipeline:
    _publish_views(provisioned, 2)
    returncode = _wait_for_exit(pipeline, timeout_sec=60)
  assert returncode not in (None, 0)
  assert 'no-such-table does not exist' in log.read_text()


def test_c7_family_gone_mid_run_fails_the_pipeline_loudly(
  provisioned, tmp_path
):
  log = tmp_path / 'pipeline.log'
  with local_run.running_pipeline(
    provisioned, str(log), WINDOW_SEC
  ) as pipeline:
    # Started with a good table (the preflight passed), then the family goes.
    time.sleep(3)
    provisioned.bigtable_table(admin=True).column_family('views').delete()
    _publish_views(provisioned, 2)
    returncode = _wait_for_exit(
      pipeline, timeout_sec=WINDOW_SEC + local_run.PULL_WAIT_SEC + 60
    )
  assert returncode not in (None, 0), 'the pipeline kept running'
  assert 'Bigtable rejected the counts' in log.read_text()
  assert 'unknown family "views"' in log.read_text()


def test_a_bigtable_outage_is_ridden_out(provisioned, tmp_path):
  # The emulator is frozen (SIGSTOP) for 30 s while views keep coming; the
  # Bigtable client retries the blocked writes and they land on resume.
  emulator = _bigtable_emulator_pid()
  with local_run.running_pipeline(
    provisioned, str(tmp_path / 'pipeline.log'), WINDOW_SEC
  ) as pipeline:
    before = _publish_synthetic(provisioned, seed=1)
    os.kill(emulator, signal.SIGSTOP)
    try:
      during = _publish_synthetic(provisioned, seed=2)
      time.sleep(30 - during.elapsed_sec)
    finally:
      os.kill(emulator, signal.SIGCONT)
    expected = truth.merge(before.truth, during.truth)
    comparison = local_run.wait_for_counts(
      provisioned, expected, pipeline, local_run.close_wait_sec(WINDOW_SEC) + 30
    )
    figures = pipeline.stop()
  assert comparison.exact, verify.describe(comparison)
  assert figures['views_counted'] == before.published + during.published


def _publish_views(resources, n):
  with pubsub_v1.PublisherClient() as publisher:
    for i in range(n):
      data = json.dumps({'videoId': 'v1', 'eventId': f'e{i}'}).encode()
      publisher.publish(resources.topic_path, data).result(timeout=30)


def _publish_synthetic(resources, seed):
  return publish.publish_synthetic(
    resources.topic_path,
    rate=50,
    duration_sec=5,
    videos=20,
    seed=seed,
    window_size_sec=WINDOW_SEC,
  )


def _wait_for_exit(pipeline, timeout_sec):
  """The pipeline's exit code, or None if it still runs at the deadline."""
  deadline = time.monotonic() + timeout_sec
  while time.monotonic() < deadline:
    try:
      pipeline.check_alive()
    except RuntimeError:
      return pipeline.returncode
    time.sleep(1)
  return None


def _bigtable_emulator_pid():
  port = os.environ['BIGTABLE_EMULATOR_HOST'].rsplit(':', 1)[1]
  found = subprocess.run(
    ['pgrep', '-f', f'cbtemulator .*-port {port}'],
    capture_output=True,
    text=True,
    check=True,
  )
  [pid] = found.stdout.split()
  return int(pid)
