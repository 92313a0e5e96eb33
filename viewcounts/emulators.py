"""The official Pub/Sub and Bigtable emulators of the Cloud SDK, on loopback.

    with running_emulators() as env:
      os.environ.update(env)  # the Google Cloud clients read these
      ...

An emulator already named by PUBSUB_EMULATOR_HOST or BIGTABLE_EMULATOR_HOST
is used as it is: neither started nor stopped. The others are started on free
ports of 127.0.0.1, each in its own process group so that stopping it also
stops whatever it spawned, and their output goes to log files, not the
console.
"""

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple

_LOGGER = logging.getLogger(__name__)

PUBSUB_ENV = 'PUBSUB_EMULATOR_HOST'
BIGTABLE_ENV = 'BIGTABLE_EMULATOR_HOST'
FALLBACK_SDK_ROOT = '/usr/lib/google-cloud-sdk'

_LOOPBACK = '127.0.0.1'
_START_ATTEMPTS = 3
_STOP_GRACE_SEC = 10.0
_LOG_TAIL_LINES = 30
_INSTALL_HINT = (
  'Install the Google Cloud SDK emulators and a Java runtime, for example '
  "from Google's apt repository: apt-get install "
  'google-cloud-cli-pubsub-emulator google-cloud-cli-bigtable-emulator '
  'default-jre-headless; or point PUBSUB_EMULATOR_HOST and '
  'BIGTABLE_EMULATOR_HOST at running emulators.'
)


class EmulatorError(RuntimeError):
  """Base of the errors of this module."""


class EmulatorsUnavailable(EmulatorError):
  """The Cloud SDK, an emulator or the Java runtime is not installed."""


class EmulatorStartError(EmulatorError):
  """An emulator was found but did not accept connections in time."""


class _Emulator(NamedTuple):
  name: str
  env_var: str
  # (sdk_root) -> the binary; (binary, host, port) -> the command line.
  binary: Callable[[str], str]
  command: Callable[[str, str, int], list[str]]
  needs_java: bool


_EMULATORS = (
  _Emulator(
    name='pubsub',
    env_var=PUBSUB_ENV,
    binary=lambda sdk: os.path.join(
      sdk, 'platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator'
    ),
    command=lambda binary, host, port: [
      binary,
      f'--host={host}',
      f'--port={port}',
    ],
    needs_java=True,
  ),
  _Emulator(
    name='bigtable',
    env_var=BIGTABLE_ENV,
    binary=lambda sdk: os.path.join(
      sdk, 'platform', 'bigtable-emulator', 'cbtemulator'
    ),
    command=lambda binary, host, port: [
      binary,
      '-host',
      host,
      '-port',
      str(port),
    ],
    needs_java=False,
  ),
)


def find_sdk_root() -> str:
  """Where gcloud says the SDK is installed, else the Debian package's path."""
  gcloud = shutil.which('gcloud')
  if gcloud:
    try:
      result = subprocess.run(
        [gcloud, 'info', '--format=value(installation.sdk_root)'],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, 'CLOUDSDK_CORE_DISABLE_PROMPTS': '1'},
      )
      if result.stdout.strip():
        return result.stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
      _LOGGER.warning(
        'gcloud info failed (%s); trying %s', error, FALLBACK_SDK_ROOT
      )
  return FALLBACK_SDK_ROOT


@contextlib.contextmanager
def running_emulators(
  log_dir: str | None = None,
  start_timeout_sec: float = 60.0,
  sdk_root: str | None = None,
) -> Iterator[dict[str, str]]:
  """Yields {PUBSUB_EMULATOR_HOST: host:port, BIGTABLE_EMULATOR_HOST: ...}.

  Does not change os.environ. Raises EmulatorsUnavailable, before starting
  anything, when an emulator that must be started is not installed, and
  EmulatorStartError, with the end of the emulator's log, when one does not
  accept connections within start_timeout_sec. Logs go to log_dir, else to a
  temporary directory that is removed on a clean exit and kept (and named in
  the log) after an error.
  """
  env = {}
  to_start = []
  for emulator in _EMULATORS:
    if os.environ.get(emulator.env_var):
      env[emulator.env_var] = os.environ[emulator.env_var]
      _wait_for_given(
        emulator.env_var, env[emulator.env_var], start_timeout_sec
      )
      _LOGGER.info(
        'Using the %s emulator at %s from %s',
        emulator.name,
        env[emulator.env_var],
        emulator.env_var,
      )
    else:
      to_start.append(emulator)
  if not to_start:
    yield env
    return

  root = sdk_root or find_sdk_root()
  binaries = {e.name: _check_installed(e, root) for e in to_start}
  own_log_dir = log_dir is None
  if log_dir is None:
    log_dir = tempfile.mkdtemp(prefix='viewcounts-emulators-')
  else:
    os.makedirs(log_dir, exist_ok=True)
  clean_exit = False

  def settle_logs() -> None:
    if not clean_exit:
      _LOGGER.warning('Emulator logs kept in %s', log_dir)
    elif own_log_dir:
      shutil.rmtree(log_dir, ignore_errors=True)

  with contextlib.ExitStack() as stack:
    # Callbacks run last-in first-out: the emulators stop before the logs go.
    stack.callback(settle_logs)
    for emulator in to_start:
      process, address = _start(
        emulator, binaries[emulator.name], log_dir, start_timeout_sec
      )
      stack.callback(_stop, emulator.name, process)
      env[emulator.env_var] = address
    yield env
    clean_exit = True


