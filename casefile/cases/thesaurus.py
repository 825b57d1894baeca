"""Violation types (after the HURIDOCS micro-thesaurus of acts), shipped with the package: their words are in
casefile/labels.py (VIOLATION_TYPE_LABELS), translated when shown."""

from __future__ import annotations

from casefile.labels import VIOLATION_TYPE_LABELS, lazy_labels

VIOLATION_TYPES = lazy_labels(str, VIOLATION_TYPE_LABELS)
