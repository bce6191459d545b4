"""The search between chunks: its state, its decisions applied to the runs, its rounds.

An adaptive search (`DECIDES`) makes plain decision records from the tables (decision.py);
`apply` carries out any of them on the runs with the engine's gathers:
  grid, random, tpe  nothing.
  halving       halving.decide says which rows go on at each rung; cut members are
                `retired` (their record, at their best parameters, goes to the summary)
                and each run's survivors are gathered into a smaller population.
  pbt           pbt.decide says who copies whom and the new values; gather.exploit and
                gather.set_fields apply them. Lineage and new values go to metrics.jsonl,
                and to `SearchState.copies` (lineage.py: what trained whose weights).

Every search runs in rounds of configurations. grid, random, halving and pbt have one,
the spec's members (`first_round` and `ask_round` give none); tpe asks `--rounds` rounds
of its study (tpe.py), each told its values when it ends. The driver asks at the sweep's
start and at each round's end, and plans whatever round comes back after the earlier
ones (`SearchState.rounds` holds them, so a resumed sweep is rebuilt from its checkpoint).

`SearchState` is everything a restart needs (the tables of runs that reached a step the
others have not, the retired members, the rounds asked, PBT's copies); it is saved with every
checkpoint. Decisions depend on the tables, the seed and the step only, and the rounds on
the study's journal cut back to the checkpoint, so a resumed sweep decides exactly as
an uninterrupted one.
"""

import dataclasses
import math
from typing import Callable, NamedTuple

import jax
import numpy as np

from rnnjax.engine import distributed
from rnnjax.engine import gather
from rnnjax.engine import sharding
from rnnjax.errors import InputError
from rnnjax.search import hparams
from rnnjax.search import rules
from rnnjax.search.strategies import halving
from rnnjax.search.strategies import lineage
from rnnjax.search.strategies import pbt
from rnnjax.search.strategies import tpe


class Table(NamedTuple):
  """A run's members after its latest chunk, each <[P]>."""
  best_val: np.ndarray   # Best selection metric so far (halving ranks by it).
  status: np.ndarray
  uids: np.ndarray
  latest: np.ndarray     # Selection metric of the current weights (PBT ranks by it).


@dataclasses.dataclass(frozen=True)
class SearchState:
  tables: dict = dataclasses.field(default_factory=dict)   # run -> Table
  retired: dict = dataclasses.field(default_factory=dict)  # uid -> member record
  rounds: tuple = ()      # Rounds asked (tpe): configurations (axis name -> value); ()
                          # for a search of the spec's members.
  journal_bytes: int = 0  # tpe: the length of WORKDIR/tpe.journal that this state covers
  copies: tuple = ()      # pbt: each decision's copies (lineage.copies_of), oldest first

  def to_json(self) -> dict:
    """The layout of every checkpoint's progress['searcher'] (from_json reads it back):
    tables as [best_val, status, uids, latest] lists, keys as strings. JSON has no inf
    or NaN: non-finite metrics are written as None, and read back as inf."""
    finite = lambda a: [v if math.isfinite(v) else None
                        for v in np.asarray(a, np.float64).tolist()]
    return {'retired': {str(k): v for k, v in self.retired.items()},
            'rounds': [list(configs) for configs in self.rounds],
            'journal_bytes': self.journal_bytes, 'copies': list(self.copies),
            'tables': {str(r): [finite(t.best_val), t.status.tolist(), t.uids.tolist(),
                                finite(t.latest)] for r, t in self.tables.items()}}

  @classmethod
  def from_json(cls, saved: dict) -> 'SearchState':
    number = lambda a: np.asarray([np.inf if v is None else v for v in a], np.float64)
    return cls(tables={int(r): Table(number(b), np.asarray(s), np.asarray(u), number(l))
                       for r, (b, s, u, l) in saved['tables'].items()},
               retired={int(k): v for k, v in saved['retired'].items()},
               rounds=tuple(tuple(configs) for configs in saved.get('rounds', ())),
               journal_bytes=saved.get('journal_bytes', 0),
               copies=tuple(saved.get('copies', ())))