def _check_installed(emulator: _Emulator, sdk_root: str) -> str:
  binary = emulator.binary(sdk_root)
  if not os.access(binary, os.X_OK):
    raise EmulatorsUnavailable(
      f'The Cloud SDK {emulator.name} emulator is not installed: no '
      f'executable {binary} (SDK root {sdk_root}). {_INSTALL_HINT}'
    )
  if emulator.needs_java and not _java_available():
    raise EmulatorsUnavailable(
      f'The {emulator.name} emulator needs Java, and neither JAVA_HOME nor '
      f'a java command on PATH was found. {_INSTALL_HINT}'
    )
  return binary


def _java_available() -> bool:
  java_home = os.environ.get('JAVA_HOME')
  if java_home:
    return os.access(os.path.join(java_home, 'bin', 'java'), os.X_OK)
  return shutil.which('java') is not None


def _free_port() -> int:
  # Another process may take the port before the emulator binds it; _start
  # retries with a new port when the emulator exits early.
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
    probe.bind((_LOOPBACK, 0))
    return probe.getsockname()[1]


def _start(
  emulator: _Emulator, binary: str, log_dir: str, timeout_sec: float
) -> tuple[subprocess.Popen, str]:
  attempt = 0
  while True:
    attempt += 1
    port = _free_port()
    log_path = os.path.join(log_dir, f'{emulator.name}-{attempt}.log')
    with open(log_path, 'wb') as log:
      process = subprocess.Popen(
        emulator.command(binary, _LOOPBACK, port),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
      )
    _LOGGER.info(
      'Started the %s emulator (pid %d) on %s:%d, log %s',
      emulator.name,
      process.pid,
      _LOOPBACK,
      port,
      log_path,
    )
    ready = False
    try:
      ready = _wait_listening(_LOOPBACK, port, timeout_sec, process)
    finally:
      exited_early = _has_exited(process)
      if not ready:
        _stop(emulator.name, process)
    if ready:
      return process, f'{_LOOPBACK}:{port}'
    if not exited_early or attempt == _START_ATTEMPTS:
      raise EmulatorStartError(
        f'The {emulator.name} emulator did not accept connections on '
        f'{_LOOPBACK}:{port} within {timeout_sec:g}s (exit code '
        f'{process.returncode}). Last lines of {log_path}:\n'
        f'{_tail(log_path)}'
      )
    _LOGGER.warning(
      'The %s emulator exited early (code %s); retrying',
      emulator.name,
      process.returncode,
    )


def _wait_listening(
  host: str,
  port: int,
  timeout_sec: float,
  process: subprocess.Popen | None = None,
) -> bool:
  """True once host:port accepts a connection; False if process exits."""
  deadline = time.monotonic() + timeout_sec
  while time.monotonic() < deadline:
    if process is not None and _has_exited(process):
      return False
    try:
      with socket.create_connection((host, port), timeout=1.0):
        return True
    except OSError:
      time.sleep(0.1)
  return False


def _wait_for_given(env_var: str, address: str, timeout_sec: float) -> None:
  host, _, port = address.rpartition(':')
  if not host or not port.isdigit():
    raise EmulatorStartError(f'{env_var}={address!r} is not host:port')
  if not _wait_listening(host.strip('[]'), int(port), timeout_sec):
    raise EmulatorStartError(
      f'{env_var}={address} does not accept connections (waited '
      f'{timeout_sec:g}s); start that emulator or unset {env_var}'
    )


def _has_exited(process: subprocess.Popen) -> bool:
  """Whether the process has exited, without reaping it.

  An unreaped leader keeps its process group id reserved, so the group can
  still be signalled safely: the id cannot have passed to another process.
  """
  if process.returncode is not None:
    return True
  flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
  return os.waitid(os.P_PID, process.pid, flags) is not None


def _stop(name: str, process: subprocess.Popen) -> None:
  """SIGTERM to the process group, then SIGKILL to whatever is left of it."""
  if process.returncode is not None:
    return
  with contextlib.suppress(ProcessLookupError):
    os.killpg(process.pid, signal.SIGTERM)
  deadline = time.monotonic() + _STOP_GRACE_SEC
  while not _has_exited(process) and time.monotonic() < deadline:
    time.sleep(0.05)
  if not _has_exited(process):
    _LOGGER.warning('The %s emulator ignored SIGTERM; killing it', name)
  # Also ends any child the emulator left in its group.
  with contextlib.suppress(ProcessLookupError):
    os.killpg(process.pid, signal.SIGKILL)
  process.wait()
  _LOGGER.info('Stopped the %s emulator (pid %d)', name, process.pid)


def _tail(path: str) -> str:
  with open(path, 'rb') as log:
    lines = log.read().decode('utf-8', 'replace').splitlines()
  return '\n'.join(lines[-_LOG_TAIL_LINES:]) or '(empty)'
