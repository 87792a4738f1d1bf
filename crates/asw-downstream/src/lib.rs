//! Downstream adapter: the terminal-facing ISO 8583 TCP server.
