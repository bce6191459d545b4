"""TensorBoard's event files as bytes, from tensorboardX's protos alone (no TF, no torch).

`record(event(value, step))` is one summary value as TensorBoard reads it: an Event
framed as a TFRecord, to be appended to a run's `events.out.tfevents.*` file
(tensorboard.py writes them). `torch_hidden()` is how tensorboardX is imported without
torch.
"""

import contextlib
import struct
import sys
import time


@contextlib.contextmanager
def torch_hidden():
  """`import torch` fails inside, unless torch is imported already.

  Importing anything from tensorboardX runs its package __init__, which imports its
  SummaryWriter, which imports torch when it is installed (2.3 s on a 2-core VM) for
  nothing this module uses. The one `import torch` that runs on import is inside
  `try ... except ImportError`; the others are in functions this module never calls.
  """
  if 'torch' in sys.modules:
    yield
    return
  sys.modules['torch'] = None  # Python's marker for a module that cannot be imported.
  try:
    yield
  finally:
    if sys.modules.get('torch', 0) is None:
      del sys.modules['torch']


with torch_hidden():
  # pylint: disable=g-import-not-at-top
  from tensorboardX.proto import event_pb2, summary_pb2
  from tensorboardX.record_writer import masked_crc32c


def record(event: event_pb2.Event) -> bytes:
  """One TFRecord: length, its masked CRC, the data, its masked CRC."""
  data = event.SerializeToString()
  header = struct.pack('<Q', len(data))
  return (header + struct.pack('<I', masked_crc32c(header)) + data
          + struct.pack('<I', masked_crc32c(data)))


def event(value: summary_pb2.Summary.Value, step: int = 0) -> event_pb2.Event:
  return event_pb2.Event(wall_time=time.time(), step=step,
                         summary=summary_pb2.Summary(value=[value]))
