//! Antom protocol: typed requests and responses, request signing and response/webhook verification. Builds and parses, never sends.
