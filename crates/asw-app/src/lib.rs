//! Composition root: configuration, wiring, webhook and admin HTTP server, shutdown, the antom-switch CLI.
