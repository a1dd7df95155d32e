//! Shared test support: the moto emulator harness, its request recordings, a
//! fault-injecting proxy in front of it, and the validators of the report formats.
#![allow(dead_code)]

pub mod cli;
pub mod moto;
pub mod proxy;
pub mod recording;
pub mod validators;
