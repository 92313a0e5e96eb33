import pytest

from pipeline.direct_runner_metrics import give_each_bundle_its_own_metrics


@pytest.fixture(autouse=True, scope='session')
def _exact_direct_runner_counters():
  # As pipeline.run does for local runs; see pipeline/direct_runner_metrics.
  give_each_bundle_its_own_metrics()
