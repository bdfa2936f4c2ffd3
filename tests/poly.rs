//! Guests in Python and TypeScript through the same host: `petrel new`,
//! `build`, `start` and `run` for all three languages, the refund flow with
//! a Python classifier and a TypeScript rule, and the sandbox holding
//! against hostile Python and TypeScript guests.

mod containment;
mod examples;
mod pool;
mod scaffold;
mod sdk;
