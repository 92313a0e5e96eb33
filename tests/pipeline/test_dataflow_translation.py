"""The whole pipeline translated for Dataflow, offline.

``--dry_run=True`` makes Beam's DataflowRunner build the job (the portable
pipeline proto and the v1beta3 Job) and return before it creates an API
client, so nothing is staged or submitted and no credentials are needed.
The fixture below turns the network off to prove it.
"""

import socket

import apache_beam as beam
import google.auth
import pytest
from apache_beam.options.pipeline_options import DebugOptions, PipelineOptions
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.dataflow.internal import apiclient

from pipeline.pipeline import build_pipeline

SUBSCRIPTION = 'projects/test-project/subscriptions/views'
DEAD_LETTER_TOPIC = 'projects/test-project/topics/dead-letters'
# Dataflow matches these when a running job is replaced with --update.
STEP_LABELS = [
  'ReadViewEvents',
  'ParseViewEvents',
  'DropTooLateViews',
  'CountViewsPerWindow',
  'CollectDeadLetters',
  'WriteCountsToBigtable',
  'WriteDeadLetters',
]


@pytest.fixture
def network_attempts(monkeypatch):
  """Refuses and records every connection, lookup and credentials search."""
  attempts = []

  def refuse(what):
    def refused(*args, **kwargs):
      attempts.append(what)
      raise OSError(f'{what}: the network is off in this test')

    return refused

  monkeypatch.setattr(socket.socket, 'connect', refuse('socket.connect'))
  monkeypatch.setattr(socket.socket, 'connect_ex', refuse('socket.connect_ex'))
  monkeypatch.setattr(socket, 'getaddrinfo', refuse('getaddrinfo'))
  monkeypatch.setattr(google.auth, 'default', refuse('google.auth.default'))
  # Should anything still look, it finds no key file and no metadata server.
  monkeypatch.delenv('GOOGLE_APPLICATION_CREDENTIALS', raising=False)
  monkeypatch.setenv('GCE_METADATA_HOST', '127.0.0.1:9')
  monkeypatch.setenv('GCE_METADATA_IP', '127.0.0.1:9')
  return attempts


def _translate(*flags):
  """Runs build_pipeline on the DataflowRunner with --dry_run; the job."""
  options = PipelineOptions(
    [
      '--runner=DataflowRunner',
      '--dry_run=True',
      '--project=test-project',
      '--region=us-central1',
      '--temp_location',
      'gs://bucket/tmp',
      '--streaming',
      f'--input_subscription={SUBSCRIPTION}',
      '--bigtable_instance_id=test-instance',
      f'--dead_letter_topic={DEAD_LETTER_TOPIC}',
      *flags,
    ]
  )
  p = beam.Pipeline(options=options)
  build_pipeline(p, options, write_results=True)
  result = p.run()
  return result.job


def _top_level_steps(job) -> list[str]:
  # Runner v2 sends the graph as the portable pipeline; the v1beta3 job
  # itself has no steps. Below the root are the steps build_pipeline added.
  components = job.proto_pipeline.components
  [root_id] = job.proto_pipeline.root_transform_ids
  return [
    components.transforms[step].unique_name
    for step in components.transforms[root_id].subtransforms
  ]


def _pubsub_read(job) -> beam_runner_api_pb2.PubSubReadPayload:
  [read] = [
    transform
    for transform in job.proto_pipeline.components.transforms.values()
    if transform.spec.urn == common_urns.composites.PUBSUB_READ.urn
  ]
  assert read.unique_name.startswith('ReadViewEvents/')
  return beam_runner_api_pb2.PubSubReadPayload.FromString(read.spec.payload)


def test_the_pipeline_translates_to_a_streaming_job_offline(network_attempts):
  job = _translate()
  assert job.proto.type == apiclient.dataflow.JobType.JOB_TYPE_STREAMING
  experiments = job.options.view_as(DebugOptions).experiments
  assert 'enable_streaming_engine' in experiments
  assert _top_level_steps(job) == STEP_LABELS
  # The stages inside keep their labels too, for --update.
  names = {
    transform.unique_name
    for transform in job.proto_pipeline.components.transforms.values()
  }
  assert 'CountViewsPerWindow/TallyPerVideo' in names
  assert 'WriteCountsToBigtable/MutateRows' in names
  assert network_attempts == []


def test_dataflow_reads_pubsub_with_the_id_label(network_attempts):
  # Dataflow drops redelivered messages with the same id attribute value.
  job = _translate('--id_attribute=eventId', '--timestamp_attribute=ts')
  read = _pubsub_read(job)
  assert read.subscription == SUBSCRIPTION
  assert read.id_attribute == 'eventId'
  assert read.with_attributes
  # The event time is resolved by ParseViewEvents, never by the read (C2).
  assert read.timestamp_attribute == ''
  assert network_attempts == []


def test_without_an_id_attribute_the_read_has_no_id_label(network_attempts):
  read = _pubsub_read(_translate())
  assert read.id_attribute == ''
  assert network_attempts == []
