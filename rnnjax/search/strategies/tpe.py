"""`--search=tpe`: rounds of configurations proposed by Optuna's TPE sampler.

Bergstra et al. 2011, "Algorithms for hyper-parameter optimization" (the tree-structured
Parzen estimator), multivariate (Falkner et al. 2018), through Optuna (Akiba et al. 2019).
The sweep runs `--rounds` rounds; round k asks the study for `--num_members`
configurations at once (the last round `--last_round`, where given) (`constant_liar`:
the ones asked but not yet told count as bad results, so the N proposals spread out),
trains them as one population like any other members (buckets, waves), and tells each
configuration's value: the mean over its seeds of the validation selection metric at their
best parameters (and over its cross-validation folds), as the sweep ranks configurations
(a diverged seed at the best it reached before diverging; FAIL where no seed has a finite
value, every one diverged before its first evaluation: the summary scores such a member's
untrained weights at the end, which the sweep does not have while it asks rounds).
Round 0 is Optuna's random start-up; every later round models all earlier ones.

Axes become Optuna distributions: listed values (structural or not) categorical,
uniform / loguniform real ranges (log scale kept), randint integer ranges; a constant is
no parameter. The study lives in WORKDIR/tpe.journal (Optuna's JournalStorage). Each
round's sampler is seeded from (--seed, round), and the journal is cut back to what the
checkpoint covers on resume, so a resumed round proposes exactly what an uninterrupted
one did. Optuna is imported only here, only for tpe sweeps.
"""

import os
import warnings

import numpy as np


JOURNAL = 'tpe.journal'
STUDY = 'rnnjax-tpe'


def _optuna():
  import optuna  # pylint: disable=g-import-not-at-top
  optuna.logging.set_verbosity(optuna.logging.WARNING)
  return optuna


def distributions(axes: dict) -> dict:
  """name -> Optuna distribution of every axis that takes more than one value."""
  dist = _optuna().distributions
  out = {}
  for name, axis in axes.items():
    if axis.kind == 'grid':
      if len(axis.values) > 1:
        out[name] = dist.CategoricalDistribution(axis.values)
    elif axis.kind == 'randint':
      out[name] = dist.IntDistribution(*axis.values)
    else:
      out[name] = dist.FloatDistribution(*axis.values, log=axis.kind == 'loguniform')
  return out


def open_study(path: str | None, spec, round_: int):
  """The study in the journal at `path` (None: in memory), with round `round_`'s
  sampler."""
  optuna = _optuna()
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
    sampler = optuna.samplers.TPESampler(
        multivariate=True, constant_liar=True, n_startup_trials=spec.num_members,
        seed=int(np.random.SeedSequence([spec.seed, round_]).generate_state(1)[0]))
  storage = None
  if path is not None:
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(path))
  return optuna.create_study(study_name=STUDY, storage=storage, sampler=sampler,
                             direction='minimize', load_if_exists=True)


def round_size(spec, round_: int) -> int:
  """Configurations round `round_` asks: --num_members, the last round --last_round
  where given (so that every earlier round has --num_members: a configuration's number
  is round_ * num_members + its place in the round)."""
  if spec.last_round and round_ == spec.rounds - 1:
    return spec.last_round
  return spec.num_members


# Asks for one configuration before a repeat is trained after all (a space of few values).
MAX_ASKS = 20


def _key(params: dict) -> tuple:
  return tuple(sorted(params.items()))


def space_size(dists: dict) -> float:
  """How many configurations the distributions hold (inf with a real range)."""
  size = 1
  for d in dists.values():
    if isinstance(d, _optuna().distributions.CategoricalDistribution):
      size *= len(d.choices)
    elif isinstance(d, _optuna().distributions.IntDistribution):
      size *= (d.high - d.low) // d.step + 1
    else:
      return float('inf')
  return size


