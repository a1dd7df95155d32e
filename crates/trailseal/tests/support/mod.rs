//! Shared test support: the moto emulator harness and its request recordings.
#![allow(dead_code)]

pub mod moto;
pub mod recording;
