"""Per-action distances, metrics, re-ranking, ensembles and challenge rankings.

Works on features files and plain arrays only: no model code is imported here.
"""