def ask(study, spec, round_: int) -> list:
  """Round `round_`'s `round_size` configurations: axis name -> value (constants too).

  TPE proposes an earlier configuration now and then (a categorical axis, a narrow
  range). A repeat is not trained twice: one already told is told its value again (as
  Optuna's FAQ does), one asked earlier in this round is closed as failed (nothing was
  learnt), and the study is asked again, up to MAX_ASKS times per configuration. Once the
  space has no configuration left untried (or after MAX_ASKS repeats), a repeat trains:
  its members are more seeds of that configuration (plan.same_values gives them its
  number), so its trial's 'config' is that configuration's number and `tell` tells it
  the mean over every seed of it so far.
  """
  optuna = _optuna()
  state = optuna.trial.TrialState
  axes = spec.axes()
  dists = distributions(axes)
  size = space_size(dists)
  told = {}  # params -> a trial told its value (or failed) in an earlier round
  for t in study.get_trials(deepcopy=False, states=(state.COMPLETE, state.FAIL)):
    if 'config' in t.user_attrs:
      told.setdefault(_key(t.params), t)
  asked = {}  # params -> its configuration's number, this round
  configs = []
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
    for c in range(round_size(spec, round_)):
      for attempt in range(MAX_ASKS):
        trial = study.ask(dists)
        trial.set_user_attr('round', round_)
        key = _key(trial.params)
        last = attempt == MAX_ASKS - 1 or len(told.keys() | asked) >= size
        if last or (key not in told and key not in asked):
          break
        if key in asked:
          trial.set_user_attr('repeat_of', asked[key])
          study.tell(trial, state=state.FAIL)
        else:
          first = told[key]
          trial.set_user_attr('repeat_of', first.user_attrs['config'])
          if first.state == state.COMPLETE:
            study.tell(trial, first.value)
          else:
            study.tell(trial, state=state.FAIL)
      # A repeat that trains is more seeds of its first configuration.
      first = asked.get(key, told[key].user_attrs['config'] if key in told else None)
      if first is None:
        first = asked[key] = round_ * spec.num_members + c
      trial.set_user_attr('config', first)
      configs.append({name: trial.params[name] if name in dists else axis.values[0]
                      for name, axis in axes.items()})
  return configs


def repeats_note(spec, rounds) -> str:
  """The log's line when the last of `rounds` (each a list of configurations) is the
  first to train a configuration again, else ''."""
  seen, repeated = set(), []
  for configs in rounds:
    keys = [_key(c) for c in configs]
    repeated.append(any(k in seen or k in keys[:i] for i, k in enumerate(keys)))
    seen.update(keys)
  if not repeated or not repeated[-1] or any(repeated[:-1]):
    return ''
  size = space_size(distributions(spec.axes()))
  number = len(rounds)  # Counted from 1, as the log's "(round 1 of 3)" is the first.
  if len(seen) >= size:
    return (f"note: the search space's {size} configurations are all tried; round "
            f'{number} and later ones train them again as more seeds of them')
  return (f'note: TPE proposed only configurations already tried in {MAX_ASKS} asks; '
          f'round {number} trains some again as more seeds of them')


def propose(spec, workdir: str | None, round_: int) -> list:
  """Opens the study (`workdir` None: a study in memory, e.g. for a dry run's first round)
  and asks round `round_`'s configurations."""
  path = os.path.join(workdir, JOURNAL) if workdir is not None else None
  return ask(open_study(path, spec, round_), spec, round_)


def tell(spec, workdir: str, round_: int, tables: list, configs: dict) -> None:
  """Tells round `round_`'s trials their values.

  tables: the runs' searcher tables (best validation selection metric, status and uid
  of each row; uid < 0 pads), every round's; configs: uid -> its configuration's number.
  A trial is told the mean over every seed its configuration has so far (a repeat's
  members are more seeds of an earlier configuration). A trial's 'config' is a plan
  row, read as that row's configuration: an older rnnjax numbered a repeat as its own
  row, and a sweep it began resumes here.
  """
  optuna = _optuna()
  study = open_study(os.path.join(workdir, JOURNAL), spec, round_)
  per_row = spec.num_seeds * spec.folds
  config_of_row = {uid // per_row: c for uid, c in configs.items()}
  values = {}  # config -> [value] over its seeds (a diverged one's best before)
  for table in tables:
    for best, uid in zip(table.best_val, table.uids):
      if uid >= 0:
        values.setdefault(configs[int(uid)], []).append(float(best))
  for trial in study.get_trials(deepcopy=False,
                                states=(optuna.trial.TrialState.RUNNING,)):
    if trial.user_attrs.get('round') != round_:
      continue
    seeds = values[config_of_row[trial.user_attrs['config']]]
    usable = [v for v in seeds if np.isfinite(v)]
    if usable:
      study.tell(trial.number, float(np.mean(usable)))
    else:
      study.tell(trial.number, state=optuna.trial.TrialState.FAIL)


def journal_bytes(workdir: str) -> int:
  path = os.path.join(workdir, JOURNAL)
  return os.path.getsize(path) if os.path.exists(path) else 0
