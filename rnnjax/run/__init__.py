"""Running a sweep: the driver and what keeps a run safe and resumable.

The top of the ladder: only the entry points (experiments/) import it.

  sweep       `run_sweep(spec, workdir)`: checks, lock, a fresh start or a resume, the
              loop, the finish
  chunks      the loop: every (run, chunk) trained, decided on, recorded, checkpointed
  finish      after the last chunk: the summary, the refit, the final model saved; a
              previous one set aside (--remake_final)
  prepare     the checked, planned sweep (`Prepared`), its rounds
  dry_run     the dry run: every bucket compiled and timed, the plan's table and estimate
  resume      restarting from the newest checkpoint that restores
  checkpoint  orbax checkpoints after each chunk
  workdir     the work directory's state: new, resume, finished, its final model to
              remake, another sweep
  lock        one sweep per work directory
  stop        SIGINT / SIGTERM at a safe point
  compare     search strategies head to head at equal compute (several sweeps)
"""
