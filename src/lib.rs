//! Browser-first client for oRPC's Durable Iterator.
