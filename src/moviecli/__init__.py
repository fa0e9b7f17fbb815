"""moviecli: a command-line production manager for AI-made movie series."""

__version__ = "0.1.0"
