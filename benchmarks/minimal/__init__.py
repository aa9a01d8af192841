"""What a user who picks the seed's fix writes: a plain Django project, no middleware, no
authentication, no metrics, one view per URL, served by the same gunicorn configuration as the
project. The hit-path phase (benchmarks/hitpath.py) measures the project's full stack against it.
"""
