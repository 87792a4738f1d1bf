//! The translation core: domain types, the transaction state machine, response-code mapping, orchestration and the ports.
