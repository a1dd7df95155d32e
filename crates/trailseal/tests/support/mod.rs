//! Shared test support: the moto emulator harness, its request recordings, and a
//! fault-injecting proxy in front of it.
#![allow(dead_code)]

pub mod cli;
pub mod moto;
pub mod proxy;
pub mod recording;
