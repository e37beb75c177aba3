"""Comparisons: an upgraded connector against the old one, fresh recordings against the committed
ones (drift), and the version matrix."""

from .connectors import DiffReport, diff_connectors
from .drift import DriftReport, drift_report

__all__ = ["DiffReport", "DriftReport", "diff_connectors", "drift_report"]