# The searches that decide between chunks: name -> (settings(spec) -> its settings,
# decisions(settings, tables, step, hparams_of) -> run -> decision.Decision). A new one
# is a module with those two functions, named here.
DECIDES = {'halving': (halving.settings, halving.decisions),
           'pbt': (pbt.settings, pbt.decisions)}


# What a search says of the population it plans: name -> (plan -> [notes]).
PLAN_NOTES = {'pbt': pbt.alone_note}


def plan_notes(spec, plan) -> list:
  """The search's notes on `plan` (PBT's members alone in their width); [] for most."""
  return PLAN_NOTES[spec.search](plan) if spec.search in PLAN_NOTES else []


class Strategy(NamedTuple):
  """The sweep's search, read once from the spec: its settings and its decisions (None
  for a search that decides nothing between chunks)."""
  settings: object = None
  decisions: Callable | None = None


def strategy(spec) -> Strategy:
  if spec.search not in DECIDES:
    return Strategy()
  settings, decisions = DECIDES[spec.search]
  return Strategy(settings(spec), decisions)


# Settings of one search, and the search that reads them (no other search does).
OWN_SETTINGS = (('eta', 'halving'), ('min_steps', 'halving'), ('pbt_interval', 'pbt'),
                ('pbt_fraction', 'pbt'), ('rounds', 'tpe'), ('last_round', 'tpe'))


def notes(spec, *, others: bool = True) -> list[str]:
  """What the sweep's log says of its search settings: a setting of another search (not
  refused: the search comparison sets every strategy's, and says none: `others` False),
  and a PBT sweep with nothing it may perturb."""
  out, defaults = [], type(spec)()
  for name, search in OWN_SETTINGS if others else ():
    if name in ('rounds', 'last_round'):  # Refused outside tpe (rules.py): kept above
      # for compare's column.
      continue
    if spec.search != search and getattr(spec, name) != getattr(defaults, name):
      out.append(f'note: --{name}={getattr(spec, name)} is for --search={search}; '
                 f'--search={spec.search} does not read it')
  if spec.search == 'pbt' and not strategy(spec).settings.space:
    mine = [n for n in hparams.EXPLORABLE if rules.applies(n, spec.task)]
    out.append(f'note: --search=pbt sweeps no hyperparameter it may perturb '
               f'({", ".join(mine)}): its members only copy better ones\' weights')
  return out


def asks_rounds(spec) -> bool:
  """Whether the search asks its rounds of configurations of a study (tpe) rather than
  taking the spec's members: its plan grows round by round, and a resumed sweep plans
  the rounds its checkpoint holds."""
  return spec.search == 'tpe'


def first_round(spec):
  """The first round's configurations (planner.make_plan's `configs`) for the plan made
  before a work directory is open (`prepare`, a dry run): None, the spec's members,
  unless the search asks its rounds: tpe asks round 0 of a study in memory (the same
  seeded sampler as the work directory's study, which `ask_round` asks)."""
  if not asks_rounds(spec):
    return None
  if jax.process_count() > 1:  # Process 0 alone writes its study.
    raise InputError('--search=tpe: run it in one process (without --distributed)')
  return tpe.propose(spec, None, 0)


def largest_round(spec):
  """A dry run's round where the first is not the largest (tpe's --last_round above
  --num_members), else None: that many configurations drawn at random as round 0's are
  (its own proposals follow results a dry run does not have), so that its plan has the
  waves and memory of the sweep's largest round."""
  sizes = [tpe.round_size(spec, k) for k in range(spec.rounds)] if asks_rounds(spec) else []
  if not sizes or sizes[0] == max(sizes):
    return None
  return tpe.propose(dataclasses.replace(spec, num_members=max(sizes), last_round=0),
                     None, 0)


