"""Verification of evidence (the Berkeley Protocol's verification phase): checks of the source, of the file
(metadata, provenance, duplicates) and of the content (geolocation, chronolocation, identification), each with its
outcome, method, notes and person; and the item's overall status, which the person who collected or uploaded the
item can never set to verified (four eyes)."""
