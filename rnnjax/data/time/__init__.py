"""A series' time column.

  column   reading a time column's cells, its season, its labels beyond the last time
  periods  time cells counted in one unit (months, business days, seconds, steps), its
           step (and whether new histories step as a model's data did), and periods
           written back as cells
  grid     the column read as a grid: rows sorted by time, absent periods put back empty
  follows  a part given after each series (a test part, future rows) held to start the
           step after it
"""
