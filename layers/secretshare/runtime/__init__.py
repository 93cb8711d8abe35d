"""The Lambda glue: observability (Powertools, only here) and what becomes of a failed reconciliation."""
