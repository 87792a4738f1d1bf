//! Test support: starts and stops real redis-server instances and other helpers for integration tests.
