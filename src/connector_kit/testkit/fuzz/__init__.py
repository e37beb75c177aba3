"""Fuzzing connectors with Hypothesis, seeded by real recordings (imports Hypothesis)."""

from .engine import Fuzzer, FuzzFailure, FuzzReport, PropertyViolation, fuzz_connector

__all__ = ["FuzzFailure", "FuzzReport", "Fuzzer", "PropertyViolation", "fuzz_connector"]