def ask_round(spec, state: SearchState, workdir: str, config_of: dict):
  """At the sweep's start and at each round's end: tells the round that ended its
  values and asks the next round's configurations, while there are fewer than `--rounds`
  (tpe, its study in WORKDIR/tpe.journal). A search of the spec's members has one round,
  already planned: nothing to tell or ask.

  config_of: uid -> its configuration's number, for every member so far.
  Returns (state, the new round's configurations or None): the new round is added to
  `state.rounds`.
  """
  if not asks_rounds(spec):
    return state, None
  rounds, asked = state.rounds, None
  if rounds:
    tpe.tell(spec, workdir, len(rounds) - 1, list(state.tables.values()), config_of)
  if len(rounds) < spec.rounds:
    asked = tpe.propose(spec, workdir, len(rounds))
    rounds += (asked,)
  return dataclasses.replace(state, rounds=rounds,
                             journal_bytes=tpe.journal_bytes(workdir)), asked


def round_note(spec, rounds) -> str:
  """What the sweep's log says of the round just asked (the last of `rounds`): once,
  that tpe trains a configuration again (its space used up, or only repeats proposed in
  tpe.MAX_ASKS asks), '' for none."""
  return tpe.repeats_note(spec, rounds) if asks_rounds(spec) and rounds else ''


def observe(state: SearchState, r: int, table: Table) -> SearchState:
  return dataclasses.replace(state, tables={**state.tables, r: table})


def decide(rules: Strategy, state: SearchState, runs: list, step: int, *, retire, mesh):
  """Applies the strategy once every run has reached `step`: its decisions, made from
  `state.tables` alone, carried out by `apply`. Returns (state, runs, records for
  metrics.jsonl); see `apply` for `retire`."""
  if rules.decisions is None:
    return state, list(runs), []
  decisions = rules.decisions(rules.settings, state.tables, step,
                              lambda r: distributed.fetch(runs[r].hp))
  return apply(decisions, state, runs, step, retire=retire, mesh=mesh)


def apply(decisions: dict, state: SearchState, runs: list, step: int, *, retire, mesh):
  """Carries out each run's decision.Decision on its population, on the devices: first
  the copies (gather.exploit, then gather.set_fields for the values), recorded as
  lineage; then the rows not kept retire and the rest are gathered (the run's table,
  whose rows have moved, is dropped; a run with none kept ends).

  decisions: run -> decision.Decision, made at `step`.
  retire(run, rows, stopped_by) -> the member records (dicts with 'uid') of rows
  <int>[n] of `run` that leave the population, at their best parameters (the driver
  scores them: results/member_scores.py); kept in `state.retired` for the summary.
  Returns (state, runs, records for metrics.jsonl).
  """
  runs, records = list(runs), []
  shard = sharding.members_sharding(mesh)
  for r, decision in sorted(decisions.items()):
    run = runs[r]
    if decision.src is not None:
      new_state, hp = gather.exploit(run.state, run.hp, decision.src, sharding=shard)
      if decision.values:
        hp = gather.set_fields(hp, hparams.replaced(
            hp, decision.values, distributed.fetch(hp.dropout_rates)), sharding=shard)
      uids = np.asarray(run.uids)
      records += lineage.records(uids, uids[decision.src], step, decision.values,
                                     bucket=run.bucket)
      state = dataclasses.replace(state, copies=state.copies + (lineage.copies_of(
          uids, uids[decision.src], step, decision.values),))
      run = runs[r] = dataclasses.replace(run, state=new_state, hp=hp)
    if decision.keep is not None:
      state, runs[r] = _keep(state, r, run, decision, retire=retire, mesh=mesh)
  return state, runs, records


def _keep(state, r, run, decision, *, retire, mesh):
  """(state, run `r` with only the rows `decision.keep`), the others retired."""
  keep = decision.keep
  cut = (np.asarray(run.uids) >= 0) & ~keep
  retired = retire(run, np.flatnonzero(cut), decision.why) if cut.any() else []
  state = dataclasses.replace(
      state, retired={**state.retired, **{rec['uid']: rec for rec in retired}},
      tables={k: v for k, v in state.tables.items() if k != r})
  if not keep.any():
    return state, dataclasses.replace(run, state=None, uids=())
  new_state, hp, index = gather.compact_members(
      run.state, run.hp, keep, multiple=mesh.size,
      sharding=sharding.members_sharding(mesh))
  uids = [run.uids[i] for i in index[:int(keep.sum())]]
  return state, dataclasses.replace(run, state=new_state, hp=hp, uids=tuple(
      uids + [-1 - k for k in range(len(index) - len(uids))]))
