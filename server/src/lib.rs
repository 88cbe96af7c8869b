//! Reference oRPC Durable Iterator object server.
