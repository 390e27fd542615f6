"""Benchmarks: tclbridge vs tclsh + tcllib vs Python's email + smtplib
(`python -m bench`; see docs/BENCHMARKS.md)."""
