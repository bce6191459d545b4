"""An absl entry point's `main` run in this process, as its command line would run it."""

from absl import flags

from experiments import population_sweep


def run_main(main, argv) -> int:
  """The exit status of `main` on `argv` (program name first), parsed on fresh flag
  values by population_sweep.parse_flags (a bad flag exits there, as on a command
  line); the flags are left unparsed again for the next test."""
  flags.FLAGS.unparse_flags()
  try:
    main(population_sweep.parse_flags(argv))
    return 0
  except SystemExit as e:
    return e.code
  finally:
    flags.FLAGS.unparse_flags()
