//! `.map()`: recording a closure into a `remap` program (client side) and replaying programs
//! from any peer (server side). See protocol.md section 9.

mod record;
mod replay;

pub(crate) use record::{MapVar, intercept, map_with, placeholder_misuse, suspended};
pub(crate) use replay::{Budget, Program, replay};
