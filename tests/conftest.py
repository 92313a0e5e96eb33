"""Fixtures shared by every test package.

`emulators` gives the whole session one Pub/Sub and one Bigtable emulator
(or those the environment names) and points the Google Cloud clients at
them. Tests that use it are marked `emulator`; when the Cloud SDK emulators
are not installed they are skipped, and the reason is printed, not hidden;
with VIEWCOUNTS_REQUIRE_EMULATORS=1 (for CI) they fail instead.
"""

import contextlib
import os
import uuid

import pytest

from pipeline.pipeline import fix_direct_runner
from viewcounts import emulators as harness
from viewcounts import provision
from viewcounts.resources import Resources


def pytest_configure(config):
  # The Bigtable client warns at every start that it uses the emulator.
  config.addinivalue_line(
    'filterwarnings', 'ignore:Connecting to Bigtable emulator:RuntimeWarning'
  )


def pytest_collection_modifyitems(items):
  # A test that needs the emulators is an emulator test, marked or not, so
  # that `-m "not emulator"` always leaves it out.
  for item in items:
    if 'emulators' in getattr(item, 'fixturenames', ()):
      item.add_marker(pytest.mark.emulator)


@pytest.fixture(autouse=True, scope='session')
def _fixed_direct_runner():
  # As pipeline.run does for local runs; see pipeline.fix_direct_runner.
  fix_direct_runner()


@pytest.fixture(scope='session')
def emulators(request):
  """{PUBSUB_EMULATOR_HOST: host:port, BIGTABLE_EMULATOR_HOST: host:port}.

  Also set in os.environ for the rest of the session, so clients made
  anywhere in a test, a pipeline's included, use the emulators.
  """
  with contextlib.ExitStack() as stack:
    try:
      env = stack.enter_context(harness.running_emulators())
    except harness.EmulatorsUnavailable as error:
      required = os.environ.get('VIEWCOUNTS_REQUIRE_EMULATORS') == '1'
      verdict = 'FAILED' if required else 'SKIPPED'
      message = f'EMULATOR TESTS {verdict}: {error}'
      capture = request.config.pluginmanager.getplugin('capturemanager')
      with capture.global_and_fixture_disabled():
        print(f'\n{"!" * 79}\n{message}\n{"!" * 79}')
      if required:
        pytest.fail(message, pytrace=False)
      pytest.skip(message)
    patch = stack.enter_context(pytest.MonkeyPatch.context())
    for name, value in env.items():
      patch.setenv(name, value)
    yield env


@pytest.fixture
def fresh(emulators) -> Resources:
  """Resource names no other test uses, so tests share the emulators safely."""
  suffix = uuid.uuid4().hex[:10]
  return Resources(
    project='viewcounts-test',
    table=f'counts-{suffix}',
    topic=f'views-{suffix}',
    subscription=f'pipeline-{suffix}',
    dead_letter_topic=f'dead-{suffix}',
  )


@pytest.fixture
def provisioned(fresh) -> Resources:
  provision.provision(fresh)
  return fresh
