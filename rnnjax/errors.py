"""The one exception type for bad user input (flags, specs, files).

Entry points print it as a single line and exit with status 2; everything else is a bug
and keeps its traceback.
"""


class InputError(ValueError):
  """Bad user input. The message names the flag or file and what was wrong with it."""
