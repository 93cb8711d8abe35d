"""A reconciliation: read (through the gateway), plan (pure), apply (through the gateway); the loop and the sweep.

Imports `domain` and `gateway`; the read model (`state`) and the plan are pure.
"""
