"""Reading a workbook back: hardened cell reading (``cells``), the run it describes (``reader``),
the audit of hand calculations (``audit``), exercise grading (``grade``), the cell-by-cell comparison
with a recalculated copy (``check``) and recalculation by a real spreadsheet engine (``recalc``)."""
