//! Upstream adapter: the HTTP client that talks to Antom and classifies every answer.
