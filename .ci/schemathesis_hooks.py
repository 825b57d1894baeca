"""Loaded by schemathesis in `.ci/security` (SCHEMATHESIS_HOOKS): how to make a body of the media types the API
documents that schemathesis does not know. tus PATCH bodies are raw bytes sent as application/offset+octet-stream."""

import schemathesis
from hypothesis import strategies as st

schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=4096))
