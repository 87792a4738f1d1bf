//! terminal-sim: an ISO 8583 terminal, load generator and codec tool.
