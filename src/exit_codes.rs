//! The exit codes both binaries document in `--help` and the README, in one place (as fd keeps
//! its own), so the library, the binaries and the help text cannot drift apart.

/// Everything was delivered or consumed, or the run was stopped on purpose.
pub const OK: i32 = 0;
/// The broker failed us: unreachable, refused a request, or a delivery failed.
pub const FAILURE: i32 = 1;
/// Bad usage or invalid input.
pub const USAGE: i32 = 2;
/// Interrupted a second time while shutting down (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;
