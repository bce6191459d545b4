"""Readers of sequence-classification cases (classify.py splits and scales them).

  ts_file   the UCR/UEA archives' `.ts` files
  long_csv  a long CSV: a row per step of a case, its case column, a column per channel,
            the class label column
Both give a `ts_file.TsFile`: the cases, gaps filled, and their labels.
"""
