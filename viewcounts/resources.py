"""Names of the Pub/Sub and Bigtable resources the tools work on.

The clients pick the emulators from PUBSUB_EMULATOR_HOST and
BIGTABLE_EMULATOR_HOST when those are set, so the same names work locally
and on Google Cloud.
"""

import dataclasses
import os

from google.cloud import bigtable
from google.cloud.bigtable.table import Table

from transforms import schema

DEFAULT_PROJECT = 'viewcounts-local'


def default_project() -> str:
  return os.environ.get('GOOGLE_CLOUD_PROJECT') or DEFAULT_PROJECT


@dataclasses.dataclass(frozen=True)
class Resources:
  """One deployment: a project's topics, subscriptions and table."""

  project: str = dataclasses.field(default_factory=default_project)
  instance: str = 'viewcounts'
  table: str = schema.DEFAULT_TABLE_ID
  topic: str = 'views'
  subscription: str = 'views-pipeline'
  dead_letter_topic: str = 'views-dead-letter'
  # None derives '<dead_letter_topic>-reader', so that renaming the topic
  # does not leave the reader attached to another topic's name.
  dead_letter_subscription: str | None = None

  @property
  def topic_path(self) -> str:
    return f'projects/{self.project}/topics/{self.topic}'

  @property
  def subscription_path(self) -> str:
    return f'projects/{self.project}/subscriptions/{self.subscription}'

  @property
  def dead_letter_topic_path(self) -> str:
    return f'projects/{self.project}/topics/{self.dead_letter_topic}'

  @property
  def dead_letter_subscription_path(self) -> str:
    name = self.dead_letter_subscription or f'{self.dead_letter_topic}-reader'
    return f'projects/{self.project}/subscriptions/{name}'

  def bigtable_table(self, admin: bool = False) -> Table:
    """The table through a new client; admin is needed to create it."""
    client = bigtable.Client(project=self.project, admin=admin)
    return client.instance(self.instance).table(self.table)
