"""A series' time column.

  column  reading a time column's cells, its season, its labels beyond the last time
  grid    the column read as a grid: rows sorted by time, absent periods put back empty
"""
