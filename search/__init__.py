"""Full-text search over conflict reports: ingest, analysis, entities, index, query.

This package is a library: it knows nothing of Flask or the command line.
"""

__version__ = "0.1.0"
