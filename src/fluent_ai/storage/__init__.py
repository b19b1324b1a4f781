"""Storage machinery shared by the memory and chat stores.

Connection pools, worker threads and migration runners, parameterised by each
subsystem's own names and error classes, so both behave the same way by construction.
"""
