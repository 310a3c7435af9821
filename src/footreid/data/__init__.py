"""Datasets: the SoccerNet-v3 ReID layout and filename grammar, downloads, synthetic data.

Modules are imported by name (``footreid.data.soccernet``, ``footreid.data.download``);
this package imports nothing so that ``import footreid.data`` stays free.
"""
