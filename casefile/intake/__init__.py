"""Intake: evidence, incidents and actors arriving in bulk (an archive with a manifest spreadsheet, a folder)."""
