import uuid

import pytest

from viewcounts import provision
from viewcounts.resources import Resources


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
