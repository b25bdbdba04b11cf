"""The experiment code behind ``scripts/reproduce_*.py``, split from the scripts so that each
stays thin: one module per job (running the jobs, analysing, tabulating, drawing)."""
