"""Tools run by hand, not by the workflow: benchmarks of the pipeline's steps against their references."""
