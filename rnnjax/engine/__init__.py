"""The engine: a population of recurrent networks trained in one compiled program.

Everything here runs on the devices or shapes what does; it imports nothing from the
host side (search, results, final, run).

  cells          RNN / LSTM / GRU cells as pure functions on one example
  fused          a layer over a whole sequence, with hand-written backward passes
  model          a stack of layers scanned over time, dropout, readout; masked widths
  losses         losses and metrics on scaled predictions
  optim          optimizers whose hyperparameters are traced per-member values
  tasks          what differs between tasks on the device: batches, loss, evaluation
  population     one member's training step, chunk and evaluation; the population's vmap
  generate       sampling text from a character model
  sharding       the population axis over a device mesh; members per vmapped group
  distributed    one sweep over several processes (JAX's distributed runtime)
  processes      a run of several processes: its start-up checks; a lost peer told apart
  gather         gathers of population rows on the devices (halving's and PBT's decisions)
  compile_cache  JAX's persistent compilation cache, and what it saved
"""
