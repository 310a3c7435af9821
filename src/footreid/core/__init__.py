"""Leaf layer: records, errors, registries, configuration and I/O helpers.

Nothing here imports from the rest of footreid.
"""
