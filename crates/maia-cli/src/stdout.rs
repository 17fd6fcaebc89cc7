//! Standard output that a closed reader does not turn into a crash.
//!
//! `maia namespace status | head -3` closes the pipe after three lines; std's
//! `println!` then panics (exit 101, a backtrace on the terminal). Rust ignores SIGPIPE,
//! so a write to a closed pipe fails with `BrokenPipe` instead of killing the process,
//! and that is kept: a deploy whose output nobody reads any more must still finish (a
//! deploy killed mid-way leaves a half-changed cluster). So every write to stdout goes
//! through [`write`]: once the reader is gone the rest of the output is dropped, quietly,
//! and the command ends with its own exit code, as if the reader had read it all.
//! The crate's `println!` and `print!` are shadowed by macros calling it (see lib.rs).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write found the reader gone; nothing more is written.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout; a closed pipe ends all further output silently.
pub(crate) fn write(args: std::fmt::Arguments<'_>, newline: bool) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let result = out.write_fmt(args).and_then(|()| {
        if newline {
            out.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = result {
        closed(&e);
    }
}

/// Whether an error writing stdout means the reader is gone (then it is remembered,
/// and the error is no one's business).
pub(crate) fn closed(e: &std::io::Error) -> bool {
    let gone = e.kind() == std::io::ErrorKind::BrokenPipe;
    if gone {
        CLOSED.store(true, Ordering::Relaxed);
    }
    gone
}
